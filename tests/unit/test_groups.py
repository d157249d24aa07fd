"""Group comparison: per-group target values and aggregated attributions equal hand-computed ones,
interventions are read through ``model.intervene`` and leave nothing behind, bad input is refused,
and the figure has one trace per group with model text shown literally."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

import deepseek_viz as dv
from deepseek_viz.analysis.causal import intervention_effect
from deepseek_viz.analysis.groups import GroupComparison, group_comparison
from deepseek_viz.export.text import label

POSITIVE = ["Quarterly revenue rose 12%.", "Fever may indicate flu."]
NEGATIVE = ["Chest pain can be a sign.", "Fever and <b>HTML</b> pain.", "Revenue and pain."]
TEXTS = POSITIVE + NEGATIVE
LABELS = ["pos", "pos", "neg", "neg", "neg"]


@pytest.fixture(scope="module", params=["deepseek_v3", "llama"])
def hooked(request: pytest.FixtureRequest, tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints[str(request.param)], device="cpu")


@pytest.fixture(scope="module")
def token(hooked: dv.HookedModel) -> int:
    """One next token read on every text, so the values compare."""
    return int(hooked.encode(" pain")[0])


def by_hand(model: dv.HookedModel, text: str, token: int) -> tuple[float, list[tuple[str, float]]]:
    """``log p(token | text)`` and input × gradient of it per non-special token, straight from the
    transformers model."""
    tokens = model.tokenize(text)
    ids = torch.tensor([[t.id for t in tokens]])
    embeddings = model.model.get_input_embeddings()(ids).detach().requires_grad_(True)
    logits = model.model(inputs_embeds=embeddings).logits[0, -1].float()
    value = torch.log_softmax(logits, -1)[token]
    (gradient,) = torch.autograd.grad(value, embeddings)
    scores = (embeddings * gradient).sum(-1)[0].detach().double().numpy()
    return float(value.detach()), [
        (t.text.strip() or t.text, float(s)) for t, s in zip(tokens, scores, strict=True) if not t.special
    ]


def test_group_values_are_the_per_text_values(hooked: dv.HookedModel, token: int) -> None:
    result = group_comparison(hooked, TEXTS, LABELS, dv.NextToken(token=token), cache=False)
    assert isinstance(result, GroupComparison) and result.names == ["pos", "neg"]
    assert dv.GroupComparison is GroupComparison and dv.group_comparison is group_comparison
    assert result.consistent and result.method == "input_x_gradient"
    values = np.array([by_hand(hooked, text, token)[0] for text in TEXTS])
    np.testing.assert_allclose(result.values, values, atol=1e-5)
    for name in ("pos", "neg"):
        group, chosen = result[name], values[[i for i, lab in enumerate(LABELS) if lab == name]]
        assert group.count == len(chosen)
        np.testing.assert_allclose(group.values, chosen, atol=1e-5)
        assert group.mean == pytest.approx(chosen.mean(), abs=1e-5)
        assert group.std == pytest.approx(chosen.std(ddof=1), abs=1e-5)
    assert result["neg"].mean != pytest.approx(result["pos"].mean, abs=1e-6)
    with pytest.raises(KeyError, match="pos"):
        result["nope"]


def test_aggregated_attributions_are_the_mean_over_occurrences(hooked: dv.HookedModel, token: int) -> None:
    texts = {"a": ["Fever may indicate flu.", "Fever and pain."], "b": ["Revenue rose."]}
    result = group_comparison(hooked, texts, target=dv.NextToken(token=token), top=100, cache=False)
    occurrences: dict[str, list[float]] = {}
    for text in texts["a"]:
        for key, score in by_hand(hooked, text, token)[1]:
            occurrences.setdefault(key, []).append(score)
    group = result["a"]
    assert sorted(group.tokens) == sorted(occurrences) and occurrences["Fever"].__len__() == 2
    for key, scores in occurrences.items():
        assert group.token_mean(key) == pytest.approx(np.mean(scores), abs=1e-4), key
        assert int(group.counts[group.tokens.index(key)]) == len(scores)
    assert np.all(np.diff(np.abs(group.means)) <= 0), "largest |mean| first"
    assert np.isnan(result["b"].token_mean("Fever"))
    # the shown table: a token's column is each group's own mean, NaN where a group lacks it
    row = result.tokens.index("Fever")
    assert result.means[row, 0] == pytest.approx(group.token_mean("Fever")) and np.isnan(result.means[row, 1])
    # differences: only tokens of both groups, spread = |mean_a - mean_b|, largest first
    for key, spread, means in zip(result.differences, result.spread, result.difference_means, strict=True):
        assert not np.isnan(means).any()
        assert spread == pytest.approx(abs(group.token_mean(key) - result["b"].token_mean(key)))
    assert "." in result.differences and np.all(np.diff(result.spread) <= 0)
    assert result.to_dict()["means"][row][1] is None


def test_top_bounds_the_tokens_kept(hooked: dv.HookedModel, token: int) -> None:
    result = group_comparison(hooked, TEXTS, LABELS, dv.NextToken(token=token), top=2)
    assert len(result.tokens) == 2 and len(result.differences) <= 2
    assert result.means.shape == (2, 2) and result.difference_means.shape == (len(result.differences), 2)
    peaks = sorted({abs(m) for g in result.groups for m in g.means}, reverse=True)
    assert np.nanmax(np.abs(result.means[0])) == pytest.approx(peaks[0])


def test_interventions_are_read_and_leave_nothing_behind(hooked: dv.HookedModel, token: int) -> None:
    target = dv.NextToken(token=token)
    ablation = dv.HeadAblation(1, (0, 1, 2, 3))
    before = group_comparison(hooked, TEXTS, LABELS, target)
    under = group_comparison(hooked, TEXTS, LABELS, target, interventions=[ablation])
    assert under.interventions == (ablation,)
    for i, text in enumerate(TEXTS):
        effect = intervention_effect(hooked, text, [ablation], target)
        assert before.values[i] == pytest.approx(effect.before, abs=1e-5)
        assert under.values[i] == pytest.approx(effect.after, abs=1e-5)
    assert not np.allclose(before.values, under.values)
    after = group_comparison(hooked, TEXTS, LABELS, target)
    np.testing.assert_array_equal(after.values, before.values)
    np.testing.assert_array_equal(after["neg"].means, before["neg"].means)


def test_targets_that_differ_per_text_are_flagged(hooked: dv.HookedModel) -> None:
    tops = {int(hooked.trace(text, layers=[]).top_predictions(1)[-1][0].token_id) for text in TEXTS}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = group_comparison(hooked, TEXTS, LABELS)  # NextToken(): each text's own top token
    flagged = [w for w in caught if "different scalars" in str(w.message)]
    assert result.consistent == (len(tops) == 1) and bool(flagged) == (len(tops) > 1)
    assert result.num_targets == len(tops)  # two byte tokens may both print as "�": told apart by id


def test_bad_input_is_refused_clearly(hooked: dv.HookedModel) -> None:
    with pytest.raises(ValueError, match="max_texts=500"):
        group_comparison(hooked, ["a text"] * 501, ["x", "y"] * 250 + ["x"])
    with pytest.raises(ValueError, match="max_texts=3"):
        group_comparison(hooked, TEXTS[:4], LABELS[:4], max_texts=3)
    with pytest.raises(ValueError, match=r"'empty'.*no texts"):
        group_comparison(hooked, {"a": TEXTS[:2], "empty": []})
    with pytest.raises(ValueError, match=r"'other'.*no texts"):
        group_comparison(hooked, TEXTS, LABELS, groups=["pos", "neg", "other"])
    with pytest.raises(ValueError, match=r"\['neg'\] are not among"):
        group_comparison(hooked, TEXTS, LABELS, groups=["pos"])
    with pytest.raises(ValueError, match="at least two groups"):
        group_comparison(hooked, TEXTS, ["same"] * len(TEXTS))
    with pytest.raises(ValueError, match="4 labels for 5 texts"):
        group_comparison(hooked, TEXTS, LABELS[:4])
    with pytest.raises(TypeError, match="labels are needed"):
        group_comparison(hooked, TEXTS)
    with pytest.raises(TypeError, match="not one string"):
        group_comparison(hooked, "one text", LABELS)
    with pytest.raises(ValueError, match="text 2 is empty"):
        group_comparison(hooked, ["a", "b", " ", "c"], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="unknown attribution method"):
        group_comparison(hooked, TEXTS, LABELS, method="magic")
    with pytest.raises(ValueError, match="top must be"):
        group_comparison(hooked, TEXTS, LABELS, top=0)


def test_the_figure_has_one_trace_per_group_and_shows_text_literally(
    hooked: dv.HookedModel, token: int
) -> None:
    labels = ["<i>up</i>", "<i>up</i>", "down", "down", "down"]
    result = group_comparison(hooked, TEXTS, labels, dv.NextToken(token=token), top=200)
    assert "</" in result.tokens and "<" in result.tokens  # the tokens of "<b>HTML</b>" are there
    figure = dv.group_figure(result)
    assert isinstance(figure, go.Figure)
    boxes = [trace for trace in figure.data if trace.type == "box"]
    bars = [trace for trace in figure.data if trace.type == "bar"]
    assert len(boxes) == len(bars) == len(result.groups) == 2
    assert [trace.name for trace in boxes] == ["&lt;i&gt;up&lt;/i&gt;", "down"]
    assert list(boxes[1].y) == pytest.approx(result["down"].values.tolist())
    ticks = list(figure.layout.yaxis2.ticktext)
    assert "&lt;/" in ticks and not any("<" in tick for tick in ticks)
    assert any("&lt;b&gt;HTML" in text for text in boxes[1].hovertext)
    assert not any("<b>" in text for trace in boxes for text in trace.hovertext)
    up, row = list(bars[0].x), result.tokens.index("Quarterly")
    assert up[row] == pytest.approx(result.means[row, 0])
    assert up[result.tokens.index("hest")] is None  # "Chest" is only in the other group
    differences = dv.group_figure(result, tokens="differences")
    assert len(differences.data) == 4 and list(differences.layout.yaxis2.ticktext) == [
        label(t) for t in result.differences
    ]
    with pytest.raises(ValueError, match="'top' or 'differences'"):
        dv.group_figure(result, tokens="all")  # type: ignore[arg-type]
