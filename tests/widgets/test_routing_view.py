"""RoutingView without a browser: the routing decoded from its buffers is the model's own top-k, sent
per layer on demand, within 1 MiB per update at DeepSeek-V3's counts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import traitlets

import deepseek_viz as dv
from deepseek_viz.analysis.routing_stats import expert_counts, routing_statistics
from deepseek_viz.model import BUNDLED_MODEL, ModelInterface
from deepseek_viz.widgets.buffers import decode
from deepseek_viz.widgets.live_text import SPECIAL
from deepseek_viz.widgets.routing_view import RoutingView
from tests.widgets.conftest import Serving
from tests.widgets.real_shape_traces import V3_EXPERTS, V3_MOE_LAYERS, RealShapeTrace, record_messages

MiB = 1 << 20

TEXT = "Fever may indicate flu. 你好 🚀 <b>bold</b>"
CORPUS = ["Quarterly revenue rose 12%.", "Chest pain can be a sign of a heart attack."]


@pytest.fixture(scope="module")
def models(tiny_checkpoints: dict[str, Path], serving: Serving) -> dict[str, ModelInterface]:
    return {
        family: serving(dv.load_model(tiny_checkpoints[family], device="cpu", max_tokens=300))
        for family in ("deepseek_v3", "deepseek_v2", "llama")
    }


@pytest.fixture
def view(models: dict[str, dv.HookedModel]) -> RoutingView:
    return RoutingView(models["deepseek_v3"], text=TEXT)


def shown_routing(view: RoutingView) -> tuple[np.ndarray, np.ndarray]:
    """Expert ids ``[n, k]`` and gate weights of ``view.layer`` decoded from what the widget sends."""
    assert view._experts is not None and view._weights is not None
    assert view._routed_layer == view.layer
    return decode(view._experts), decode(view._weights)


def assert_routing_matches(view: RoutingView, model: dv.HookedModel, text: str) -> None:
    """Every MoE layer, picked in turn, sends that layer's own top-k; the overview counts them."""
    trace = model.trace(text, layers=[])
    assert view.moe_layers == list(model.moe_layers)
    assert view._load is not None
    np.testing.assert_array_equal(
        decode(view._load), expert_counts(trace, model.moe_layers, model.num_experts)
    )
    chosen = view.layer
    for layer in model.moe_layers:
        view.layer = layer
        experts, weights = shown_routing(view)
        routing = trace.routing(layer)
        assert routing is not None
        assert experts.shape == (len(trace.tokens), model.experts_per_token)
        np.testing.assert_array_equal(experts, routing.experts)
        np.testing.assert_allclose(weights, routing.weights, rtol=1e-3, atol=1e-4)  # float16
    view.layer = chosen


@pytest.mark.parametrize("family", ["deepseek_v3", "deepseek_v2"])
def test_routing_sent_is_the_models_top_k(models: dict[str, dv.HookedModel], family: str) -> None:
    model = models[family]
    view = RoutingView(model, text=TEXT)
    assert view.status.ok
    assert view.moe_layers == [1, 2] and view.layer == 1
    assert (view.num_experts, view.num_shared, view.top_k, view.group_size) == (8, 1, 2, 2)
    assert view._experts is not None and view._weights is not None and view._experts.dtype == "uint16"
    assert view._weights.dtype == "float16" and view._experts.shape == view._weights.shape
    assert view._load is not None and view._load.shape == (2, 8)
    assert_routing_matches(view, model, TEXT)
    # group-limited routing (topk_group=2 of 4 groups): no token's experts span more than 2 groups
    for layer in view.moe_layers:
        view.layer = layer
        experts, _ = shown_routing(view)
        groups = experts // view.group_size
        assert max(len(set(row)) for row in groups) <= 2


def test_bundled_model_routing_is_the_models_top_k() -> None:
    if not BUNDLED_MODEL.exists():
        pytest.skip(f"the bundled model is not built yet ({BUNDLED_MODEL} is missing)")
    model = dv.load_model(device="cpu")
    view = RoutingView(model, text=TEXT)
    assert view.status.ok
    assert_routing_matches(view, model, TEXT)


