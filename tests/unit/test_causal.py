"""Effects of interventions on a target, and the batched sweeps equal to their variants run one by one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import deepseek_viz as dv
from deepseek_viz.analysis.causal import (
    head_ablation_sweep,
    head_patching_sweep,
    intervention_effect,
    residual_patching_sweep,
)
from tests.unit.test_interventions import TEXT, corrupted_text


@pytest.fixture(scope="module", params=["deepseek_v3", "llama"])
def hooked(request: pytest.FixtureRequest, tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints[str(request.param)], device="cpu")


def next_token_logprob(model: dv.HookedModel, text: str, token: int) -> float:
    ids = torch.tensor([[t.id for t in model.tokenize(text)]])
    with torch.no_grad():
        logits = model.model(ids).logits[0, -1].float()
    return float(torch.log_softmax(logits, -1)[token])


def test_an_effect_is_the_target_before_and_after(hooked: dv.HookedModel) -> None:
    ablation = dv.HeadAblation(1, (0, 1, 2, 3))
    token = int(hooked.trace(TEXT, layers=[]).top_predictions(1)[-1][0].token_id)
    effect = intervention_effect(hooked, TEXT, [ablation], dv.NextToken(token=token))
    assert effect.before == pytest.approx(next_token_logprob(hooked, TEXT, token), abs=1e-5)
    with hooked.intervene(ablation):
        after = next_token_logprob(hooked, TEXT, token)
    assert effect.after == pytest.approx(after, abs=1e-5) and effect.change != 0
    assert intervention_effect(hooked, TEXT, []).change == 0


def test_the_batched_head_sweep_equals_each_ablation_alone(hooked: dv.HookedModel) -> None:
    sweep = head_ablation_sweep(hooked, TEXT)
    assert sweep.effects.shape == (hooked.num_layers, hooked.num_heads)
    for layer in range(hooked.num_layers):
        for head in range(hooked.num_heads):
            alone = intervention_effect(hooked, TEXT, [dv.HeadAblation(layer, (head,))]).change
            assert sweep.effects[layer, head] == pytest.approx(alone, abs=1e-4)
    assert np.abs(sweep.effects).max() > 0
    mean = head_ablation_sweep(hooked, TEXT, mode="mean")
    alone = intervention_effect(hooked, TEXT, [dv.HeadAblation(2, (1,), "mean")]).change
    assert mean.effects[2, 1] == pytest.approx(alone, abs=1e-4)


def test_the_batched_patching_sweep_equals_each_patch_alone(hooked: dv.HookedModel) -> None:
    corrupted = corrupted_text(hooked)
    sweep = residual_patching_sweep(hooked, TEXT, corrupted)
    n = len(hooked.tokenize(TEXT))
    assert sweep.values.shape == (hooked.num_layers, n) and len(sweep.tokens) == n
    clean = hooked.trace(TEXT, layers=[])
    token = int(clean.top_predictions(1)[-1][0].token_id)
    target = dv.NextToken(token=token)
    assert sweep.clean == pytest.approx(next_token_logprob(hooked, TEXT, token), abs=1e-5)
    assert sweep.corrupted == pytest.approx(next_token_logprob(hooked, corrupted, token), abs=1e-5)
    for layer, position in [(0, n - 1), (1, 2), (hooked.num_layers - 1, n - 1)]:
        patch = dv.ResidualPatch.from_trace(clean, layer, [position])
        alone = intervention_effect(hooked, corrupted, [patch], target).after
        assert sweep.values[layer, position] == pytest.approx(alone, abs=1e-4)
    # at layer 0 the stream is the embeddings: patching the one token that differs restores the clean
    # run, patching any other (the same token in both) changes nothing
    differs = [
        i
        for i, (a, b) in enumerate(zip(clean.tokens, hooked.tokenize(corrupted), strict=True))
        if a.id != b.id
    ]
    assert len(differs) == 1
    np.testing.assert_allclose(sweep.recovered[0, differs[0]], 1.0, atol=1e-3)
    np.testing.assert_allclose(np.delete(sweep.recovered[0], differs[0]), 0.0, atol=1e-3)
    with pytest.raises(ValueError, match="same token count"):
        residual_patching_sweep(hooked, TEXT, TEXT + " And more words here.")


def test_sweep_figures_are_layer_heatmaps(hooked: dv.HookedModel) -> None:
    heads = dv.sweep_figure(head_ablation_sweep(hooked, TEXT))
    assert (
        heads.data[0].z.shape == (hooked.num_layers, hooked.num_heads)
        and "ablated" in heads.layout.title.text
    )
    patches = dv.sweep_figure(residual_patching_sweep(hooked, TEXT, corrupted_text(hooked)))
    assert patches.data[0].z.shape == (hooked.num_layers, len(hooked.tokenize(TEXT)))
    assert "recovered" in patches.layout.title.text


def test_cached_attributions_and_embeddings_key_on_the_interventions(hooked: dv.HookedModel) -> None:
    ablation = dv.HeadAblation(1, (0, 1, 2, 3))
    target = dv.NextToken(token=int(hooked.trace(TEXT, layers=[]).top_predictions(1)[-1][0].token_id))
    plain = dv.explain(hooked, TEXT, target, methods=("input_x_gradient",), faithfulness=False)
    plain_embedding = dv.embed_texts(hooked, [TEXT], layer=hooked.num_layers)
    with hooked.intervene(ablation):
        assert hooked.interventions == (ablation,)
        under = dv.explain(hooked, TEXT, target, methods=("input_x_gradient",), faithfulness=False)
        under_embedding = dv.embed_texts(hooked, [TEXT], layer=hooked.num_layers)
    assert hooked.interventions == ()
    assert under.value != plain.value and not np.allclose(
        under.scores["input_x_gradient"], plain.scores["input_x_gradient"]
    )
    assert not np.allclose(under_embedding, plain_embedding)
    again = dv.explain(hooked, TEXT, target, methods=("input_x_gradient",), faithfulness=False)
    assert again.value == plain.value and np.array_equal(
        again.scores["input_x_gradient"], plain.scores["input_x_gradient"]
    )
    assert np.array_equal(dv.embed_texts(hooked, [TEXT], layer=hooked.num_layers), plain_embedding)


def test_the_batched_head_patching_sweep_equals_each_patch_alone(hooked: dv.HookedModel) -> None:
    corrupted = corrupted_text(hooked)
    sweep = head_patching_sweep(hooked, TEXT, corrupted)
    assert sweep.kind == "heads" and sweep.values.shape == (hooked.num_layers, hooked.num_heads)
    residual = residual_patching_sweep(hooked, TEXT, corrupted)
    assert (sweep.clean, sweep.corrupted, sweep.tokens) == (
        residual.clean,
        residual.corrupted,
        residual.tokens,
    )
    token = int(hooked.trace(TEXT, layers=[]).top_predictions(1)[-1][0].token_id)
    for layer in range(hooked.num_layers):
        for head in range(hooked.num_heads):
            patch = dv.HeadPatch.from_run(hooked, TEXT, layer, [head])
            alone = intervention_effect(hooked, corrupted, [patch], dv.NextToken(token=token)).after
            assert sweep.values[layer, head] == pytest.approx(alone, abs=1e-4)
    assert np.abs(sweep.values - sweep.corrupted).max() > 1e-4  # some head carries part of the change
    with pytest.raises(ValueError, match="same token count"):
        head_patching_sweep(hooked, TEXT, TEXT + " And more words here.")
    figure = dv.sweep_figure(sweep)
    assert figure.data[0].z.shape == (hooked.num_layers, hooked.num_heads)
    assert list(figure.layout.xaxis.ticktext) == [str(h) for h in range(hooked.num_heads)]
    assert "head" in figure.layout.title.text and figure.layout.xaxis.title.text == "head"


def test_a_progress_bar_counts_layers_and_changes_nothing(
    hooked: dv.HookedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupted = corrupted_text(hooked)
    quiet = head_ablation_sweep(hooked, TEXT)
    assert capsys.readouterr().err == ""
    loud = head_ablation_sweep(hooked, TEXT, progress=True)
    bar = capsys.readouterr().err
    assert f"{hooked.num_layers}/{hooked.num_layers}" in bar and "layer" in bar
    np.testing.assert_array_equal(loud.effects, quiet.effects)
    for sweep in (residual_patching_sweep, head_patching_sweep):
        quiet_values = sweep(hooked, TEXT, corrupted).values
        loud_values = sweep(hooked, TEXT, corrupted, progress=True).values
        assert f"{hooked.num_layers}/{hooked.num_layers}" in capsys.readouterr().err
        np.testing.assert_array_equal(loud_values, quiet_values)
