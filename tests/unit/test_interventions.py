"""Interventions: each equals a hand-written hook doing the same, nothing changes what is not asked,
and nothing leaks into later traces or the cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import deepseek_viz as dv
from deepseek_viz.model.interventions import ExpertPatch, HeadAblation, HeadPatch, HeadScale, ResidualPatch
from tests.conftest import CONFIGS

TEXT = "Fever may indicate flu. Revenue rose 12%."
OTHER = "Chest pain may indicate a heart attack."


@pytest.fixture(scope="module", params=list(CONFIGS))
def hooked(request: pytest.FixtureRequest, tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints[str(request.param)], device="cpu")


@contextmanager
def by_hand(module: torch.nn.Module, change: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[None]:
    """A forward pre-hook on ``module`` that replaces its first input by ``change(input)``."""
    handle = module.register_forward_pre_hook(lambda _m, args: (change(args[0]), *args[1:]))
    try:
        yield
    finally:
        handle.remove()


def output(model: dv.HookedModel, text: str = TEXT, **options: Any) -> np.ndarray:
    model._cache.clear()
    return model.trace(text, layers=[], **options).hidden_states


def corrupted_text(model: dv.HookedModel) -> str:
    """``TEXT`` with one word changed, of the same token count (a patch position by position)."""
    n = len(model.tokenize(TEXT))
    for old, new in (("flu", "flo"), ("12%", "17%"), ("rose", "fell"), ("Fever", "Fewer"), ("may", "can")):
        if len(model.tokenize(TEXT.replace(old, new))) == n:
            return TEXT.replace(old, new)
    raise AssertionError("no one-word change of TEXT keeps its token count")


def heads_changed(
    model: dv.HookedModel, heads: list[int], how: Callable[[torch.Tensor], torch.Tensor]
) -> Any:
    def change(inputs: torch.Tensor) -> torch.Tensor:
        batch, n, width = inputs.shape
        split = inputs.reshape(batch, n, model.num_heads, width // model.num_heads).clone()
        split[:, :, heads] = how(split[:, :, heads])
        return split.reshape(batch, n, width)

    return change


@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_head_ablation_is_the_hand_written_hook(hooked: dv.HookedModel, mode: str) -> None:
    layer, heads = 1, [0, 2]
    how = (
        (lambda x: torch.zeros_like(x))
        if mode == "zero"
        else (lambda x: x.mean(dim=1, keepdim=True).expand_as(x))
    )
    with by_hand(hooked.arch.attention[layer].o_proj, heads_changed(hooked, heads, how)):
        expected = output(hooked)
    ours = output(hooked, interventions=[HeadAblation(layer, tuple(heads), mode)])  # type: ignore[arg-type]
    np.testing.assert_allclose(ours, expected, atol=1e-6, rtol=0)
    assert np.abs(ours - output(hooked)).max() > 1e-4  # it did change the run


def test_scaling_a_head_and_ablating_nothing(hooked: dv.HookedModel) -> None:
    plain = output(hooked)
    np.testing.assert_array_equal(
        output(hooked, interventions=[HeadScale(2, (1,), 1.0)]), plain
    )  # bit-identical
    with hooked.intervene():
        np.testing.assert_array_equal(output(hooked), plain)
    with by_hand(hooked.arch.attention[2].o_proj, heads_changed(hooked, [1], lambda x: 3 * x)):
        expected = output(hooked)
    np.testing.assert_allclose(output(hooked, interventions=[HeadScale(2, (1,), 3.0)]), expected, atol=1e-6)
    np.testing.assert_allclose(
        output(hooked, interventions=[HeadScale(2, (1,), 0.0)]),
        output(hooked, interventions=[HeadAblation(2, (1,))]),
        atol=0,
    )


def test_patching_a_run_with_its_own_states_changes_nothing(hooked: dv.HookedModel) -> None:
    trace = hooked.trace(TEXT, layers=[])
    positions = range(len(trace.tokens))
    patch = ResidualPatch.from_trace(trace, 1, positions)
    np.testing.assert_array_equal(output(hooked, interventions=[patch]), output(hooked))


def test_a_residual_patch_carries_the_clean_run_over(hooked: dv.HookedModel) -> None:
    clean, corrupted = hooked.trace(TEXT, layers=[]), hooked.trace(corrupted_text(hooked), layers=[])
    n = len(clean.tokens)
    patched = hooked.trace(
        corrupted.text, layers=[], interventions=[ResidualPatch.from_trace(clean, 2, range(n))]
    )
    np.testing.assert_allclose(
        patched.hidden_states[2:], clean.hidden_states[2:], atol=1e-5
    )  # from layer 2 on
    np.testing.assert_array_equal(
        patched.hidden_states[:2], corrupted.hidden_states[:2]
    )  # before it, untouched
    # by hand: the same states written into layer 2's input
    states = torch.from_numpy(clean.hidden_states[2])

    def write(inputs: torch.Tensor) -> torch.Tensor:
        return states[None].to(inputs.dtype).expand_as(inputs).clone()

    with by_hand(hooked.arch.layers[2], write):
        expected = output(hooked, corrupted.text)  # its hidden state 2 is what layer 1 wrote, before the hook
    np.testing.assert_allclose(patched.hidden_states[3:], expected[3:], atol=1e-6)
    np.testing.assert_array_equal(patched.hidden_states[:2], expected[:2])


def test_interventions_never_leak_into_later_traces_or_the_cache(hooked: dv.HookedModel) -> None:
    hooked._cache.clear()
    plain = hooked.trace(TEXT, layers=[])
    ablation = HeadAblation(0, (0, 1, 2, 3))
    with hooked.intervene(ablation):
        ablated = hooked.trace(TEXT, layers=[])
        assert ablated is not plain and ablated.interventions == (ablation,)
        assert hooked.trace(TEXT, layers=[]) is ablated  # the cache keys on the interventions
    assert hooked.trace(TEXT, layers=[]) is plain and plain.interventions == ()
    assert not any(module._forward_pre_hooks for module in hooked.arch.attention)  # every hook removed
    np.testing.assert_array_equal(output(hooked), plain.hidden_states)


def test_a_layer_read_later_runs_under_the_traces_interventions(hooked: dv.HookedModel) -> None:
    clean, corrupted = hooked.trace(TEXT, layers=[]), hooked.trace(corrupted_text(hooked), layers=[])
    patch = ResidualPatch.from_trace(clean, 1, range(len(clean.tokens)))
    hooked._cache.clear()
    kept = hooked.trace(corrupted.text, layers=[1], interventions=[patch])
    hooked._cache.clear()
    later = hooked.trace(corrupted.text, layers=[], interventions=[patch])
    np.testing.assert_allclose(later.attention(1), kept.attention(1), atol=1e-6)  # the patch applied again
    np.testing.assert_allclose(later.attention(1), clean.attention(1), atol=1e-5)


def test_wrong_interventions_are_refused_and_change_nothing(hooked: dv.HookedModel) -> None:
    ablation = HeadAblation(0, (1,))
    with hooked.intervene(ablation):
        with pytest.raises(dv.LayerOutOfRangeError, match="layers"):
            hooked.trace(TEXT, interventions=[HeadAblation(99, (0,))])
        with pytest.raises(dv.LayerOutOfRangeError, match="heads"):
            hooked.trace(TEXT, interventions=[HeadScale(0, (9,), 2.0)])
        assert hooked._interventions == (ablation,)  # what was in force stays
    with pytest.raises(ValueError, match="one each"):
        ResidualPatch(0, (0, 1), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="mode"):
        HeadAblation(0, (0,), "random")  # type: ignore[arg-type]


def test_generation_honours_head_interventions(hooked: dv.HookedModel) -> None:
    ablation = HeadScale(1, (0, 1, 2, 3), 0.0)
    with hooked.intervene(ablation):
        trace = hooked.generate("Fever may", 6, min_new_tokens=6)
    assert trace.interventions == (ablation,)
    with by_hand(hooked.arch.attention[1].o_proj, lambda x: torch.zeros_like(x)):
        expected = hooked.model.generate(
            torch.tensor([[t.id for t in trace.tokens[: trace.prompt_length]]]),
            min_new_tokens=6,
            max_new_tokens=6,
            do_sample=False,
        )
    assert [t.id for t in trace.tokens] == expected[0].tolist()
    patch = ResidualPatch.from_trace(trace, 1, [0])
    with hooked.intervene(patch), pytest.raises(ValueError, match="not to generation"):
        hooked.generate("Fever may", 2)


MOE = ["deepseek_v3", "deepseek_v2", "deepseek_v32"]


@pytest.fixture(scope="module", params=MOE)
def moe(request: pytest.FixtureRequest, tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints[str(request.param)], device="cpu")


def routing_of(model: dv.HookedModel, layer: int, **options: Any) -> tuple[np.ndarray, np.ndarray]:
    model._cache.clear()
    routing = model.trace(TEXT, layers=[], **options).routing(layer)
    assert routing is not None
    return routing.experts, routing.weights


def test_route_is_the_routers_own_rule(moe: dv.HookedModel) -> None:
    from deepseek_viz.model.interventions import route

    router = moe.arch.routers[1]
    inputs = torch.randn(9, moe.d_model)
    with torch.no_grad():
        logits, weights, indices = router(inputs)
        ours_weights, ours_indices = route(router, logits)
    order, ours_order = indices.argsort(-1), ours_indices.argsort(-1)
    torch.testing.assert_close(ours_indices.gather(1, ours_order), indices.gather(1, order))
    torch.testing.assert_close(ours_weights.gather(1, ours_order), weights.gather(1, order))


def test_an_ablated_expert_is_never_chosen_and_the_others_are_rerouted(moe: dv.HookedModel) -> None:
    layer = 1
    experts, _ = routing_of(moe, layer)
    target = int(np.bincount(experts.ravel()).argmax())  # the expert most tokens use
    ablated, weights = routing_of(moe, layer, interventions=[dv.ExpertAblation(layer, (target,))])
    assert target not in ablated and ablated.shape == experts.shape
    untouched = [row for row in range(len(experts)) if target not in experts[row]]
    np.testing.assert_array_equal(np.sort(ablated[untouched]), np.sort(experts[untouched]))
    if moe.family != "deepseek_v2":  # V3's weights are normalised over the experts used
        np.testing.assert_allclose(weights.sum(-1), weights.sum(-1)[0], atol=1e-5)
    # V3 by hand: the expert's correction bias at -inf is the same rule
    router = moe.arch.routers[layer]
    if hasattr(router, "e_score_correction_bias"):
        saved = router.e_score_correction_bias.clone()
        router.e_score_correction_bias[target] = float("-inf")
        try:
            by_hand = output(moe)
        finally:
            router.e_score_correction_bias.copy_(saved)
        np.testing.assert_allclose(
            output(moe, interventions=[dv.ExpertAblation(layer, (target,))]), by_hand, atol=1e-6
        )


def test_an_ablation_at_one_position_changes_only_that_token(moe: dv.HookedModel) -> None:
    layer = 2
    experts, _ = routing_of(moe, layer)
    position = 3
    ablation = dv.ExpertAblation(layer, (int(experts[position, 0]),), positions=(position,))
    ablated, _ = routing_of(moe, layer, interventions=[ablation])
    assert experts[position, 0] not in ablated[position]
    np.testing.assert_array_equal(ablated[:position], experts[:position])  # earlier tokens: untouched


def test_ablations_of_one_layer_add_up(moe: dv.HookedModel) -> None:
    layer = 1
    experts, _ = routing_of(moe, layer)
    first, second = (int(e) for e in np.bincount(experts.ravel()).argsort()[::-1][:2])  # the two most used
    together = routing_of(moe, layer, interventions=[dv.ExpertAblation(layer, (first, second))])
    apart = routing_of(
        moe, layer, interventions=[dv.ExpertAblation(layer, (first,)), dv.ExpertAblation(layer, (second,))]
    )
    assert first not in apart[0] and second not in apart[0]
    np.testing.assert_array_equal(apart[0], together[0])
    np.testing.assert_allclose(apart[1], together[1], atol=1e-6)
    many = [dv.ExpertAblation(layer, (e,)) for e in range(moe.num_experts - 1)]
    with pytest.raises(ValueError, match="too few"):
        moe.trace(TEXT, interventions=many)


def test_forcing_sends_a_token_to_the_experts_given(moe: dv.HookedModel) -> None:
    layer = 1
    forced = dv.ExpertForcing(layer, (0, 1), positions=(2,))  # both in group 0
    experts, weights = routing_of(moe, layer, interventions=[forced])
    assert sorted(experts[2].tolist()) == [0, 1]
    assert moe.trace(TEXT, layers=[], interventions=[forced]).interventions == (forced,)
    if moe.family != "deepseek_v2":
        assert weights[2].sum() == pytest.approx(moe.model.config.routed_scaling_factor, abs=1e-5)
    with pytest.raises(ValueError, match="exactly 2"):
        moe.trace(TEXT, interventions=[dv.ExpertForcing(layer, (0,))])
    with pytest.raises(dv.LayerOutOfRangeError, match="dense"):
        moe.trace(TEXT, interventions=[dv.ExpertAblation(0, (1,))])


def test_forcing_across_more_groups_than_v3_allows_is_refused(
    real_count_checkpoints: dict[str, Path],
) -> None:
    model = dv.load_model(real_count_checkpoints["v3"], device="cpu")  # 256 experts, 8 groups, 4 a token
    layer = model.moe_layers[0]
    within = dv.ExpertForcing(layer, tuple(range(0, 128, 16)), positions=(1,))  # 8 experts in groups 0–3
    routing = model.trace("a b c", layers=[], interventions=[within]).routing(layer)
    assert routing is not None and sorted(routing.experts[1].tolist()) == list(range(0, 128, 16))
    with pytest.raises(ValueError, match="lie in 5 routing groups"):
        model.trace("a b c", interventions=[dv.ExpertForcing(layer, (*range(0, 112, 16), 200))])


# --- patching heads' and experts' outputs ---------------------------------------------------------


def o_proj_input(model: dv.HookedModel, text: str, layer: int) -> torch.Tensor:
    """By hand: the input of ``layer``'s ``o_proj`` on ``text``, ``[n, heads, width]``."""
    seen: list[torch.Tensor] = []
    handle = model.arch.attention[layer].o_proj.register_forward_pre_hook(
        lambda _m, args: seen.append(args[0][0].detach().clone())
    )
    try:
        output(model, text)
    finally:
        handle.remove()
    return seen[0].reshape(seen[0].shape[0], model.num_heads, -1)


