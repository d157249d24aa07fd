"""``save_html`` without a browser: the page's embedded state, its escaping, and what it refuses."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import pytest

import deepseek_viz as dv
from deepseek_viz.export.standalone import BUNDLE, page_state, save_html, script_json
from deepseek_viz.widgets import AttentionView, PredictionView

#: A text that would end the state's script element, and run a script, were it not escaped.
HOSTILE = "flu </script><script>window.__pwned=1</script> & <!-- \u2028"


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")


@pytest.fixture(scope="module")
def views(hooked: dv.HookedModel) -> tuple[AttentionView, PredictionView]:
    return AttentionView(hooked, text=HOSTILE, layer=1), PredictionView(hooked, text=HOSTILE)


def embedded(page: str) -> dict[str, Any]:
    """The state the page holds, parsed as the browser does (JSON.parse of the script's text)."""
    match = re.search(r'<script type="application/json" id="dsv-state">(.*?)</script>', page, re.DOTALL)
    assert match is not None
    return dict(json.loads(match.group(1)))


def test_page_embeds_each_view_state_and_its_module(
    views: tuple[AttentionView, PredictionView], tmp_path: Path
) -> None:
    attention, predictions = views
    path = save_html([attention, predictions], tmp_path / "views.html")
    state = embedded(path.read_text(encoding="utf-8"))
    assert state["roots"] == [attention.model_id, predictions.model_id]
    shown = state["models"][attention.model_id]
    assert shown["module"] == "attention" and state["models"][predictions.model_id]["module"] == "predictions"
    assert shown["state"]["text"] == HOSTILE and shown["state"]["layer"] == 1
    assert shown["state"]["_tokens"] == attention._tokens
    assert "_esm" not in shown["state"]  # the page carries the bundle once
    # each array trait's bytes sit at its nested "buffer" path, its header stays in the state
    buffers = {tuple(buffer["path"]): base64.b64decode(buffer["data"]) for buffer in shown["buffers"]}
    for name in ("_heatmap", "_thumbnails", "_layer_heads"):
        array = getattr(attention, name)
        assert buffers[(name, "buffer")] == array.data and shown["state"][name] == array.header()
    layout = state["models"][shown["state"]["layout"].removeprefix("IPY_MODEL_")]
    assert layout["model_name"] == "LayoutModel"


def test_model_text_cannot_end_the_script_element(
    views: tuple[AttentionView, PredictionView], tmp_path: Path
) -> None:
    page = save_html(views[0], tmp_path / "hostile.html").read_text(encoding="utf-8")
    assert page.count("</script>") == 2  # the state's and the bundle's own closing tags
    assert "window.__pwned" in page and "<script>window.__pwned" not in page
    state_text = page.split('id="dsv-state">')[1].split("</script>")[0]
    assert not set(state_text) & {"<", ">", "&", "\u2028", "\u2029"}


def test_script_json_round_trips_and_refuses_nan() -> None:
    value = {"text": "</script><!--&\u2028\u2029", "n": [1, 2.5, None]}
    text = script_json(value)
    assert json.loads(text) == value
    assert "\\u003c/script\\u003e" in text and "\\u2028" in text
    with pytest.raises(ValueError, match="JSON compliant"):
        script_json({"x": float("nan")})


def test_page_loads_nothing_and_forbids_loading(
    views: tuple[AttentionView, PredictionView], tmp_path: Path
) -> None:
    page = save_html(views[0], tmp_path / "offline.html", title="Flu <b>report</b>").read_text(
        encoding="utf-8"
    )
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", page)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<title>Flu &lt;b&gt;report&lt;/b&gt;</title>" in page
    assert BUNDLE.read_text(encoding="utf-8")[:200] in page  # the view code, inline


class Unbundled(anywidget.AnyWidget):
    """An anywidget whose code is not one of the package's bundles."""

    _esm = "export default { render() {} };"


def test_boxes_keep_their_children_and_other_widgets_are_kept_by_name(
    views: tuple[AttentionView, PredictionView],
) -> None:
    attention, predictions = views
    row = ipywidgets.HBox([attention, predictions])
    label, button, other = ipywidgets.Label("Attention <i>"), ipywidgets.Button(description="go"), Unbundled()
    root = ipywidgets.VBox([label, row, button, other], layout=ipywidgets.Layout(width="80%"))
    state = page_state([root])
    models = state["models"]
    top = models[root.model_id]
    assert state["roots"] == [root.model_id] and top["model_name"] == "VBoxModel"
    assert top["state"]["children"] == [f"IPY_MODEL_{w.model_id}" for w in (label, row, button, other)]
    assert models[row.model_id]["state"]["children"] == [
        f"IPY_MODEL_{attention.model_id}",
        f"IPY_MODEL_{predictions.model_id}",
    ]
    assert models[top["state"]["layout"].removeprefix("IPY_MODEL_")]["state"]["width"] == "80%"
    assert models[label.model_id]["state"]["value"] == "Attention <i>"
    assert "module" not in models[button.model_id]  # drawn by name only
    assert models[other.model_id]["module"] is None and "_esm" not in models[other.model_id]["state"]


def test_save_html_refuses_what_it_cannot_export(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to export"):
        save_html([], tmp_path / "empty.html")
    with pytest.raises(TypeError, match="not str"):
        save_html(["a view"], tmp_path / "text.html")  # type: ignore[list-item]
    assert not (tmp_path / "empty.html").exists()