def test_editing_resends_and_bad_text_keeps_the_view(
    view: RoutingView, models: dict[str, dv.HookedModel]
) -> None:
    before = view._data_id
    reply, _ = view._edit({"text": "another text entirely", "seq": 1}, [])
    assert reply == {"seq": 1, "stale": False}
    assert view._data_id == before + 1 and view._seq == 1
    assert "".join(text for text, kind in view._tokens if kind != SPECIAL) == "another text entirely"
    assert_routing_matches(view, models["deepseek_v3"], "another text entirely")
    tokens, experts = view._tokens, view._experts
    view._edit({"text": "z " * 400, "seq": 2}, [])
    assert str(view.status).startswith("error: the text is") and "limit is 300" in view.status.message
    assert view._tokens == tokens and view._experts == experts and view._seq == 2
    view.selected_token = 3
    view.text = ""
    assert view.status.ok and view._tokens == [] and view._experts is None and view.trace is None
    assert view._load is None and view._token_experts is None
    assert view.selected_token == -1
    view.text = "another text entirely"
    assert view.status.ok and view._experts == experts


def test_dense_model_shows_the_no_moe_state(models: dict[str, dv.HookedModel]) -> None:
    view = RoutingView(models["llama"], text=TEXT)
    assert view.status.ok
    assert view.moe_layers == [] and view.num_experts == 0 and view._experts is None
    assert len(view._tokens) > 5  # the text is still tokenized, so selections can be linked
    view.text = "dense still edits"
    assert view.status.ok and view.trace is None
    with pytest.raises(ValueError, match="no MoE layers"):
        view.load_figure()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("layer", 0, "layer 0 is not an MoE layer; the MoE layers are [1, 2]"),
        ("layer", 5, "not an MoE layer"),
        ("selected_expert", 8, "selected_expert 8 is out of range"),
        ("selected_token", 999, "selected_token 999 is out of range"),
    ],
)
def test_out_of_range_selection_is_a_clear_error(
    view: RoutingView, name: str, value: int, message: str
) -> None:
    with pytest.raises(traitlets.TraitError, match=re.escape(message)):
        setattr(view, name, value)


def test_layer_accepts_negative_indices(view: RoutingView) -> None:
    view.layer = -1
    assert view.layer == 2


def test_constructor_rejects_bad_arguments(models: dict[str, dv.HookedModel]) -> None:
    with pytest.raises(TypeError, match="HookedModel"):
        RoutingView("not a model", text="hi")
    with pytest.raises(TypeError):
        RoutingView(models["deepseek_v3"], text="hi", colour="red")


def test_corpus_load_and_figures(models: dict[str, dv.HookedModel]) -> None:
    model = models["deepseek_v3"]
    view = RoutingView(model, text=TEXT, corpus=CORPUS)
    expected = routing_statistics(model, CORPUS)
    assert view.corpus_statistics is not None
    np.testing.assert_array_equal(view.corpus_statistics.counts, expected.counts)
    assert view._corpus_load is not None
    load = decode(view._corpus_load)
    assert load.shape == (2, 8)
    assert np.abs(load - expected.load).max() <= 1 / 255 / 2 + 1e-6
    assert view.trace is not None
    assert view.statistics().num_tokens == len([t for t in view.trace.tokens if not t.special])
    assert view.load_figure().data[0].z.shape == (2, 8)
    assert "over" in view.load_figure(corpus=True).layout.title.text
    assert view.coactivation_figure().layout.title.text == "Expert co-activation, layer 1"
    with pytest.raises(ValueError, match="no corpus"):
        RoutingView(model, text=TEXT).load_figure(corpus=True)


def test_link_shares_text_and_selected_token_with_the_attention_view(
    models: dict[str, dv.HookedModel],
) -> None:
    routing = RoutingView(models["deepseek_v3"], text="shared text")
    attention = dv.AttentionView(models["deepseek_v3"], text="other")
    link = routing.link(attention)
    assert attention.text == "shared text"
    attention.text = "typed in attention"
    assert routing.text == "typed in attention"
    assert_routing_matches(routing, models["deepseek_v3"], "typed in attention")
    attention.selected_token = 2
    assert routing.selected_token == 2
    link.unlink()
    attention.text = "independent"
    assert routing.text == "typed in attention"


