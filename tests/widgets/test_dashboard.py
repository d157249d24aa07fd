"""Dashboard without a browser: one text box drives every view, selections and layers are shared,
errors keep what was shown, and the app's limits hold."""

from __future__ import annotations

from pathlib import Path

import pytest

import deepseek_viz as dv
from deepseek_viz.app.main_view import AppLimits, main_view
from deepseek_viz.widgets.dashboard import Dashboard, combine_statuses
from deepseek_viz.widgets.status import Status

TEXTS = [
    "Quarterly revenue rose 12%.",
    "Net income fell sharply.",
    "Fever may indicate flu.",
    "咳嗽可能是流感。",
]
LABELS = ["finance", "finance", "medical", "medical"]
TEXT = "Revenue rose 5% to $3 billion."


@pytest.fixture(scope="module")
def models(tiny_checkpoints: dict[str, Path]) -> dict[str, dv.HookedModel]:
    return {
        family: dv.load_model(tiny_checkpoints[family], device="cpu", max_tokens=64)
        for family in ("deepseek_v3", "llama")
    }


@pytest.fixture
def dashboard(models: dict[str, dv.HookedModel]) -> Dashboard:
    return dv.Dashboard(models["deepseek_v3"], TEXTS, LABELS, text=TEXT, layer=1)


def shown_texts(board: Dashboard) -> dict[str, str]:
    """The text each view holds (the scatter: its live point's text)."""
    texts = {name: view.text for name, view in board._views.items()}
    texts["box"], texts["scatter"] = board.text_box.text, board.scatter.live_text
    return texts


def token_counts(board: Dashboard) -> set[int]:
    return {len(view._tokens) for view in board._views.values()}


def test_every_view_shows_the_text(dashboard: Dashboard) -> None:
    assert set(shown_texts(dashboard).values()) == {TEXT}
    assert dashboard.status.ok and set(dashboard.statuses().values()) == {Status.ready()}
    assert dashboard.routing is not None
    assert len(token_counts(dashboard)) == 1  # the same tokens everywhere
    assert not any(view.show_editor for view in dashboard._views.values())
    assert dashboard.text_box.show_editor  # the one box that edits


def test_an_edit_reaches_every_view_from_one_trace(dashboard: Dashboard) -> None:
    model = dashboard.model
    calls: list[str] = []
    run = model._run
    model._run = lambda *args: calls.append(args[0]) or run(*args)  # type: ignore[method-assign]
    try:
        dashboard.text_box._edit({"text": "Chest pain can be a sign.", "seq": 1}, [])
    finally:
        del model._run
    assert set(shown_texts(dashboard).values()) == {"Chest pain can be a sign."}
    assert calls == ["Chest pain can be a sign."]  # routing and predictions reused the attention trace
    assert dashboard.text_box._seq == 1 and dashboard.status.ok
    assert dashboard.scatter.live_point  # placed among the texts


def test_selected_token_and_layer_are_shared(dashboard: Dashboard) -> None:
    routing = dashboard.routing
    assert routing is not None and routing.layer == 1  # followed the attention layer
    dashboard.selected_token = 3
    assert routing.selected_token == dashboard.predictions.selected_token == 3
    routing.selected_token = 2  # a click in the routing view
    assert dashboard.attention.selected_token == dashboard.predictions.selected_token == 2
    dashboard.attention.layer = 0  # dense layer: routing stays where it is
    assert routing.layer == 1
    routing.layer = routing.moe_layers[-1]
    assert dashboard.attention.layer == routing.moe_layers[-1]


def test_clicking_a_point_loads_its_text_everywhere(dashboard: Dashboard) -> None:
    dashboard.scatter._click({"index": 2}, [])
    assert set(shown_texts(dashboard).values()) == {TEXTS[2]}
    assert dashboard.text_box.text == TEXTS[2]