def test_head_outputs_are_the_o_proj_input(hooked: dv.HookedModel) -> None:
    ours = hooked.head_outputs(TEXT, 1)
    n = len(hooked.tokenize(TEXT))
    assert ours.shape[:2] == (n, hooked.num_heads) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, o_proj_input(hooked, TEXT, 1), atol=0, rtol=0)
    with pytest.raises(dv.LayerOutOfRangeError, match="layer 9"):
        hooked.head_outputs(TEXT, 9)


def test_a_head_patch_is_the_hand_written_hook(hooked: dv.HookedModel) -> None:
    n = len(hooked.tokenize(TEXT))
    layer, heads, positions = 1, [2, 0], [1, n - 1]  # heads in any order: values follow it
    patch = HeadPatch.from_run(hooked, TEXT, layer, heads, positions)
    assert patch.values.shape[:2] == (2, 2)
    corrupted = corrupted_text(hooked)

    def write(inputs: torch.Tensor) -> torch.Tensor:
        batch, n, width = inputs.shape
        split = inputs.reshape(batch, n, hooked.num_heads, width // hooked.num_heads).clone()
        for i, position in enumerate(positions):
            for j, head in enumerate(heads):
                split[:, position, head] = patch.values[i, j]
        return split.reshape(batch, n, width)

    with by_hand(hooked.arch.attention[layer].o_proj, write):
        expected = output(hooked, corrupted)
    ours = output(hooked, corrupted, interventions=[patch])
    np.testing.assert_allclose(ours, expected, atol=1e-6, rtol=0)
    assert np.abs(ours - output(hooked, corrupted)).max() > 1e-5  # it did change the run
    # the clean head outputs are what the patched run's heads then output there
    with hooked.intervene(patch):
        patched = hooked.head_outputs(corrupted, layer)
    torch.testing.assert_close(patched[positions][:, heads], patch.values, atol=1e-6, rtol=0)


def test_patching_a_run_with_its_own_head_outputs_changes_nothing(hooked: dv.HookedModel) -> None:
    plain = output(hooked)
    for layer in range(hooked.num_layers):
        patch = HeadPatch.from_run(hooked, TEXT, layer, range(hooked.num_heads))
        np.testing.assert_allclose(output(hooked, interventions=[patch]), plain, atol=1e-6, rtol=0)


def test_wrong_head_patches_are_refused(hooked: dv.HookedModel) -> None:
    patch = HeadPatch.from_run(hooked, TEXT, 0, [1])
    width = patch.values.shape[2]
    with pytest.raises(dv.LayerOutOfRangeError, match="heads"):
        hooked.trace(TEXT, interventions=[HeadPatch(0, (7,), None, patch.values)])
    with pytest.raises(dv.LayerOutOfRangeError, match="beyond"):
        hooked.trace("Fever", interventions=[HeadPatch(0, (1,), (30,), torch.zeros(1, 1, width))])
    with pytest.raises(ValueError, match="width"):
        hooked.trace(TEXT, interventions=[HeadPatch(0, (1,), (1,), torch.zeros(1, 1, width + 1))])
    with pytest.raises(ValueError, match=r"\[positions, heads, head width\]"):
        HeadPatch(0, (1, 2), (1,), torch.zeros(1, 1, width))
    with pytest.raises(dv.LayerOutOfRangeError, match="source run"):
        HeadPatch.from_run(hooked, "Fever", 0, [1], [40])
    with hooked.intervene(patch), pytest.raises(ValueError, match="not to generation"):
        hooked.generate("Fever may", 2)
    assert hooked._interventions == ()


def expert_by_hand(
    model: dv.HookedModel,
    layer: int,
    hidden: torch.Tensor,
    indices: torch.Tensor,
    weights: torch.Tensor,
    expert: int,
) -> torch.Tensor:
    """One expert's weighted output written out from its weights (not through the experts module)."""
    experts = model.arch.layers[layer].mlp.experts
    gate, up = torch.nn.functional.linear(hidden, experts.gate_up_proj[expert]).chunk(2, dim=-1)
    out = torch.nn.functional.linear(experts.act_fn(gate) * up, experts.down_proj[expert])
    return out * (weights * (indices == expert)).sum(-1, keepdim=True)


@contextmanager
def experts_by_hand(
    model: dv.HookedModel, layer: int, change: Callable[[tuple[Any, ...], torch.Tensor], torch.Tensor]
) -> Iterator[None]:
    handle = model.arch.layers[layer].mlp.experts.register_forward_hook(
        lambda _m, args, out: change(args, out)
    )
    try:
        yield
    finally:
        handle.remove()


@pytest.mark.parametrize("expert", [None, "used"])
def test_an_expert_patch_is_the_hand_written_hook(moe: dv.HookedModel, expert: str | None) -> None:
    layer, positions = 1, [2, len(moe.tokenize(TEXT)) - 1]
    experts, _ = routing_of(moe, layer)
    chosen = None if expert is None else int(experts[2, 0])
    patch = ExpertPatch.from_run(moe, TEXT, layer, chosen, positions)
    corrupted = corrupted_text(moe)
    seen: list[tuple[torch.Tensor, ...]] = []

    def capture(args: tuple[Any, ...], out: torch.Tensor) -> torch.Tensor:
        seen.append((*(a.detach() for a in args[:3]), out.detach()))
        return out

    with experts_by_hand(moe, layer, capture):
        output(moe, TEXT)  # the clean run's routed output, by hand
    hidden, indices, weights, routed = seen[0]
    clean = routed if chosen is None else expert_by_hand(moe, layer, hidden, indices, weights, chosen)
    torch.testing.assert_close(patch.values, clean[positions].float(), atol=1e-6, rtol=0)

    def write(args: tuple[Any, ...], out: torch.Tensor) -> torch.Tensor:
        out = out.clone()
        own = out if chosen is None else expert_by_hand(moe, layer, *args[:3], chosen)
        out[positions] = out[positions] - own[positions] + patch.values.to(out.dtype)
        return out

    with experts_by_hand(moe, layer, write):
        expected = output(moe, corrupted)
    ours = output(moe, corrupted, interventions=[patch])
    np.testing.assert_allclose(ours, expected, atol=1e-6, rtol=0)
    assert np.abs(ours - output(moe, corrupted)).max() > 1e-6  # it did change the run


def test_patching_a_run_with_its_own_expert_outputs_changes_nothing(moe: dv.HookedModel) -> None:
    plain = output(moe)
    for layer in moe.moe_layers:
        experts, _ = routing_of(moe, layer)
        for expert in (None, int(experts[1, 0]), int(experts[1, 1])):
            patch = ExpertPatch.from_run(moe, TEXT, layer, expert)
            np.testing.assert_allclose(output(moe, interventions=[patch]), plain, atol=1e-6, rtol=0)
    # an expert's contributions add up to the routed output
    total = sum(moe.expert_outputs(TEXT, 1, e) for e in range(moe.num_experts))
    torch.testing.assert_close(total, moe.expert_outputs(TEXT, 1), atol=1e-5, rtol=0)


def test_wrong_expert_patches_are_refused(moe: dv.HookedModel) -> None:
    values = moe.expert_outputs(TEXT, 1)
    with pytest.raises(dv.LayerOutOfRangeError, match="dense"):
        moe.trace(TEXT, interventions=[ExpertPatch(0, None, None, values)])
    with pytest.raises(dv.LayerOutOfRangeError, match="expert 8"):
        moe.trace(TEXT, interventions=[ExpertPatch(1, 8, None, values)])
    with pytest.raises(dv.LayerOutOfRangeError, match="beyond"):
        moe.trace("Fever", interventions=[ExpertPatch(1, None, None, values)])
    with pytest.raises(ValueError, match="width"):
        moe.trace(TEXT, interventions=[ExpertPatch(1, 0, None, values[:, :5])])
    with pytest.raises(dv.LayerOutOfRangeError, match="no routed experts"):
        moe.expert_outputs(TEXT, 0)
    with pytest.raises(dv.LayerOutOfRangeError, match="expert 99"):
        moe.expert_outputs(TEXT, 1, 99)