def test_dv_link_shares_text_between_views(tiny_checkpoints: dict[str, Path]) -> None:
    model = dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")
    attention, routing = dv.AttentionView(model, text="first"), dv.RoutingView(model, text="other")
    link = dv.link(attention, routing)
    assert routing.text == "first"
    routing.text = "second text"
    assert attention.text == "second text"
    link.unlink()
    attention.text = "third"
    assert routing.text == "second text"


def test_layer_switch_sends_that_layer_only_without_a_forward(
    view: RoutingView, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = view.trace
    assert trace is not None
    calls: list[str] = []
    monkeypatch.setattr(view.model, "trace", lambda *a, **k: calls.append("trace"))
    before = view._data_id
    view.layer = 2
    assert calls == [] and view._routed_layer == 2 and view._data_id == before + 1
    routing = trace.routing(2)
    assert routing is not None
    np.testing.assert_array_equal(decode(view._experts), routing.experts)  # type: ignore[arg-type]
    view.layer = 2  # no change: nothing sent
    assert view._data_id == before + 1


def test_selected_token_sends_its_experts_in_every_layer(view: RoutingView) -> None:
    assert view._token_experts is None
    view.selected_token = 3
    trace = view.trace
    assert trace is not None and view._token_experts is not None and view._token_weights is not None
    experts, weights = decode(view._token_experts), decode(view._token_weights)
    assert view._token_at == 3
    assert experts.shape == (len(view.moe_layers), view.top_k)
    for row, layer in enumerate(view.moe_layers):
        routing = trace.routing(layer)
        assert routing is not None
        np.testing.assert_array_equal(experts[row], routing.experts[3])
        np.testing.assert_allclose(weights[row], routing.weights[3], rtol=1e-3, atol=1e-4)
    view.selected_token = -1
    assert view._token_experts is None and view._token_at == -1


@pytest.fixture(scope="module")
def v3(real_count_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(real_count_checkpoints["v3"], device="cpu", max_tokens=4096))


def test_v3_counts_route_256_experts_and_layer_60(v3: dv.HookedModel) -> None:
    text = "Fever may indicate flu; chest pain can be a sign of a heart attack."
    view = RoutingView(v3, text=text)
    assert view.status.ok and view.moe_layers == list(V3_MOE_LAYERS)
    assert (view.num_experts, view.top_k, view.group_size) == (V3_EXPERTS, 8, 32)
    assert view._load is not None and view._load.shape == (58, V3_EXPERTS)
    n = len(view._tokens)
    assert view._experts is not None and view._experts.shape == (n, 8) and view._routed_layer == 3
    view.layer = 60
    trace = view.trace
    assert trace is not None
    routing = trace.routing(60)
    assert routing is not None
    experts, _ = shown_routing(view)
    np.testing.assert_array_equal(experts, routing.experts)
    # group-limited routing: every token's 8 experts come from at most topk_group = 4 of the 8 groups
    assert max(len(set(row)) for row in experts // 32) <= 4


@pytest.mark.parametrize("n", [512, 4096])
def test_v3_counts_update_bytes_stay_under_1_mib(
    v3: dv.HookedModel, monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    view = RoutingView(v3, text="short")
    sent = record_messages(view)
    trace = RealShapeTrace(n)
    monkeypatch.setattr(v3, "trace", lambda *args, **kwargs: trace)
    view.text = f"a text of {n} tokens"  # an edit: tokens, overview, the layer shown
    view.layer = 60  # a layer switch
    view.selected_token = n - 1  # a token's experts in every layer
    assert view.status.ok and len(view._tokens) == n
    assert view._load is not None and view._load.shape == (58, V3_EXPERTS)
    assert view._experts is not None and view._experts.shape == (n, 8)
    print(f"RoutingView at V3 counts, {n} tokens: bytes per message {sent}")
    assert sent and max(sent) <= MiB
