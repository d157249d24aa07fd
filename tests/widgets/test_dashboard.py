"""Dashboard without a browser: one text box drives every view, selections and layers are shared,
errors keep what was shown, the embedding map fills after the text views (cached across dashboards),
and the app's limits hold."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import deepseek_viz as dv
from deepseek_viz.analysis.embeddings import cached_embeddings, clear_embedding_cache
from deepseek_viz.app.main_view import AppLimits, main_view
from deepseek_viz.model import ModelInterface
from deepseek_viz.serve import RemoteModel
from deepseek_viz.widgets.dashboard import Dashboard, combine_statuses
from deepseek_viz.widgets.status import Status
from tests.widgets.conftest import Serving

TEXTS = [
    "Quarterly revenue rose 12%.",
    "Net income fell sharply.",
    "Fever may indicate flu.",
    "咳嗽可能是流感。",
]
LABELS = ["finance", "finance", "medical", "medical"]
TEXT = "Revenue rose 5% to $3 billion."


@pytest.fixture(scope="module")
def models(tiny_checkpoints: dict[str, Path], serving: Serving) -> dict[str, ModelInterface]:
    return {
        family: serving(dv.load_model(tiny_checkpoints[family], device="cpu", max_tokens=64))
        for family in ("deepseek_v3", "llama")
    }


@pytest.fixture
def dashboard(models: dict[str, dv.HookedModel]) -> Dashboard:
    board = dv.Dashboard(models["deepseek_v3"], TEXTS, LABELS, text=TEXT, layer=1)
    assert board.wait_for_map(timeout=60)
    return board


class Batches:
    """``model.hidden_states`` (what embedding texts runs) counted, and held while ``gate`` is clear."""

    def __init__(self, model: dv.HookedModel, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.error: Exception | None = None
        original = model.hidden_states

        def hidden_states(sequences: Sequence[Sequence[int]], layer: int) -> Any:
            self.calls.append(len(sequences))
            assert self.gate.wait(timeout=60)
            if self.error is not None:
                raise self.error
            return original(sequences, layer)

        monkeypatch.setattr(model, "hidden_states", hidden_states)


@pytest.fixture
def batches(models: dict[str, dv.HookedModel], monkeypatch: pytest.MonkeyPatch) -> Iterator[Batches]:
    clear_embedding_cache()
    counted = Batches(models["deepseek_v3"], monkeypatch)
    yield counted
    counted.gate.set()


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
    if isinstance(model, RemoteModel):  # the traces asked of the service
        call = model._call

        def counted(name: str, fields: dict[str, Any], *rest: Any, **options: Any) -> Any:
            if name == "trace":
                calls.append(fields["text"])
            return call(name, fields, *rest, **options)

        model._call = counted  # type: ignore[method-assign]
        patched = "_call"
    else:  # the forwards the model ran
        run = model._run
        model._run = lambda *args: calls.append(args[0]) or run(*args)  # type: ignore[method-assign]
        patched = "_run"
    try:
        dashboard.text_box._edit({"text": "Chest pain can be a sign.", "seq": 1}, [])
    finally:
        delattr(model, patched)
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


def test_construction_returns_before_the_map_is_embedded(
    models: dict[str, dv.HookedModel], batches: Batches
) -> None:
    batches.gate.clear()  # the map's embedding cannot finish
    board = dv.Dashboard(models["deepseek_v3"], TEXTS, LABELS, text=TEXT, layer=1)
    assert not board.scatter.filled and board.scatter.status == Status.computing()
    assert board.status.ok  # the text views are drawn
    assert {view.text for view in board._views.values()} == {TEXT}
    assert all(view.status.ok for view in board._views.values())
    assert board.scatter._coords is None and board.scatter.live_point == []
    with pytest.raises(RuntimeError, match="it is being filled"):
        board.scatter.projection  # noqa: B018
    batches.gate.set()
    assert board.wait_for_map(timeout=60)
    assert board.scatter.status.ok and len(board.scatter.projection.coords) == len(TEXTS)
    assert board.scatter.live_text == TEXT and len(board.scatter.live_point) == 2  # placed once filled
    board.text = "Chest pain can be a sign."  # edits after it place the live point as before
    assert board.scatter.live_text == "Chest pain can be a sign." and board.status.ok


def test_a_second_dashboard_of_the_model_reuses_the_embeddings(
    models: dict[str, dv.HookedModel], batches: Batches
) -> None:
    model = models["deepseek_v3"]
    first = dv.Dashboard(model, TEXTS, LABELS, text=TEXT)
    assert first.wait_for_map(timeout=60) and batches.calls == [len(TEXTS)]  # one batch of the 4 texts
    assert cached_embeddings(model, TEXTS) is not None
    second = dv.Dashboard(model, TEXTS, LABELS, text="Net income fell sharply.")
    assert second.wait_for_map(timeout=60)
    assert batches.calls == [len(TEXTS)]  # no model call embedded the texts again
    assert second.scatter.projection.coords.tolist() == first.scatter.projection.coords.tolist()
    third = dv.Dashboard(model, TEXTS[:3], LABELS[:3], text=TEXT)  # other texts: embedded
    assert third.wait_for_map(timeout=60) and batches.calls == [len(TEXTS), 3]


def test_a_second_dashboard_waits_for_the_embedding_in_progress(
    models: dict[str, dv.HookedModel], batches: Batches
) -> None:
    model = models["deepseek_v3"]
    batches.gate.clear()  # the first map's batch holds the model (and its lock) until the gate opens
    first = dv.Dashboard(model, TEXTS, LABELS, text=TEXT)
    second = dv.EmbeddingScatter(model, TEXTS, LABELS, method="pca", progress=False, defer=True)
    second.fill(background=True)  # as a second dashboard's map: no model work before the fill
    batches.gate.set()
    assert first.wait_for_map(timeout=60) and second.wait(timeout=60)
    assert batches.calls == [len(TEXTS)]  # embedded once for both
    assert second.projection.coords.tolist() == first.scatter.projection.coords.tolist()


def test_a_failed_map_keeps_the_other_views_working(
    models: dict[str, dv.HookedModel], batches: Batches
) -> None:
    batches.error = dv.TraceOutOfMemoryError("out of memory running a batch of 4 texts")
    board = dv.Dashboard(models["deepseek_v3"], TEXTS, LABELS, text=TEXT)
    assert not board.wait_for_map(timeout=60)
    status = board.statuses()["scatter"]
    assert status.failed and status.message.startswith("the map could not be filled: out of memory")
    board.text = "Fever may indicate flu."  # the text views work; the box's status is theirs
    assert board.status.ok and board.attention.text == "Fever may indicate flu."
    assert board.scatter.status.failed
    batches.error = None
    board.scatter.fill()  # a retry, in this thread
    assert board.scatter.filled and board.scatter.status.ok
    assert board.scatter.live_text == "Fever may indicate flu."


def test_the_per_request_time_limit_does_not_cut_the_maps_own_texts(
    models: dict[str, dv.HookedModel], batches: Batches
) -> None:
    """The map's texts are the dashboard author's, not a visitor's request: ``max_seconds`` (which stops
    every trace of a typed text) lets their embedding run, batch by batch."""
    model = models["deepseek_v3"]
    clear_embedding_cache()
    model.max_seconds = 0.0
    try:
        board = dv.Dashboard(model, TEXTS, LABELS, text="A text no other test has traced.")
        assert board.wait_for_map(timeout=60)
        assert board.scatter.filled and batches.calls == [len(TEXTS)]
        # the typed text is a request: its trace (and so its live point) is stopped
        assert str(board.attention.status).startswith("error: stopped after 0 s, the time limit")
    finally:
        model.max_seconds = None


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
    limits = AppLimits(max_chars=100, max_tokens=32, max_seconds=120.0, max_samples=50, max_new_tokens=7)
    assert AppLimits.from_env(limits.to_env()) == limits
    assert AppLimits.from_env({}) == AppLimits()
    board = main_view({**limits.to_env(), "DEEPSEEK_VIZ_MODEL": str(tiny_checkpoints["deepseek_v3"])})
    assert board.text_box.max_chars == 100
    assert board.model.max_tokens == 32 and board.model.max_seconds == 120.0
    assert board.generation is not None and board.generation.max_new_tokens_limit == 7
    board.generation.max_new_tokens = 500
    assert board.generation.max_new_tokens == 7
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
    assert board.wait_for_map(timeout=120)  # the 240 samples, embedded in the background


def test_generate_mode_shows_the_generated_tokens_in_every_view() -> None:
    model = dv.load_model()
    board = dv.Dashboard(
        model,
        TEXTS,
        LABELS,
        text="Fever may indicate",
        generate=True,
        max_new_tokens=40,
        max_new_tokens_limit=12,
    )
    assert board.generation is not None and board.generation.max_new_tokens == 12  # capped per visitor
    board.generation.generate()
    trace = board.generation.wait(120)
    assert trace is not None and trace.completion is not None
    assert board.text == trace.text and board.status.ok
    assert board.attention.trace is trace  # the generated tokens, not the text tokenized again
    assert [entry[0] for entry in board.predictions._tokens] == [
        entry[0] for entry in board.generation._tokens
    ]
    last = len(trace.tokens) - 1
    board.generation.selected_token = last
    assert board.attention.selected_token == board.predictions.selected_token == last
    explained = board.attribution.explanation  # that token, given everything before it
    assert explained is not None and board.attribution.text == trace.text[: trace.tokens[last].start]
    assert board.attribution.target == dv.NextToken(token=trace.tokens[last].id)
    board.attention.selected_token = trace.prompt_length
    assert board.generation.selected_token == trace.prompt_length
    board.close()
