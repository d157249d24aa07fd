"""EmbeddingScatter without a browser: data sent, selection and click protocol, live point, token mode,
exports and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import traitlets

import deepseek_viz as dv
from deepseek_viz.analysis.projection import clear_projection_cache
from deepseek_viz.widgets import AttentionView
from deepseek_viz.widgets.buffers import decode
from deepseek_viz.widgets.embedding_scatter import (
    INLINE_TEXTS,
    MAX_LABELS,
    TEXT_CHARS,
    EmbeddingScatter,
    categorise,
    map_caption,
    tooltip_text,
)
from tests.widgets.conftest import Serving

TOPICS = ["revenue rose", "fever and flu", "the cat sat", "rain tomorrow"]
TEXTS = [f"{topic} {i} <b>x</b>" for i in range(6) for topic in TOPICS]
LABELS = [["finance", "health", "pets", "weather"][i % 4] for i in range(len(TEXTS))]


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu"))


@pytest.fixture
def scatter(hooked: dv.HookedModel) -> EmbeddingScatter:
    return EmbeddingScatter(hooked, TEXTS, LABELS, method="pca", progress=False)


def coords(widget: EmbeddingScatter) -> np.ndarray:
    assert widget._coords is not None
    return np.frombuffer(widget._coords.data, dtype="<f4").reshape(widget._coords.shape)


def invoke(widget: EmbeddingScatter, name: str, msg: dict[str, Any]) -> dict[str, Any]:
    """Call an anywidget command as the browser would."""
    reply, buffers = getattr(widget, name)(msg, [])
    assert buffers == []
    return dict(reply)


def test_points_cross_as_float32_and_uint8_buffers(scatter: EmbeddingScatter, hooked: dv.HookedModel) -> None:
    n = len(TEXTS)
    assert scatter._coords is not None and scatter._labels is not None
    assert scatter._coords.header() == {"dtype": "float32", "shape": [n, 2], "scale": 1.0}
    assert len(scatter._coords.data) == 8 * n and len(scatter._labels.data) == n  # 9 bytes per 2-D point
    expected = dv.project(dv.embed_texts(hooked, TEXTS, progress=False), "pca")
    np.testing.assert_array_equal(coords(scatter), expected.coords)
    assert scatter.projection is expected  # the cached fit
    assert scatter._label_names == ["finance", "health", "pets", "weather"]
    assert decode(scatter._labels).round().astype(int).tolist() == [i % 4 for i in range(n)]
    assert len(scatter._colours) == 4 and scatter._colours[0].startswith("#")
    assert scatter._texts == TEXTS and scatter.mode == "texts" and scatter._paths == {}
    assert scatter.vectors.shape == (n, 32)


def test_3d_points_and_no_labels(hooked: dv.HookedModel) -> None:
    widget = EmbeddingScatter(hooked, TEXTS, method="pca", dims=3, progress=False)
    assert widget._coords is not None and widget._coords.shape == (len(TEXTS), 3)
    assert len(widget._coords.data) == 12 * len(TEXTS)
    assert widget._label_names == [""] and widget.labels is None


def test_umap_small(hooked: dv.HookedModel) -> None:
    widget = EmbeddingScatter(hooked, TEXTS[:12], method="umap", progress=False)
    assert widget.projection.method == "umap" and coords(widget).shape == (12, 2)
    assert widget.place("revenue rose again") is not None


def test_tooltip_texts_are_capped_and_fetched_when_too_many() -> None:
    assert tooltip_text("a" * 500) == "a" * (TEXT_CHARS - 1) + "…"
    assert len(tooltip_text("a" * 500)) == TEXT_CHARS and tooltip_text("short") == "short"
    assert INLINE_TEXTS >= 10_000


def test_fetch_text_command(scatter: EmbeddingScatter) -> None:
    assert invoke(scatter, "_fetch_text", {"index": 5}) == {"index": 5, "text": TEXTS[5]}
    assert invoke(scatter, "_fetch_text", {"index": 999})["text"] == ""


def test_categorise_orders_by_first_appearance() -> None:
    names, index = categorise([3, "a", 3, None])
    assert names == ["3", "a", "None"] and index.tolist() == [0, 1, 0, 2] and index.dtype == np.uint8
    with pytest.raises(ValueError, match="distinct labels"):
        categorise(range(MAX_LABELS + 1))


def test_selected_is_validated_and_normalised(scatter: EmbeddingScatter) -> None:
    scatter.selected = [5, 2, 5, 0]
    assert scatter.selected == [0, 2, 5]
    with pytest.raises(traitlets.TraitError, match="out of range"):
        scatter.selected = [1, len(TEXTS)]
    with pytest.raises(traitlets.TraitError, match="out of range"):
        scatter.selected = [-1]
    assert scatter.selected == [0, 2, 5]
    scatter.selected = []
    assert scatter.selected == []


def test_selection_from_the_browser_syncs(scatter: EmbeddingScatter) -> None:
    scatter.set_state({"selected": [7, 3]})  # what a comm message from the browser does
    assert scatter.selected == [3, 7]
    assert scatter.get_state("selected") == {"selected": [3, 7]}


def test_clicks_set_clicked_and_notify_every_time(scatter: EmbeddingScatter) -> None:
    seen: list[int] = []
    scatter.on_click(seen.append)
    invoke(scatter, "_click", {"index": 4})
    invoke(scatter, "_click", {"index": 4})
    assert scatter.clicked == 4 and scatter.clicked_text == TEXTS[4] and seen == [4, 4]
    scatter.clicked = 6
    assert seen == [4, 4, 6]
    scatter.on_click(seen.append, remove=True)
    scatter.clicked = -1
    assert scatter.clicked_text == ""
    with pytest.raises(traitlets.TraitError):
        scatter.clicked = len(TEXTS)


def test_live_point_is_the_transform_of_the_text(scatter: EmbeddingScatter, hooked: dv.HookedModel) -> None:
    point = scatter.place("the cat sat on the mat")
    expected = scatter.projection.transform(
        dv.embed_texts(hooked, ["the cat sat on the mat"], progress=False)
    )[0]
    assert point is not None
    np.testing.assert_allclose(scatter.live_point, expected, rtol=1e-6)
    assert scatter.live_text == "the cat sat on the mat"
    # a text of the set lands on its own point
    scatter.place(TEXTS[3])
    np.testing.assert_allclose(scatter.live_point, scatter.projection.coords[3], atol=1e-4)
    assert scatter.place("   ") is None and scatter.live_point == [] and scatter.live_text == ""


def test_live_point_with_tsne_is_approximate(hooked: dv.HookedModel) -> None:
    widget = EmbeddingScatter(hooked, TEXTS, method="tsne", progress=False)
    widget.place(TEXTS[2])
    np.testing.assert_allclose(widget.live_point, widget.projection.coords[2], atol=1e-4)


def test_link_to_attention_view(scatter: EmbeddingScatter, hooked: dv.HookedModel) -> None:
    view = AttentionView(hooked, text="rain tomorrow, maybe")
    link = scatter.link(view)
    assert scatter.live_text == "rain tomorrow, maybe" and len(scatter.live_point) == 2
    invoke(scatter, "_click", {"index": 9})
    assert view.text == TEXTS[9]
    np.testing.assert_allclose(scatter.live_point, scatter.projection.coords[9], atol=1e-4)
    before = list(scatter.live_point)
    view.text = "fever fever fever"
    assert scatter.live_point != before and scatter.live_text == "fever fever fever"
    link.unlink()
    link.unlink()
    assert scatter.live_point == []
    invoke(scatter, "_click", {"index": 1})
    assert view.text == "fever fever fever"
    with pytest.raises(TypeError, match="no 'text' trait"):
        scatter.link(traitlets.HasTraits())


def test_token_mode(hooked: dv.HookedModel) -> None:
    widget = EmbeddingScatter.tokens(hooked, "Fever may indicate flu.")
    paths = widget.token_paths
    assert paths is not None and widget.mode == "tokens"
    layers, tokens = hooked.num_layers + 1, paths.num_tokens
    assert widget._paths == {"layers": layers, "tokens": tokens}
    assert coords(widget).shape == (layers * tokens, 2) and len(widget) == layers * tokens
    assert widget._label_names == [f"layer {layer}" for layer in range(layers)]
    assert widget.texts[0].startswith("L0 · ")
    np.testing.assert_array_equal(coords(widget), dv.project_token_paths(paths).coords)
    with pytest.raises(TypeError, match="token mode"):
        widget.place("x")
    with pytest.raises(TypeError, match="token mode"):
        widget.link(AttentionView(hooked, text="x"))


def test_exports_write_files(scatter: EmbeddingScatter, hooked: dv.HookedModel, tmp_path: Path) -> None:
    html = scatter.to_html(tmp_path / "scatter.html")
    content = html.read_text()
    assert "plotly" in content and "revenue rose 0 &lt;b&gt;x" in content  # hover text, escaped
    assert scatter.to_png(tmp_path / "scatter.png", engine="matplotlib") == "matplotlib"
    assert (tmp_path / "scatter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    folder = scatter.to_projector(tmp_path / "projector")
    files = dv.read_projector(folder)
    np.testing.assert_allclose(files.vectors, scatter.vectors, rtol=1e-5, atol=1e-6)
    assert files.metadata == {"text": TEXTS, "label": LABELS}
    tokens = EmbeddingScatter.tokens(hooked, "one two")
    assert tokens.to_html(tmp_path / "tokens.html").exists()
    assert len(dv.read_projector(tokens.to_projector(tmp_path / "tp")).metadata["text"]) == len(tokens)


def test_bad_input(hooked: dv.HookedModel) -> None:
    with pytest.raises(ValueError, match="texts is empty"):
        EmbeddingScatter(hooked, [], method="pca")
    with pytest.raises(ValueError, match="3 labels for 24 texts"):
        EmbeddingScatter(hooked, TEXTS, ["a", "b", "c"], method="pca")
    with pytest.raises(TypeError, match="list of strings"):
        EmbeddingScatter(hooked, "one text", method="pca")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        EmbeddingScatter(hooked, ["a", 2, "c", "d"], method="pca")
    with pytest.raises(TypeError, match="HookedModel"):
        EmbeddingScatter(object(), TEXTS)
    with pytest.raises(ValueError, match="mode"):
        EmbeddingScatter(hooked, TEXTS, mode="words")
    with pytest.raises(ValueError, match="method"):
        EmbeddingScatter(hooked, TEXTS, method="mds", progress=False)
    with pytest.raises(dv.EmptyTextError):
        EmbeddingScatter(hooked, ["fine", "", "x", "y"], method="pca", progress=False)


def test_projection_cache_is_reused(hooked: dv.HookedModel) -> None:
    clear_projection_cache()
    first = EmbeddingScatter(hooked, TEXTS, method="pca", progress=False)
    second = EmbeddingScatter(hooked, TEXTS, LABELS, method="pca", progress=False)
    assert first.projection is second.projection


def test_caption_says_method_layer_pooling_dims_and_count(
    scatter: EmbeddingScatter, hooked: dv.HookedModel
) -> None:
    last = hooked.num_layers
    assert (
        scatter._caption
        == scatter.description
        == (
            f"{len(TEXTS)} texts placed by layer {last}'s mean-pooled hidden state (the last layer, after the "
            "final norm); PCA to 2-D; colour: label."
        )
    )
    deferred = EmbeddingScatter(
        hooked, TEXTS[:5], layer=1, pooling="last", method="umap", dims=3, progress=False, defer=True
    )
    assert deferred.description == (
        "5 texts placed by layer 1's hidden state at the last token; UMAP to 3-D; colour: label."
    )
    assert map_caption("tsne", 2, 3, layer=0, num_layers=4).startswith(
        "3 texts placed by their mean-pooled token embeddings; t-SNE to 2-D"
    )
    tokens = EmbeddingScatter.tokens(hooked, "Fever may indicate flu.")
    assert tokens.token_paths is not None
    assert tokens.description == (
        f"One text's {tokens.token_paths.num_tokens} tokens at every layer ({len(tokens)} points; "
        f"0 = embeddings … {last}); PCA to 2-D; colour: layer."
    )