def test_a_failed_edit_keeps_every_view(dashboard: Dashboard) -> None:
    before = {name: bytes(view._data_id.to_bytes(4, "little")) for name, view in dashboard._views.items()}
    dashboard.text = "word " * 200  # over max_tokens=64
    assert (
        str(dashboard.status).startswith("error: the text is") and "limit is 64" in dashboard.status.message
    )
    assert "(" not in dashboard.status.message  # one message, not one per view
    after = {name: bytes(view._data_id.to_bytes(4, "little")) for name, view in dashboard._views.items()}
    assert after == before
    assert dashboard.scatter.live_text == TEXT  # the live point stays on the text shown
    dashboard.text = "Back to a short text."
    assert dashboard.status.ok


def test_max_chars_refuses_before_any_work(models: dict[str, dv.HookedModel]) -> None:
    board = dv.Dashboard(models["deepseek_v3"], TEXTS, LABELS, text=TEXT, max_chars=40)
    board.text = "x" * 41
    assert str(board.status).startswith("error: the text has 41 characters; this dashboard takes at most 40")
    assert board.attention.text == TEXT


def test_time_limit_stops_the_request_and_keeps_the_views(dashboard: Dashboard) -> None:
    model = dashboard.model
    tokens = list(dashboard.attention._tokens)
    model.max_seconds = 0.0
    try:
        dashboard.text = "A new text that cannot be traced in zero seconds."
    finally:
        model.max_seconds = None
    assert str(dashboard.status).startswith("error: stopped after 0 s, the time limit")
    assert dashboard.attention._tokens == tokens
    dashboard.text = "A new text that cannot be traced in zero seconds."
    assert dashboard.status.ok


def test_a_bug_in_one_view_is_a_one_line_error(dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(dashboard.scatter, "_update", broken)
    dashboard.text = "Another text."
    assert str(dashboard.status) == "error: RuntimeError: boom"
    assert dashboard.statuses()["scatter"] == Status.error("RuntimeError: boom")
    assert dashboard.attention.text == "Another text."


def test_dense_models_have_no_routing_view(models: dict[str, dv.HookedModel]) -> None:
    board = dv.Dashboard(models["llama"], TEXTS, LABELS, text=TEXT)
    assert board.routing is None and "routing" not in board.statuses()
    board.selected_token = 2
    assert board.predictions.selected_token == 2


def test_default_texts_are_the_labelled_samples(models: dict[str, dv.HookedModel]) -> None:
    texts, labels = dv.sample_texts()
    assert len(texts) == len(labels) == 240 and len(set(labels)) == 6
    with pytest.raises(ValueError, match="labels were given without texts"):
        dv.Dashboard(models["deepseek_v3"], labels=["a"])


def test_combine_statuses() -> None:
    ready, x, y = Status.ready(), Status.error("x"), Status.error("y")
    assert combine_statuses({"a": ready, "b": ready}) == ready
    assert combine_statuses({"a": x, "b": x, "c": ready}) == x
    assert combine_statuses({"a": x, "b": y}) == Status.error("x (a); y (b)")
    assert str(combine_statuses({"a": Status.computing()})) == "ready"


def test_app_limits_round_trip_and_bound_the_dashboard(tiny_checkpoints: dict[str, Path]) -> None:
    limits = AppLimits(max_chars=100, max_tokens=32, max_seconds=120.0, max_samples=50)
    assert AppLimits.from_env(limits.to_env()) == limits
    assert AppLimits.from_env({}) == AppLimits()
    board = main_view({**limits.to_env(), "DEEPSEEK_VIZ_MODEL": str(tiny_checkpoints["deepseek_v3"])})
    assert board.text_box.max_chars == 100
    assert board.model.max_tokens == 32 and board.model.max_seconds == 120.0
    assert board.attribution.methods == ["input_x_gradient"]  # live; the rest on the button
    assert board.attribution._settings == {
        "deletion_steps": 8,
        "shap_algorithm": "partition",
        "shap_max_evals": 50,
        "lime_samples": 50,
    }
    assert board.attribution.explanation is not None
    assert board.attribution.explanation.faithfulness.deletion == {}  # not live
    board.attribution.run_sampling()
    assert board.attribution.explanation is not None
    assert set(board.attribution.explanation.faithfulness.deletion) == {
        "input_x_gradient",
        "integrated_gradients",
        "shap",
        "lime",
    }
    assert board.attribution.explanation.evaluations["lime"] <= 60  # LIME's 50 samples (+ the original)
