"""Targets: the scalar each one explains matches a direct computation with the model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import deepseek_viz as dv
from deepseek_viz.analysis.attribution import Continuation, NextToken, Verbalizer, explain

TEXT = "Quarterly revenue rose 12%"


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")


def _logprobs(hooked: dv.HookedModel, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return torch.log_softmax(hooked.model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)


def _ids(hooked: dv.HookedModel, text: str) -> list[int]:
    return list(hooked.tokenizer(text, add_special_tokens=False)["input_ids"])


def _value(hooked: dv.HookedModel, target: object) -> float:
    return explain(hooked, TEXT, target, methods="ixg", faithfulness=False, cache=False).value


def test_next_token_defaults_to_the_models_prediction(hooked: dv.HookedModel) -> None:
    trace = hooked.trace(TEXT)
    predicted = int(trace.logits[-1].argmax())
    ids = [t.id for t in trace.tokens]
    assert _value(hooked, NextToken()) == pytest.approx(
        float(_logprobs(hooked, ids)[-1, predicted]), abs=1e-4
    )
    assert _value(hooked, NextToken(predicted, score="logit")) == pytest.approx(
        float(trace.logits[-1, predicted]), abs=1e-4
    )
    assert _value(hooked, NextToken(" rose")) == pytest.approx(
        float(_logprobs(hooked, ids)[-1, _ids(hooked, " rose")[0]]), abs=1e-4
    )
    with pytest.raises(ValueError, match="Continuation"):
        _value(hooked, NextToken(" positive"))


def test_continuation_sums_its_log_probs(hooked: dv.HookedModel) -> None:
    ids = [t.id for t in hooked.trace(TEXT).tokens]
    continuation = _ids(hooked, " to $4.2 billion")
    logprobs = _logprobs(hooked, ids + continuation)
    expected = sum(float(logprobs[len(ids) - 1 + j, token]) for j, token in enumerate(continuation))
    assert _value(hooked, Continuation(" to $4.2 billion")) == pytest.approx(expected, abs=1e-3)


def test_verbalizer_reads_multi_token_labels_as_log_odds(hooked: dv.HookedModel) -> None:
    template, labels = "Review: {text}\nSentiment:", (" positive", " negative", " pain")
    trace_ids = [t.id for t in hooked.trace(TEXT).tokens]
    context = trace_ids[:1] + _ids(hooked, "Review: ") + trace_ids[1:] + _ids(hooked, "\nSentiment:")
    scores = []
    for label in labels:
        encoded = _ids(hooked, label)
        logprobs = _logprobs(hooked, context + encoded)
        scores.append(sum(float(logprobs[len(context) - 1 + j, t]) for j, t in enumerate(encoded)))
    values = torch.tensor(scores)
    odds = float(values[0] - torch.logsumexp(values[1:], dim=0))
    assert _value(hooked, Verbalizer(template, labels, label=" positive")) == pytest.approx(odds, abs=1e-3)
    assert _value(hooked, Verbalizer(template, labels, label=" positive", score="logprob")) == pytest.approx(
        scores[0], abs=1e-3
    )
    best = Verbalizer(template, labels)
    result = explain(hooked, TEXT, best, methods="ixg", faithfulness=False, cache=False)
    assert labels[int(values.argmax())] in result.target.split(" vs ")[0]
    # the features are the text's tokens, placed after BOS and the template's prefix
    bound = best.bind(hooked, hooked.trace(TEXT).tokens)
    assert bound.positions[0] == 0 and bound.positions[1] == 1 + len(_ids(hooked, "Review: "))
    assert len(bound.positions) == len(trace_ids)


def test_verbalizer_validates_its_template_and_labels() -> None:
    with pytest.raises(ValueError, match="exactly once"):
        Verbalizer("Sentiment:", (" a", " b"))
    with pytest.raises(ValueError, match="two labels"):
        Verbalizer("{text}", (" a",))
    with pytest.raises(ValueError, match="not one of"):
        Verbalizer("{text}", (" a", " b"), label=" c")
    assert Verbalizer("{text}", [" a", " b"]) == Verbalizer("{text}", (" a", " b"))
    assert hash(Verbalizer("{text}", [" a", " b"])) == hash(Verbalizer("{text}", (" a", " b")))
