"""Two runs compared position by position: two texts, two models with one tokenizer, an intervention."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import deepseek_viz as dv
from deepseek_viz.analysis.comparison import Comparison, compare

TEXT = "Fever may indicate flu. Revenue rose 12%."


@pytest.fixture(scope="module")
def bundled() -> dv.HookedModel:
    return dv.load_model()


def test_two_texts_differ_only_from_the_changed_token_on(bundled: dv.HookedModel) -> None:
    other = TEXT.replace("flu", "gout")
    comparison = compare(bundled, TEXT, other)
    assert not comparison.same_tokens
    first = comparison.differing_tokens()[0]
    assert bundled.tokenize(TEXT)[first].id != bundled.tokenize(other)[first].id
    difference = comparison.attention_difference(2, 1)
    assert difference.shape == (comparison.positions, comparison.positions)
    np.testing.assert_allclose(difference[:first], 0.0, atol=1e-6)  # causal: earlier rows read the same
    assert np.abs(difference[first:]).max() > 0
    assert not comparison.routing_changes(1)[:first].any()
    differs, change = comparison.prediction_changes()
    assert not differs[:first].any() and np.allclose(change[:first], 0.0, atol=1e-6)
    agreement = comparison.lens_agreement()
    assert agreement.shape == (bundled.num_layers + 1, comparison.positions) and agreement[:, :first].all()


def test_an_intervention_compared_with_the_run_without_it(bundled: dv.HookedModel) -> None:
    ablation = dv.HeadAblation(1, tuple(range(bundled.num_heads)))
    comparison = Comparison(
        bundled.trace(TEXT, layers=[]), bundled.trace(TEXT, layers=[], interventions=[ablation])
    )
    assert comparison.same_tokens and comparison.differing_tokens() == []
    np.testing.assert_allclose(
        comparison.attention_difference(0, 0), 0.0, atol=1e-6
    )  # before the ablated layer
    assert np.abs(comparison.attention_difference(2, 0)).max() > 0  # after it
    assert comparison.lens_agreement()[:2].all()  # the embeddings and layer 0: before the ablation
    _, change = comparison.prediction_changes()
    assert np.abs(change).max() > 0  # the output moved


def test_two_models_must_share_a_tokenizer(
    bundled: dv.HookedModel, tiny_checkpoints: dict[str, Path]
) -> None:
    v3, llama = (dv.load_model(tiny_checkpoints[name], device="cpu") for name in ("deepseek_v3", "llama"))
    comparison = compare(v3, TEXT, model_b=llama)  # the tests' models share one tokenizer
    assert comparison.same_tokens and comparison.positions == len(v3.tokenize(TEXT))
    assert comparison.lens_agreement().shape[1] == comparison.positions
    with pytest.raises(ValueError, match="tokenizers differ"):
        compare(bundled, TEXT, model_b=v3)
