"""Attributions (SHAP, LIME, input × gradient, integrated gradients) on tiny random DeepSeek-V3 and Llama.

Shapes and alignment with the trace's tokens, determinism with a seed, SHAP additivity, IG completeness
(dense models, and an MoE whose router selects every expert), caching, charts, global importance.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from transformers import AutoModelForCausalLM

import deepseek_viz as dv
from deepseek_viz.analysis.attribution import (
    METHODS,
    Explanation,
    NextToken,
    Verbalizer,
    explain,
    global_importance,
)
from tests.conftest import CONFIGS, build_tokenizer

TEXT = "Fever may indicate flu. 你好 🙂 <b>HTML</b>"
FAST = {"lime_samples": 120, "ig_steps": 16, "batch_size": 64, "deletion_steps": 8}


@pytest.fixture(scope="module", params=["deepseek_v3", "llama"])
def hooked(request: pytest.FixtureRequest, tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints[str(request.param)], device="cpu")


@pytest.fixture(scope="module")
def explanation(hooked: dv.HookedModel) -> Explanation:
    return explain(hooked, TEXT, cache=False, **FAST)


def test_one_score_per_trace_token_and_method(hooked: dv.HookedModel, explanation: Explanation) -> None:
    tokens = hooked.trace(TEXT).tokens
    assert explanation.tokens == tokens
    assert explanation.methods == METHODS
    assert explanation.special.tolist() == [t.special for t in tokens]
    assert explanation.special[0] and tokens[0].special  # BOS first, flagged
    for method in METHODS:
        scores = explanation.scores[method]
        assert scores.shape == (len(tokens),) and scores.dtype == np.float64
        assert np.all(np.isfinite(scores))
        assert scores[0] == 0.0, "special tokens are never perturbed and score 0"
        assert np.any(scores[1:] != 0)
        assert explanation.timings[method] >= 0 and explanation.evaluations[method] > 0
        curve = explanation.faithfulness.deletion[method]
        assert curve.removed[0] == 0 and curve.removed[-1] == len(tokens) - 1
        assert curve.values[0] == pytest.approx(explanation.value, abs=1e-4)
        assert curve.values[-1] == pytest.approx(explanation.baseline_value, abs=1e-4)
    assert explanation.score_matrix().shape == (4, len(tokens))
    assert explanation.ranking("shap").tolist()[0] in range(1, len(tokens))
    payload = json.loads(json.dumps(explanation.to_dict()))
    assert [t["text"] for t in payload["tokens"]] == [t.text for t in tokens]
    assert set(payload["scores"]) == set(METHODS)
    assert "IG completeness" in repr(explanation)


def test_shap_is_additive(explanation: Explanation) -> None:
    check = explanation.faithfulness.additivity
    assert check is not None
    assert check.expected == pytest.approx(explanation.value)
    assert abs(check.error) < 1e-4
    assert explanation.details["shap"]["base_value"] == pytest.approx(explanation.baseline_value, abs=1e-4)


def test_lime_fit_and_sum_checks_are_reported(explanation: Explanation) -> None:
    faithfulness = explanation.faithfulness
    assert set(faithfulness.completeness) == set(METHODS)
    assert faithfulness.lime_fit is not None and faithfulness.lime_fit <= 1.0
    assert faithfulness.random_deletion is not None
    ig = faithfulness.ig_completeness
    assert ig is not None and faithfulness.ig_convergence_delta is not None
    # what captum reports and what we report are the same figure
    assert faithfulness.ig_convergence_delta == pytest.approx(ig.error, abs=1e-4)


def test_seed_makes_sampling_deterministic(hooked: dv.HookedModel) -> None:
    np.random.seed(123)
    expected_draw = np.random.rand()
    np.random.seed(123)
    settings = {"methods": ("shap", "lime"), "lime_samples": 60, "faithfulness": False, "cache": False}
    first = explain(hooked, TEXT, seed=7, **settings)
    second = explain(hooked, TEXT, seed=7, **settings)
    other = explain(hooked, TEXT, seed=8, **settings)
    for method in ("shap", "lime"):
        np.testing.assert_array_equal(first.scores[method], second.scores[method])
    assert not np.array_equal(first.scores["lime"], other.scores["lime"])
    assert not np.array_equal(first.scores["shap"], other.scores["shap"])
    assert np.random.rand() == expected_draw, "numpy's global generator is restored"


def test_results_are_cached_by_settings(hooked: dv.HookedModel) -> None:
    first = explain(hooked, "Quarterly revenue rose", methods=("ig", "ixg"), ig_steps=8)
    again = explain(
        hooked, "Quarterly revenue rose", methods=("integrated_gradients", "input_x_gradient"), ig_steps=8
    )
    assert set(again.cached) == {"integrated_gradients", "input_x_gradient"}
    np.testing.assert_array_equal(first.scores["integrated_gradients"], again.scores["integrated_gradients"])
    assert again.timings == first.timings
    changed = explain(hooked, "Quarterly revenue rose", methods="ig", ig_steps=9)
    assert changed.cached == ()
    fresh = explain(hooked, "Quarterly revenue rose", methods="ig", ig_steps=8, cache=False)
    assert fresh.cached == ()


def test_ig_is_complete_on_a_dense_model(tiny_checkpoints: dict[str, Path]) -> None:
    hooked = dv.load_model(tiny_checkpoints["llama"], device="cpu")
    result = explain(hooked, TEXT, methods="ig", ig_steps=32, faithfulness=False, cache=False)
    check = result.faithfulness.ig_completeness
    assert check is not None and check.ok(rtol=0.01, atol=1e-4), check


def test_ig_is_complete_when_the_router_selects_every_expert() -> None:
    """Top-k routing is piecewise constant: with k = all experts nothing switches along the path and
    completeness holds; with top-2 the delta reports the switches (see gradients.py)."""
    config = CONFIGS["deepseek_v3"]()
    config.num_experts_per_tok, config.topk_group = config.n_routed_experts, config.n_group
    torch.manual_seed(0)
    hooked = dv.HookedModel(AutoModelForCausalLM.from_config(config), build_tokenizer())
    assert hooked.moe_layers == (1, 2)
    result = explain(
        hooked, TEXT, methods="ig", ig_steps=32, baseline="mean", faithfulness=False, cache=False
    )
    check = result.faithfulness.ig_completeness
    assert check is not None and check.ok(rtol=0.01, atol=1e-4), check


def test_unknown_settings_are_refused(hooked: dv.HookedModel) -> None:
    with pytest.raises(ValueError, match="unknown attribution method"):
        explain(hooked, TEXT, methods=("shap", "occlusion"))
    with pytest.raises(TypeError, match="Target"):
        explain(hooked, TEXT, target=" rose")
    with pytest.raises(ValueError, match="baseline"):
        explain(hooked, TEXT, methods="ixg", baseline="noise")
    with pytest.raises(ValueError, match="too few"):
        explain(hooked, TEXT, methods="shap", shap_max_evals=5)
    with pytest.raises(TypeError):
        explain(hooked, TEXT, n_samples=3)


def test_text_limits_follow_the_trace(tiny_checkpoints: dict[str, Path]) -> None:
    short = dv.load_model(tiny_checkpoints["llama"], device="cpu", max_tokens=6)
    with pytest.raises(dv.EmptyTextError):
        explain(short, "", methods="ixg")
    with pytest.raises(dv.TextTooLongError):
        explain(short, TEXT, methods="ixg")
    result = explain(short, TEXT, methods="ixg", truncate=True, faithfulness=False)
    assert result.tokens == short.trace(TEXT, truncate=True).tokens and len(result.tokens) == 6


def test_partition_shap_is_additive(tiny_checkpoints: dict[str, Path]) -> None:
    hooked = dv.load_model(tiny_checkpoints["llama"], device="cpu")
    result = explain(
        hooked,
        "Quarterly revenue rose 12%",
        methods="shap",
        shap_algorithm="partition",
        shap_max_evals=40,
        cache=False,
    )
    assert result.faithfulness.additivity is not None and abs(result.faithfulness.additivity.error) < 1e-4


def test_bar_charts_show_tokens_as_text(explanation: Explanation) -> None:
    figure = dv.token_bar_chart(explanation)
    assert isinstance(figure, go.Figure)
    assert len(figure.data) == 4
    ticks = list(figure.layout.xaxis.ticktext)
    assert len(ticks) == len(explanation.tokens)
    assert "<b>" not in "".join(ticks) and "&lt;b&gt;" in "".join(ticks)
    single = dv.token_bar_chart(explanation, "integrated_gradients", normalize=False)
    np.testing.assert_allclose(single.data[0].y, explanation.scores["integrated_gradients"])


def test_global_importance_aggregates_per_token(hooked: dv.HookedModel) -> None:
    texts = ["Fever may indicate flu.", "Chest pain can be a sign.", "Fever and pain."]
    target = Verbalizer("{text}\nSentiment:", (" pain", " rose"), label=" pain")
    result = global_importance(hooked, texts, target, method="ixg", aggregate="mean_abs")
    assert result.method == "input_x_gradient" and result.num_texts == 3
    assert "Fever" in result.tokens and "pain" in result.tokens  # " pain" stripped
    assert result.counts[result.tokens.index("Fever")] == 2
    assert np.all(np.diff(result.values) <= 0), "most important first"
    figure = dv.global_bar_chart(result, top_k=5)
    assert isinstance(figure, go.Figure) and len(figure.data[0].x) == 5
    signed = global_importance(hooked, texts, NextToken(), method="ixg", aggregate="mean", min_count=2)
    assert set(signed.tokens) <= {"Fever", "pain", "."}


def test_a_run_reports_its_progress_and_stops_when_cancelled(hooked: dv.HookedModel) -> None:
    import threading

    from deepseek_viz.analysis.attribution import AttributionCancelled

    seen: list[tuple[str, int, int]] = []
    explain(
        hooked,
        "risk rose sharply",
        methods=["shap", "lime", "ig"],
        lime_samples=20,
        ig_steps=4,
        cache=False,
        faithfulness=False,
        on_progress=lambda *args: seen.append(args),
    )
    for what in ("SHAP", "LIME", "integrated gradients"):
        counts = [(done, total) for name, done, total in seen if name == what]
        assert counts[0][0] == 0 and counts[-1][0] >= counts[-1][1] > 0  # from 0 to the whole planned
    cancel = threading.Event()

    def stop_after_some(what: str, done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(AttributionCancelled):
        explain(
            hooked,
            "risk rose sharply",
            methods=["shap"],
            shap_max_evals=400,
            cache=False,
            faithfulness=False,
            cancel=cancel,
            on_progress=stop_after_some,
        )
    # nothing half-done was cached: the same run without the flag computes
    result = explain(hooked, "risk rose sharply", methods=["shap"], shap_max_evals=400, faithfulness=False)
    assert result.cached == () and "shap" in result.scores


def test_next_token_candidates_are_the_most_probable(hooked: dv.HookedModel) -> None:
    from deepseek_viz.analysis.attribution.targets import next_token_candidates

    tokens = hooked.tokenize("The risk")
    found = next_token_candidates(hooked, tokens, 4)
    assert len(found) == 4 and [c.prob for c in found] == sorted((c.prob for c in found), reverse=True)
    top = explain(hooked, "The risk", methods=["ixg"], faithfulness=False).target
    assert repr(found[0].text) in top  # the model's own next token is the first choice
    assert next_token_candidates(hooked, tokens, 0) == []


def test_a_next_token_that_is_a_piece_of_a_character_is_named_by_its_bytes(hooked: dv.HookedModel) -> None:
    """The caption and the target choices never show "�": 東 (E6 9D B1) is three byte tokens here."""
    from deepseek_viz.analysis.attribution.targets import NextToken

    piece = hooked.tokenize("東", truncate=False)[-1].id
    assert "\ufffd" in hooked.decode([piece])
    bound = NextToken(token=piece).bind(hooked, hooked.tokenize("The risk"))
    assert bound.description.startswith("log p('<0xB1>' | text)")
