"""AttributionView without a browser: buffers vs ``explain``, live edits, sampling on request, errors."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest
import traitlets

import deepseek_viz as dv
from deepseek_viz.analysis.attribution import NextToken, explain
from deepseek_viz.analysis.attribution.scoring import Scorer
from deepseek_viz.widgets.attribution_view import PROGRESS_PER_SECOND, AttributionView
from deepseek_viz.widgets.buffers import decode
from deepseek_viz.widgets.live_text import SPECIAL
from deepseek_viz.widgets.status import Status
from tests.widgets.conftest import Serving

TEXT = "Fever may indicate flu. <b>x</b>"
GRADIENTS = ["input_x_gradient", "integrated_gradients"]
#: Small sample counts: SHAP's default (two permutations) and few LIME samples and IG steps.
SETTINGS: dict[str, Any] = {"ig_steps": 8, "lime_samples": 24, "deletion_steps": 4}


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu", max_tokens=200))


@pytest.fixture
def view(hooked: dv.HookedModel) -> AttributionView:
    return AttributionView(hooked, TEXT, **SETTINGS)


def shown(view: AttributionView) -> np.ndarray:
    """The score matrix as the browser decodes it (little-endian float32, row-major)."""
    scores = view._scores
    assert scores is not None and scores.dtype == "float32" and len(scores.data) == 4 * np.prod(scores.shape)
    return decode(scores)


def reference(hooked: dv.HookedModel, text: str, methods: list[str], **extra: Any) -> np.ndarray:
    return explain(hooked, text, methods=methods, cache=False, **SETTINGS, **extra).score_matrix()


def test_buffer_holds_explains_scores(view: AttributionView, hooked: dv.HookedModel) -> None:
    assert view.status.ok
    assert view._score_methods == GRADIENTS
    np.testing.assert_allclose(shown(view), reference(hooked, TEXT, GRADIENTS), rtol=1e-6, atol=1e-9)
    explanation = view.explanation
    assert explanation is not None and explanation.methods == tuple(GRADIENTS)
    np.testing.assert_array_equal(shown(view), explanation.score_matrix())
    assert len(view._tokens) == len(explanation.tokens) and view._tokens[0][1] == SPECIAL
    assert "".join(text for text, kind in view._tokens if kind != SPECIAL) == TEXT  # HTML stays text
    assert explanation.target in view._caption and "top next token" in view._caption


def test_faithfulness_is_sent_as_json_safe_figures(view: AttributionView) -> None:
    figures = view._faithfulness
    json.dumps(figures, allow_nan=False)  # NaN would break the browser's JSON parser
    assert view.explanation is not None
    report = view.explanation.faithfulness
    ig = figures["methods"]["integrated_gradients"]
    assert ig["sum_gap"] == pytest.approx(report.completeness["integrated_gradients"].error)
    assert ig["deletion_auc"] == pytest.approx(report.deletion["integrated_gradients"].auc)
    assert figures["additivity_gap"] is None and figures["random_auc"] is not None


def test_live_edit_recomputes_the_gradient_rows(view: AttributionView, hooked: dv.HookedModel) -> None:
    before, old = view._data_id, shown(view)
    reply, _ = view._edit({"text": "The heart attack risk rose", "seq": 1}, [])
    assert reply == {"seq": 1, "stale": False}
    assert view._seq == 1 and view._data_id == before + 1 and view.status.ok
    new = shown(view)
    assert new.shape != old.shape
    np.testing.assert_allclose(
        new, reference(hooked, "The heart attack risk rose", GRADIENTS), rtol=1e-6, atol=1e-9
    )
    stale, _ = view._edit({"text": "older", "seq": 1}, [])
    assert stale["stale"] and view.text == "The heart attack risk rose"


def test_sampling_runs_only_on_request(view: AttributionView, hooked: dv.HookedModel) -> None:
    assert view.explanation is not None and "shap" not in view.explanation.timings
    view.text = "risk rose"
    assert view._score_methods == GRADIENTS  # an edit computes the live methods only
    reply, _ = view._run_sampling({"data_id": view._data_id}, [])
    assert reply == {"stale": False, "started": True}  # at once: the run goes in a thread of its own
    assert view.wait_sampling(timeout=120)
    assert view._progress == {} and not view.sampling
    assert view._score_methods == [*GRADIENTS, "shap", "lime"]
    expected = reference(hooked, "risk rose", [*GRADIENTS, "shap", "lime"])
    np.testing.assert_allclose(shown(view), expected, rtol=1e-5, atol=1e-7)
    assert view._faithfulness["additivity_gap"] is not None
    assert view._faithfulness["methods"]["shap"]["deletion_auc"] is not None
    assert view.status.ok
    view.text = "risk fell"  # a new text drops the sampling rows until asked again
    assert view._score_methods == GRADIENTS


def test_stale_sampling_request_is_dropped(view: AttributionView) -> None:
    asked = view._data_id
    view._edit({"text": "edited before the click arrived", "seq": 5}, [])
    data_id, scores = view._data_id, view._scores
    reply, _ = view._run_sampling({"data_id": asked}, [])
    assert reply == {"stale": True}
    assert view._data_id == data_id and view._scores == scores
    assert view._score_methods == GRADIENTS


def test_empty_text_shows_the_empty_state(view: AttributionView) -> None:
    view.text = ""
    assert view.status.ok and view.explanation is None
    assert view._tokens == [] and view._scores is None and view._score_methods == []
    view.run_sampling()  # nothing to sample
    assert view._scores is None
    view.text = "again"
    assert view.status.ok and shown(view).shape[0] == 2


def test_errors_keep_the_previous_view(view: AttributionView) -> None:
    tokens, scores, explanation = view._tokens, view._scores, view.explanation
    view.text = "z " * 300
    assert str(view.status).startswith("error: the text is") and "limit is 200" in view.status.message
    assert view._tokens == tokens and view._scores == scores and view.explanation is explanation
    view.text = "risk"
    scores = view._scores
    view.target = dv.Continuation("")  # a target that cannot be bound is an error too
    assert str(view.status).startswith("error: continuation '' encodes to no tokens")
    assert view._scores == scores


def test_target_from_constructor_and_trait(hooked: dv.HookedModel) -> None:
    view = AttributionView(hooked, "The risk", target=dv.Continuation(" rose"), methods=["ig"], **SETTINGS)
    assert view.methods == ["integrated_gradients"]
    assert "' rose'" in view._caption
    expected = explain(hooked, "The risk", dv.Continuation(" rose"), "ig", cache=False, **SETTINGS)
    np.testing.assert_allclose(shown(view)[0], expected.scores["integrated_gradients"], rtol=1e-6, atol=1e-9)
    before = view._data_id
    view.target = dv.Verbalizer("{text}\nSentiment:", (" positive", " negative"))
    assert view._data_id == before + 1 and "log-odds" in view._caption
    view.target = None
    assert "top next token" in view._caption


def test_constructor_rejects_bad_arguments(hooked: dv.HookedModel) -> None:
    with pytest.raises(TypeError, match="HookedModel"):
        AttributionView("not a model", "hi")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"unknown keyword argument 'colour'; valid: .*ig_steps"):
        AttributionView(hooked, "hi", colour="red")
    with pytest.raises(traitlets.TraitError, match="unknown attribution method 'saliency'"):
        AttributionView(hooked, "hi", methods=["saliency"])
    view = AttributionView(hooked, "hi", sampling_methods=(), **SETTINGS)
    assert view.sampling_methods == []
    view.run_sampling()  # no sampling methods: nothing to add
    assert view._score_methods == GRADIENTS


def test_global_chart_uses_the_views_target(view: AttributionView) -> None:
    figure = view.global_chart(["risk rose", "risk fell"], method="input_x_gradient", top_k=3)
    assert isinstance(figure, go.Figure)
    assert len(figure.data[0].x) == 3 and "input × gradient" in figure.layout.title.text


def test_link_keeps_the_traits_both_views_have(view: AttributionView, hooked: dv.HookedModel) -> None:
    attention = dv.AttentionView(hooked, text="other")
    link = view.link(attention)  # an AttributionView has no selected_token: only the text is linked
    assert link.names == ("text",) and attention.text == TEXT
    attention.text = "typed in attention"
    assert view.text == "typed in attention" and view.status.ok
    link.unlink()


def test_live_rows_can_leave_the_deletion_curves_to_the_button(hooked: dv.HookedModel) -> None:
    view = AttributionView(hooked, "risk rose", methods=["input_x_gradient"], live_faithfulness=False)
    assert view._faithfulness["methods"]["input_x_gradient"]["deletion_auc"] is None
    assert view._faithfulness["methods"]["input_x_gradient"]["sum_gap"] is not None  # free
    view.run_sampling()
    assert view._faithfulness["methods"]["input_x_gradient"]["deletion_auc"] is not None
    assert view._faithfulness["methods"]["shap"]["deletion_auc"] is not None


# --- SHAP/LIME in the background: progress, cancel, stale runs ---------------------------------------

#: Enough SHAP evaluations to last well over a second on the toy model.
LONG = {**SETTINGS, "shap_max_evals": 40_000}


def wait_until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def slow(hooked: dv.HookedModel) -> Iterator[AttributionView]:
    view = AttributionView(hooked, "Fever may indicate flu.", **LONG)
    yield view
    view.cancel_sampling()
    assert view.wait_sampling(timeout=10)


def test_a_background_run_reports_its_progress_and_can_be_cancelled(slow: AttributionView) -> None:
    shown_before, faithfulness, data_id = shown(slow).copy(), slow._faithfulness, slow._data_id
    statuses: list[Status] = []
    slow.observe(lambda change: statuses.append(change["new"]), "status")
    assert slow.start_sampling() and slow.sampling
    wait_until(lambda: slow._progress.get("label") == "SHAP" and slow._progress["done"] > 0)
    assert slow.status.state == "computing" and re.fullmatch(r"SHAP \d+/\d+ evaluations", slow.status.message)
    assert str(slow.status) == f"computing: {slow.status.message}"  # what the status line shows
    assert slow._progress["total"] >= 40_000 * 0.9
    first = slow._progress["done"]
    wait_until(lambda: slow._progress["done"] > first)  # it advances
    started = time.monotonic()
    reply, _ = slow._cancel_sampling({}, [])
    assert reply == {"cancelled": True}
    assert slow.status.ok and slow._progress == {} and slow._sampling_note == "SHAP, LIME run cancelled"
    assert slow.wait_sampling(timeout=2) and time.monotonic() - started < 1.5  # the thread stopped
    # the previous rows and faithfulness table stay: same methods, same scores
    assert slow._score_methods == GRADIENTS and slow._data_id == data_id
    np.testing.assert_array_equal(shown(slow), shown_before)
    assert slow._faithfulness == faithfulness
    assert slow.status.ok  # nothing the stopped thread did afterwards changed it
    updates = [s for s in statuses if s.state == "computing" and "evaluations" in s.message]
    assert updates and len(updates) <= 5 * (time.monotonic() - started + 10)  # throttled
    assert slow._cancel_sampling({}, [])[0] == {"cancelled": False}  # nothing left to cancel


def test_progress_updates_are_throttled(hooked: dv.HookedModel) -> None:
    view = AttributionView(hooked, "Fever may indicate flu.", **{**SETTINGS, "shap_max_evals": 3000})
    seen: list[dict[str, Any]] = []
    view.observe(lambda change: seen.append(change["new"]), "_progress")
    started = time.monotonic()
    view.run_sampling()  # synchronous: the caller's thread, as notebooks and tests call it
    seconds = time.monotonic() - started
    assert view._score_methods == [*GRADIENTS, "shap", "lime"] and view.status.ok
    counts = [p for p in seen if p.get("total")]
    assert counts and len(counts) <= PROGRESS_PER_SECOND * seconds + 2
    assert seen[-1] == {}  # none going afterwards


def test_an_edit_stops_a_run_it_makes_stale(slow: AttributionView) -> None:
    assert slow.start_sampling()
    wait_until(lambda: slow._progress.get("done", 0) > 0)
    started = time.monotonic()
    slow._edit({"text": "risk rose", "seq": 1}, [])
    assert time.monotonic() - started < 2  # the run stopped at its next batch, the edit went through
    assert slow.wait_sampling(timeout=2)
    assert slow.text == "risk rose" and slow._score_methods == GRADIENTS and slow.status.ok
    assert slow._progress == {} and slow._sampling_note == "" and not slow.sampling
    assert slow.explanation is not None and slow.explanation.text == "risk rose"


def test_a_target_change_stops_a_run(slow: AttributionView) -> None:
    assert slow.start_sampling()
    wait_until(lambda: slow._progress.get("done", 0) > 0)
    slow.target = dv.Continuation(" rose")
    assert slow.wait_sampling(timeout=2) and not slow.sampling
    assert "' rose'" in slow._caption and slow._score_methods == GRADIENTS and slow.status.ok


def test_a_failed_background_run_is_shown_beside_the_button(
    view: AttributionView, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown_before = view.explanation

    def out_of_memory(self: Scorer, keep: Any) -> Any:
        raise dv.TraceOutOfMemoryError("out of memory while scoring (simulated)")

    monkeypatch.setattr(Scorer, "score_keep", out_of_memory)
    assert view._run_sampling({"data_id": view._data_id}, [])[0] == {"stale": False, "started": True}
    assert view.wait_sampling(timeout=60)
    assert view._sampling_error == "out of memory while scoring (simulated)"
    assert view.status == Status.error("out of memory while scoring (simulated)")
    assert view.explanation is shown_before and view._progress == {}
    monkeypatch.undo()
    view.run_sampling()  # works again, and the error is gone with the new rows
    assert view._sampling_error == "" and "shap" in view._score_methods


def test_the_target_choice_sets_the_target(view: AttributionView) -> None:
    view.text = "The risk"
    candidates = view._candidates
    assert len(candidates) == 5 and all(isinstance(text, str) for _, text, _ in candidates)
    probs = [prob for _, _, prob in candidates]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    token, text, _ = candidates[1]
    assert view._set_target({"kind": "token", "token": token}, [])[0]["target"]["kind"] == "token"
    assert view.target == dv.NextToken(token=token)
    assert view._target_spec == {"kind": "token", "token": token, "text": text}
    assert repr(text) in view._caption and "next token" in view._caption
    view._set_target({"kind": "continuation", "text": " rose"}, [])
    assert view.target == dv.Continuation(" rose") and "' rose'" in view._caption
    assert view._target_spec == {"kind": "continuation", "text": " rose"}
    reply, _ = view._set_target({"kind": "continuation", "text": "  "}, [])
    assert "type a continuation" in reply["error"] and view.target == dv.Continuation(" rose")
    view._set_target({"kind": "next"}, [])
    assert view.target is None and view._target_spec == {"kind": "next"} and "top next token" in view._caption
    view.target = dv.Verbalizer("{text}\nSentiment:", (" positive", " negative"))
    assert view._target_spec == {"kind": "other"}


def test_a_dashboard_edit_stops_the_attributions_run_first(hooked: dv.HookedModel) -> None:
    texts = ["risk rose", "risk fell", "flu season", "fever and cough"]
    board = dv.Dashboard(
        hooked, texts, text="Fever may indicate flu.", attribution={"shap_max_evals": 40_000}
    )
    view = board.attribution
    assert view.start_sampling()
    wait_until(lambda: view._progress.get("done", 0) > 0)
    started = time.monotonic()
    board.text = "risk rose"  # every view re-traces: the stale run must not hold the model meanwhile
    assert time.monotonic() - started < 10 and view.wait_sampling(timeout=2)
    assert view.text == "risk rose" and not view.sampling and view.status.ok
    assert view._score_methods == list(view.methods)


def test_the_target_choice_names_a_piece_of_a_character_by_its_bytes(
    view: AttributionView, hooked: dv.HookedModel
) -> None:
    """A target that is a byte token (東 is three here) reaches the browser's choice as "<0xE6>", not "�"."""
    piece = hooked.tokenize("東", truncate=False)[-3].id
    view.target = NextToken(token=piece)
    assert view._target_spec == {"kind": "token", "token": piece, "text": "<0xE6>"}
