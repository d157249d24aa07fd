"""What every view shares: commands that always answer (with an error when their handler raises), the
status object, unknown keyword arguments refused, and ``import deepseek_viz`` before the JS is built."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import traitlets
from jupyter_client.session import json_packer

import deepseek_viz as dv
from deepseek_viz.analysis.attribution.scoring import Scorer
from deepseek_viz.widgets import (
    AttentionView,
    AttributionView,
    Dashboard,
    EmbeddingScatter,
    PredictionView,
    RoutingView,
    Status,
    TextBox,
)
from deepseek_viz.widgets.live_text import ModelView
from tests.widgets.conftest import Serving

TEXTS = ["Revenue rose.", "Profit fell.", "Fever may indicate flu.", "Cough and fever."]


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu"))


def run_command(widget: ModelView, name: str, msg: dict[str, Any]) -> dict[str, Any]:
    """Send command ``name`` as the browser does (an ``anywidget-command`` custom message, handled by
    the callback anywidget registered) and return the response the widget sent back."""
    sent: list[dict[str, Any]] = []

    def send(content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        sent.append(content)

    widget.send = send  # type: ignore[method-assign]
    widget._handle_custom_msg({"kind": "anywidget-command", "id": "7", "name": name, "msg": msg}, [])
    assert len(sent) == 1 and sent[0]["id"] == "7" and sent[0]["kind"] == "anywidget-command-response"
    return dict(sent[0]["response"])


def attribution(model: dv.HookedModel) -> AttributionView:
    return AttributionView(model, "Fever may indicate flu.", ig_steps=2, deletion_steps=2, lime_samples=8)


# Each command with a message its handler fails on (an unexpected error, logged in the kernel).
FAILING: dict[str, tuple[Callable[[dv.HookedModel], ModelView], dict[str, Any]]] = {
    "_edit": (lambda model: AttentionView(model, "start"), {"text": "new"}),  # no seq
    "_fetch_window": (
        lambda model: AttentionView(model, "start"),
        {"data_id": 1, "q0": "top", "q1": 2, "k0": 0, "k1": 2},
    ),
    "_run_sampling": (attribution, {"data_id": None}),  # data_id filled in below
    "_click": (lambda model: EmbeddingScatter(model, TEXTS, method="pca", progress=False), {"index": "x"}),
    "_fetch_text": (lambda model: EmbeddingScatter(model, TEXTS, method="pca", progress=False), {}),
}


@pytest.mark.parametrize("name", FAILING)
def test_a_command_that_raises_answers_with_an_error(
    hooked: dv.HookedModel, name: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    make, msg = FAILING[name]
    widget = make(hooked)
    if name == "_run_sampling":

        def broken(self: AttributionView) -> None:
            raise RuntimeError("a bug in sampling")

        monkeypatch.setattr(AttributionView, "start_sampling", broken)
        msg = {"data_id": widget._data_id}
    elif name == "_fetch_window":
        msg = {**msg, "data_id": widget._data_id}
    with caplog.at_level(logging.ERROR, logger="deepseek_viz.widgets.commands"):
        reply = run_command(widget, name, msg)
    assert set(reply) == {"error"}
    type_name, _, message = reply["error"].partition(": ")
    assert type_name in {"KeyError", "ValueError", "RuntimeError"} and message
    assert f"the {name} command of {type(widget).__name__} failed" in caplog.text


def test_a_command_answers_as_before_when_it_works(hooked: dv.HookedModel) -> None:
    scatter = EmbeddingScatter(hooked, TEXTS, method="pca", progress=False)
    assert run_command(scatter, "_fetch_text", {"index": 2}) == {"index": 2, "text": TEXTS[2]}
    assert run_command(scatter, "_click", {"index": 1}) == {"index": 1} and scatter.clicked == 1


def test_sampling_out_of_memory_answers_with_its_message(
    hooked: dv.HookedModel, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    view = attribution(hooked)
    shown = view.explanation

    def out_of_memory(self: Scorer, keep: Any) -> Any:
        raise dv.TraceOutOfMemoryError("out of memory while scoring: try fewer samples")

    monkeypatch.setattr(Scorer, "score_keep", out_of_memory)
    with caplog.at_level(logging.ERROR):
        reply = run_command(view, "_run_sampling", {"data_id": view._data_id})
        assert view.wait_sampling(timeout=60)  # the run goes in the background; its error is a trait
    assert reply == {"stale": False, "started": True}
    assert view._sampling_error == "out of memory while scoring: try fewer samples"
    assert view.status == Status.error("out of memory while scoring: try fewer samples")
    assert view.explanation is shown  # the rows shown stay
    assert "failed" not in caplog.text  # an expected error is not logged as a bug
    monkeypatch.undo()
    assert run_command(view, "_run_sampling", {"data_id": view._data_id}) == {"stale": False, "started": True}
    assert view.wait_sampling(timeout=60)
    assert view.status.ok and view.explanation is not None and "shap" in view.explanation.methods


def test_refresh_turns_any_error_into_the_status(
    hooked: dv.HookedModel, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    view = PredictionView(hooked, "start")
    tokens = view._tokens

    def broken() -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(view, "_update", broken)
    with caplog.at_level(logging.ERROR, logger="deepseek_viz.widgets.live_text"):
        view.refresh()
    assert view.status == Status.error("ZeroDivisionError: division by zero") and view._tokens == tokens
    assert "PredictionView failed to update" in caplog.text
    monkeypatch.undo()
    view.refresh()
    assert view.status.ok


def test_status_object() -> None:
    ready, busy, failed = Status.ready(), Status.computing(), Status.error("too long")
    assert [str(ready), str(busy), str(failed)] == ["ready", "computing", "error: too long"]
    assert (ready.ok, ready.failed, busy.ok, busy.failed, failed.ok, failed.failed) == (
        True,
        False,
        False,
        False,
        False,
        True,
    )
    assert Status() == ready and failed == Status("error", "too long")


def test_status_travels_as_state_and_message(hooked: dv.HookedModel) -> None:
    view = AttentionView(hooked, "start")
    assert view.get_state()["status"] == {"state": "ready", "message": ""}
    view.text = "a " * 5000
    state = view.get_state()["status"]
    assert state["state"] == "error" and state["message"].startswith("the text is")
    json_packer(view.get_state())
    with pytest.raises(traitlets.TraitError, match="read-only"):
        view.status = Status.ready()  # views set their own status


# Every public view and a valid argument list, to pass an unknown keyword to.
VIEWS: dict[str, Callable[..., object]] = {
    "AttentionView": lambda model, **kw: AttentionView(model, "hi", **kw),
    "RoutingView": lambda model, **kw: RoutingView(model, "hi", **kw),
    "PredictionView": lambda model, **kw: PredictionView(model, "hi", **kw),
    "AttributionView": lambda model, **kw: AttributionView(model, "hi", **kw),
    "EmbeddingScatter": lambda model, **kw: EmbeddingScatter(model, TEXTS, **kw),
    "Dashboard": lambda model, **kw: Dashboard(model, TEXTS, **kw),
    "TextBox": lambda model, **kw: TextBox(model, "hi", **kw),
}
#: A keyword each view does take (the error lists it).
VALID = {
    "AttentionView": "heads",
    "RoutingView": "corpus",
    "PredictionView": "k",
    "AttributionView": "shap_max_evals",
    "EmbeddingScatter": "pooling",
    "Dashboard": "max_chars",
    "TextBox": "max_chars",
}


@pytest.mark.parametrize("name", VIEWS)
def test_every_view_rejects_an_unknown_keyword(hooked: dv.HookedModel, name: str) -> None:
    with pytest.raises(TypeError) as caught:
        VIEWS[name](hooked, colour="red")
    message = str(caught.value)
    assert message.startswith(f"{name} got unknown keyword argument 'colour'; valid: ")
    assert VALID[name] in message.split("valid: ")[1].split(", ")


def test_import_works_before_the_js_is_built(tmp_path: Path) -> None:
    package = Path(dv.__file__).parent
    shutil.copytree(
        package, tmp_path / "deepseek_viz", ignore=shutil.ignore_patterns("static", "__pycache__")
    )
    code = (
        "import deepseek_viz as dv\n"
        f"assert dv.__file__.startswith({str(tmp_path)!r}), dv.__file__\n"
        "try:\n"
        "    dv.AttentionView(None)\n"
        "except RuntimeError as error:\n"
        "    print(error)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "AttentionView cannot be shown: its JavaScript (attention.js) is not built" in result.stdout
    assert "make js" in result.stdout and "npm run build" in result.stdout
