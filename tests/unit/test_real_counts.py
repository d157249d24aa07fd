"""The model core at the real layer / head / expert counts of DeepSeek-V3, V2-Lite and R1-Distill-Qwen-1.5B."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM

import deepseek_viz as dv
from deepseek_viz.model.memory import FREE_MEMORY_MARGIN, format_bytes, free_memory
from tests.conftest import REAL_COUNT_CONFIGS

TEXT = "Fever may indicate flu; chest pain can be a sign of a heart attack. 你好 🙂"
#: (layers, heads, MoE layers, routed experts, experts per token, experts per group)
COUNTS = {
    "v3": (61, 128, tuple(range(3, 61)), 256, 8, 32),
    "v2_lite": (27, 16, tuple(range(1, 27)), 64, 6, 0),
    "distill_qwen": (28, 12, (), 0, 0, 0),
}


@pytest.fixture(scope="module", params=list(REAL_COUNT_CONFIGS))
def shape(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def hooked(shape: str, real_count_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(real_count_checkpoints[shape], device="cpu")


def test_counts_are_the_real_ones(shape: str, hooked: dv.HookedModel) -> None:
    layers, heads, moe_layers, experts, per_token, group_size = COUNTS[shape]
    assert (hooked.num_layers, hooked.num_heads, hooked.moe_layers) == (layers, heads, moe_layers)
    assert (hooked.num_experts, hooked.experts_per_token, hooked.routing_group_size) == (
        experts,
        per_token,
        group_size,
    )


def test_one_layer_of_attention_equals_eager(
    shape: str, hooked: dv.HookedModel, real_count_checkpoints: dict[str, Path]
) -> None:
    layer = hooked.num_layers // 2
    trace = hooked.trace(TEXT, layers=[layer])
    n = len(trace.tokens)
    eager = AutoModelForCausalLM.from_pretrained(
        real_count_checkpoints[shape], attn_implementation="eager"
    ).eval()
    with torch.no_grad():
        reference = eager(torch.tensor([[t.id for t in trace.tokens]]), output_attentions=True)
    ours = trace.attention(layer)
    assert ours.shape == (hooked.num_heads, n, n)
    np.testing.assert_allclose(ours, reference.attentions[layer][0].numpy(), atol=1e-4, rtol=0)
    torch.testing.assert_close(trace.logits, reference.logits[0], atol=1e-4, rtol=1e-4)


def test_a_trace_keeps_patterns_only_for_the_layers_asked(hooked: dv.HookedModel) -> None:
    one = hooked.trace(TEXT + " One layer.", layers=[5])
    n = len(one.tokens)
    assert one.captured_layers == (5,)
    routing = sum(r.experts.nbytes + r.weights.nbytes for r in map(one.routing, one.moe_layers))
    pattern = hooked.num_heads * n * n * 4  # one float32 [head, n, n] pattern
    arguments = sum(t.numel() * t.element_size() for t in one._arguments)  # position ids and embeddings
    assert one.nbytes == pattern + one.hidden_states.nbytes + routing + arguments


def test_routing_is_the_routers_own_group_limited_top_k(shape: str, hooked: dv.HookedModel) -> None:
    _, _, moe_layers, experts, per_token, group_size = COUNTS[shape]
    if not moe_layers:
        pytest.skip("a dense model has no routing")
    trace = hooked.trace(TEXT, layers=[])
    n = len(trace.tokens)
    mlp_inputs: dict[int, torch.Tensor] = {}
    checked = (moe_layers[0], moe_layers[len(moe_layers) // 2], moe_layers[-1])
    handles = [
        hooked.arch.layers[layer].mlp.register_forward_pre_hook(
            lambda _m, args, layer=layer: mlp_inputs.__setitem__(layer, args[0].detach())
        )
        for layer in checked
    ]
    try:
        with torch.no_grad():
            hooked.model(torch.tensor([[t.id for t in trace.tokens]]))
    finally:
        for handle in handles:
            handle.remove()
    assert trace.routing(moe_layers[0] - 1) is None  # the dense layers before the first MoE layer
    for layer in checked:
        routing = trace.routing(layer)
        assert routing is not None
        assert routing.experts.shape == routing.weights.shape == (n, per_token)
        with torch.no_grad():
            logits, weights, chosen = hooked.arch.routers[layer](mlp_inputs[layer])
        scores = trace.router_scores(layer)  # that one layer run again
        assert scores.shape == (n, experts)
        np.testing.assert_allclose(scores, logits.numpy(), atol=1e-6)
        for row in range(n):
            assert set(routing.experts[row].tolist()) == set(chosen[row].tolist())
            np.testing.assert_allclose(
                np.sort(routing.weights[row]), np.sort(weights[row].numpy()), atol=1e-6
            )
        if group_size:
            config = hooked.model.config
            assert routing.groups is not None
            assert max(len(set(row.tolist())) for row in routing.groups) <= config.topk_group


def test_lens_last_row_is_the_logits(hooked: dv.HookedModel) -> None:
    trace = hooked.trace(TEXT, layers=[])
    lens = trace.logit_lens(k=2)
    assert lens.token_ids.shape == (hooked.num_layers + 1, len(trace.tokens), 2)
    expected = torch.topk(torch.softmax(trace.logits, -1), 2, dim=-1)
    np.testing.assert_array_equal(lens.token_ids[-1], expected.indices.numpy())
    np.testing.assert_allclose(lens.probs[-1], expected.values.numpy(), atol=1e-6)


@pytest.mark.parametrize(("layers", "thumbnails"), [([], None), ([0, 30], None), ([2], 8), (None, None)])
def test_the_estimate_is_what_the_trace_holds(
    hooked: dv.HookedModel, layers: list[int] | None, thumbnails: int | None
) -> None:
    text = f"{TEXT} Estimated for {layers} and {thumbnails}."
    layers = None if layers is None else [layer % hooked.num_layers for layer in layers]
    estimate = hooked.estimate(text, layers, thumbnails=thumbnails)
    trace = hooked.trace(text, layers, thumbnails=thumbnails)
    assert estimate.tokens == len(trace.tokens)
    assert estimate.kept == pytest.approx(trace.nbytes, rel=0.01)
    assert estimate.working > 0 and estimate.total == estimate.kept + estimate.working
    assert hooked.estimate(len(trace.tokens), layers, thumbnails=thumbnails) == estimate


def test_a_trace_over_the_memory_budget_is_refused_before_it_starts(
    shape: str, real_count_checkpoints: dict[str, Path]
) -> None:
    text = "flu " * 150  # all 61 × 128 patterns: 0.7 GiB at V3 counts
    model = dv.load_model(real_count_checkpoints[shape], device="cpu")
    budget = 2 * model.estimate(text, layers=[]).total
    model.memory_budget = budget
    estimate = model.estimate(text)  # all layers, the default
    assert (
        estimate.total > budget
        and f"patterns {format_bytes(estimate.patterns)} ({model.num_layers} layers)" in str(estimate)
    )
    started: list[object] = []
    model.arch.layers[0].register_forward_pre_hook(lambda *_: started.append(1))
    with pytest.raises(dv.TraceTooLargeError, match=r"Trace fewer layers .* a shorter text") as refused:
        model.trace(text)
    assert f"the budget is {format_bytes(budget)} (memory_budget)" in str(refused.value)
    assert str(estimate) in str(refused.value)
    assert not started, "refused before the forward pass"
    assert model.trace(text, layers=[]).captured_layers == ()  # without patterns it fits
    model.memory_budget = None  # the default: free memory
    assert model.trace("A short text fits in free memory.").captured_layers == tuple(range(model.num_layers))


def test_the_default_budget_is_free_memory_less_a_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    psutil = pytest.importorskip("psutil")
    cpu = torch.device("cpu")
    available = psutil.virtual_memory().available
    assert free_memory(cpu) == pytest.approx(available * (1 - FREE_MEMORY_MARGIN), rel=0.1)
    monkeypatch.setitem(sys.modules, "psutil", None)  # not installed: /proc/meminfo's MemAvailable
    assert free_memory(cpu) == pytest.approx(available * (1 - FREE_MEMORY_MARGIN), rel=0.1)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (1000, 4000))
    assert free_memory(torch.device("cuda", 0)) == 800


def test_generation_streams_what_the_trace_holds_at_real_counts(hooked: dv.HookedModel) -> None:
    """At V3's 61 × 128 heads and 256 experts (and V2-Lite's, the distill's): greedy generation is
    transformers' own, and a streamed step's rows of the last layer and its routing equal the trace."""
    steps: list[dv.GenerationStep] = []
    last = hooked.num_layers - 1
    trace = hooked.generate("Fever may indicate", 4, min_new_tokens=4, layers=[last], on_step=steps.append)
    prompt = torch.tensor([[t.id for t in trace.tokens[: trace.prompt_length]]])
    expected = hooked.model.generate(prompt, min_new_tokens=4, max_new_tokens=4, do_sample=False)
    assert [t.id for t in trace.tokens] == expected[0].tolist()
    step = steps[-1]
    np.testing.assert_allclose(
        step.attention[last][:, 0].float().numpy(),
        trace.attention(last)[:, step.position - 1, : step.position],
        atol=1e-5,
    )
    for layer, routing in step.routing.items():
        final = trace.routing(layer)
        assert final is not None
        assert set(routing.experts[0].tolist()) == set(final.experts[step.position - 1].tolist())


def test_interventions_at_real_counts(hooked: dv.HookedModel) -> None:
    """A head of layer 60 (of 128) ablated changes the run after it only; an expert of 256 ablated is
    rerouted within the group limits."""
    layer = hooked.num_layers - 2
    plain = hooked.trace(TEXT, layers=[])
    ablated = hooked.trace(TEXT, layers=[], interventions=[dv.HeadAblation(layer, (0, hooked.num_heads - 1))])
    np.testing.assert_array_equal(ablated.hidden_states[: layer + 1], plain.hidden_states[: layer + 1])
    assert np.abs(ablated.hidden_states[layer + 1] - plain.hidden_states[layer + 1]).max() > 0
    if not hooked.moe_layers:
        return
    moe = hooked.moe_layers[-1]
    routing = plain.routing(moe)
    assert routing is not None
    expert = int(routing.experts[1, 0])
    rerouted = hooked.trace(TEXT, layers=[], interventions=[dv.ExpertAblation(moe, (expert,))]).routing(moe)
    assert rerouted is not None and expert not in rerouted.experts
    if rerouted.groups is not None:
        assert max(len(set(row.tolist())) for row in rerouted.groups) <= hooked.model.config.topk_group


def test_the_issue_15_and_18_views_at_real_counts(shape: str, hooked: dv.HookedModel) -> None:
    """Click-to-ablate, Compare and the expert map at V3 / V2-Lite / distill counts: they answer, and
    what they send stays small (only the layer and heads shown)."""
    from ipywidgets.widgets.widget import _remove_buffers

    def sent(view: object) -> int:
        _state, _paths, buffers = _remove_buffers(view.get_state())  # type: ignore[attr-defined]
        return sum(len(bytes(buffer)) for buffer in buffers)

    text = "Quarterly revenue rose 12% to $4.2 billion. Fever may indicate flu."
    state = dv.Interventions(hooked)
    predictions = dv.PredictionView(hooked, text, interventions=state)
    state.toggle_head(hooked.num_layers - 1, hooked.num_heads - 1)
    if hooked.moe_layers:
        routing = dv.RoutingView(hooked, text, interventions=state)
        state.toggle_expert(routing.layer, hooked.num_experts - 1)
        assert routing.status.ok and sent(routing) < 2**20
        expert_map = dv.ExpertMapView(hooked, layer=hooked.moe_layers[-1], texts=[text])
        assert expert_map.status.ok and sent(expert_map) < 2**20
    assert predictions.status.ok and predictions._change is not None
    state.clear()
    assert predictions._change is None
    ablation = dv.HeadAblation(hooked.num_layers // 2, (hooked.num_heads - 1,))
    compare = dv.Compare(hooked, text, interventions_b=[ablation], layer=hooked.num_layers - 1)
    assert compare.status.ok and sent(compare) < 2**20
    compare.head = hooked.num_heads - 1
    assert compare.status.ok
    assert dv.ArchitectureView(hooked).status.ok
