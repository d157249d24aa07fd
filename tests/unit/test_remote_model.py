"""A model behind the service (``connect`` through ``LocalTransport``) answers as the local model does:
its properties, tokens, every trace read (under interventions too), logits and their gradient, hidden
states, generation with steps and a stop, errors, and the widgets built on it."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
import torch
from torch.testing import assert_close

import deepseek_viz as dv
from deepseek_viz.model.interface import ModelInterface
from deepseek_viz.serve.calls import ModelCalls, RequestError, ServiceLimits
from deepseek_viz.serve.client import HttpTransport, LocalTransport, RemoteModel, ServiceError, connect

TEXT = "The cat sat on the mat because it was warm."
PROPERTIES = [
    "name",
    "family",
    "num_layers",
    "num_heads",
    "d_model",
    "vocab_size",
    "moe_layers",
    "num_experts",
    "num_shared_experts",
    "experts_per_token",
    "routing_group_size",
    "pad_token_id",
    "device",
    "dtype",
]


def remote_of(limits: ServiceLimits | None = None) -> RemoteModel:
    """A remote model served by its own copy of the bundled model."""
    calls = ModelCalls(dv.load_model(device="cpu"), limits or ServiceLimits())
    return connect("local", transport=LocalTransport(calls))


@pytest.fixture(scope="module")
def local() -> dv.HookedModel:
    return dv.load_model(device="cpu")


@pytest.fixture(scope="module")
def remote() -> RemoteModel:
    return remote_of()


def same_reads(a: dv.Trace, b: dv.Trace, layers: int) -> None:
    """Every read of trace ``b`` equals trace ``a``'s."""
    assert (b.text, b.tokens, b.truncated, b.moe_layers) == (a.text, a.tokens, a.truncated, a.moe_layers)
    for layer in range(layers):
        assert_close(b.attention_tensor(layer), a.attention_tensor(layer))
        assert_close(b.attention_tensor(layer, [3, 1]), a.attention_tensor(layer, [3, 1]))
        np.testing.assert_allclose(b.attention(layer), a.attention(layer), rtol=1e-5, atol=1e-6)
        ra, rb = a.routing(layer), b.routing(layer)
        assert (ra is None) == (rb is None)
        if ra is not None and rb is not None:
            np.testing.assert_array_equal(rb.experts, ra.experts)
            assert_close(rb.weights, ra.weights)
            assert rb.group_size == ra.group_size
            assert_close(b.router_scores(layer), a.router_scores(layer))
    for name in ("thumbnails", "head_scores", "hidden_states"):
        assert_close(getattr(b, name), getattr(a, name))
    assert_close(b.logits, a.logits)
    assert b.top_predictions(3) == a.top_predictions(3)
    assert b.top_predictions(2, [0, -1]) == a.top_predictions(2, [0, -1])
    for got, want in zip(b.next_token_scores(), a.next_token_scores(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    lens_a, lens_b = a.logit_lens(2, [0, -1], [1, 2]), b.logit_lens(2, [0, -1], [1, 2])
    np.testing.assert_array_equal(lens_b.token_ids, lens_a.token_ids)
    assert_close(lens_b.probs, lens_a.probs)
    assert (lens_b.texts, lens_b.layers, lens_b.positions) == (lens_a.texts, lens_a.layers, lens_a.positions)


def test_properties_and_structure(local: dv.HookedModel, remote: RemoteModel) -> None:
    assert isinstance(remote, ModelInterface)
    for name in PROPERTIES:
        assert getattr(remote, name) == getattr(local, name), name
    assert remote.structure() == local.structure()
    assert remote.max_tokens == min(local.max_tokens, ServiceLimits().max_tokens) == 2048


def test_tokens(local: dv.HookedModel, remote: RemoteModel) -> None:
    assert remote.tokenize(TEXT) == local.tokenize(TEXT)
    ids = local.encode(TEXT)
    assert remote.encode(TEXT) == ids
    assert remote.decode(ids) == local.decode(ids)
    assert remote.token_strings(ids) == local.token_strings(ids)
    assert remote.estimate(TEXT, [0], thumbnails=8) == local.estimate(TEXT, [0], thumbnails=8)


def test_every_trace_read(local: dv.HookedModel, remote: RemoteModel) -> None:
    a = local.trace(TEXT, layers=[0], thumbnails=8)
    b = remote.trace(TEXT, layers=[0], thumbnails=8)
    assert isinstance(b, dv.Trace) and b.captured_layers == (0,)
    same_reads(a, b, local.num_layers)


def test_trace_under_head_ablation(local: dv.HookedModel, remote: RemoteModel) -> None:
    ablation = dv.HeadAblation(1, (0, 2, 4))
    with local.intervene(ablation):
        a = local.trace(TEXT)
    with remote.intervene(ablation):
        assert remote.interventions == (ablation,)
        b = remote.trace(TEXT)
    assert remote.interventions == ()
    assert b.interventions == (ablation,)
    same_reads(a, b, local.num_layers)
    assert not np.allclose(remote.trace(TEXT).hidden_states[-1], b.hidden_states[-1])  # it did ablate


def test_trace_under_residual_patch(local: dv.HookedModel, remote: RemoteModel) -> None:
    source = local.trace("The dog sat on the mat because it was cold.")
    patch = dv.ResidualPatch.from_trace(source, 2, [1, 2])
    a = local.trace(TEXT, interventions=[patch])
    b = remote.trace(TEXT, interventions=[patch])
    same_reads(a, b, local.num_layers)
    assert_close(torch.from_numpy(b.hidden_states[2][[1, 2]]), patch.values)


def test_intervene_nests_and_leaks_nothing(remote: RemoteModel) -> None:
    first, second = dv.HeadAblation(0, (1,)), dv.HeadScale(1, (2,), 2.0)
    with remote.intervene(first):
        with remote.intervene(second):
            assert remote.interventions == (first, second)
            seen: list[Any] = []
            thread = threading.Thread(target=lambda: seen.append(remote.interventions))
            thread.start()
            thread.join()
            assert seen == [()]  # another thread's calls are not this block's
        assert remote.interventions == (first,)
    assert remote.interventions == ()


def test_logits_and_their_gradient(local: dv.HookedModel, remote: RemoteModel) -> None:
    ids = torch.tensor([local.encode(TEXT)])
    embeddings = local.input_embeddings(ids)
    assert_close(remote.input_embeddings(ids), embeddings)
    assert_close(remote.mean_input_embedding(), local.mean_input_embedding())
    with torch.no_grad():
        assert_close(remote.logits(embeddings, [3, 5]), local.logits(embeddings, [3, 5]))
    grads = []
    for model in (local, remote):
        leaf = embeddings.clone().requires_grad_(True)
        logits = model.logits(leaf, [3, 5])
        (logits[0, 1, 7] - logits[0, 0].logsumexp(-1)).backward()
        grads.append(leaf.grad)
    assert grads[1] is not None and grads[1].abs().sum() > 0
    assert_close(grads[1], grads[0])


def test_hidden_states_and_head_and_expert_reads(local: dv.HookedModel, remote: RemoteModel) -> None:
    sequences = [local.encode(TEXT), local.encode("Short one.")]
    for layer in (0, 2, local.num_layers):
        for got, want in zip(
            remote.hidden_states(sequences, layer), local.hidden_states(sequences, layer), strict=True
        ):
            assert_close(got, want)
    assert_close(remote.head_outputs(TEXT, 1), local.head_outputs(TEXT, 1))
    assert_close(remote.expert_outputs(TEXT, 1), local.expert_outputs(TEXT, 1))
    assert_close(remote.expert_outputs(TEXT, 1, 3), local.expert_outputs(TEXT, 1, 3))
    assert_close(remote.expert_weight_summary(2), local.expert_weight_summary(2))


def test_generate_greedy(local: dv.HookedModel, remote: RemoteModel) -> None:
    steps: list[dv.GenerationStep] = []
    a = local.generate("Once upon a time", 8, layers=[0])
    b = remote.generate("Once upon a time", 8, layers=[0], on_step=steps.append)
    assert [t.id for t in b.tokens] == [t.id for t in a.tokens]
    assert b.tokens == a.tokens and b.text == a.text
    assert len(steps) == 8 and [s.token for s in steps] == a.tokens[a.prompt_length :]
    assert steps[0].attention[0].shape[0] == local.num_heads
    assert b.completion is not None and a.completion is not None
    assert b.completion.stop_reason == a.completion.stop_reason == "length"
    assert_close(b.completion.probs, a.completion.probs)
    assert b.top_predictions(2) == a.top_predictions(2)


def test_generate_stops_on_the_event(local: dv.HookedModel, remote: RemoteModel) -> None:
    stop = threading.Event()
    steps: list[dv.GenerationStep] = []

    def on_step(step: dv.GenerationStep) -> None:
        steps.append(step)
        if len(steps) == 3:
            stop.set()

    trace = remote.generate("Once upon a time", 8, on_step=on_step, stop_event=stop)
    assert trace.completion is not None and trace.completion.stop_reason == "stopped"
    assert len(steps) == 3 and len(trace.completion.probs) == 3
    written = local.generate("Once upon a time", 3)
    assert [t.id for t in trace.tokens] == [t.id for t in written.tokens]
    assert trace.top_predictions(1) == written.top_predictions(1)


def test_max_new_tokens_is_clamped() -> None:
    remote = remote_of(ServiceLimits(max_new_tokens=3))
    trace = remote.generate("Once upon a time", 8)
    assert trace.completion is not None and len(trace.completion.probs) == 3


def test_errors_are_the_local_ones(local: dv.HookedModel, remote: RemoteModel) -> None:
    with pytest.raises(IndexError) as local_error:
        local.trace(TEXT, layers=[99])
    with pytest.raises(dv.LayerOutOfRangeError) as remote_error:
        remote.trace(TEXT, layers=[99])
    assert str(remote_error.value) == str(local_error.value)
    with pytest.raises(IndexError) as local_index:
        local.trace(TEXT).attention(-9)
    with pytest.raises(IndexError) as remote_index:
        remote.trace(TEXT).attention(-9)
    assert str(remote_index.value) == str(local_index.value)
    with pytest.raises(dv.EmptyTextError, match="the text is empty"):
        remote.tokenize("")


def test_too_long_text_is_413() -> None:
    remote = remote_of(ServiceLimits(max_chars=50, max_tokens=8))
    with pytest.raises(RequestError, match="at most 50") as error:
        remote.trace("x" * 51)
    assert error.value.status == 413
    with pytest.raises(dv.TextTooLongError, match="the limit is 8"):
        remote.trace("one two three four five six seven eight")
    cut = remote.trace("one two three four five six seven eight", truncate=True)
    assert cut.truncated and len(cut.tokens) == 8 and remote.max_tokens == 8


def test_time_limit_is_client_state(remote: RemoteModel) -> None:
    with remote.time_limit(1e-9), pytest.raises(dv.ComputationTimeoutError):
        remote.tokenize(TEXT + " again")
    assert remote.tokenize(TEXT) == remote.tokenize(TEXT)


def test_a_dead_server_is_a_clear_error() -> None:
    with pytest.raises(ServiceError, match=r"the model service at http://127\.0\.0\.1:9 does not answer"):
        connect("http://127.0.0.1:9", transport=HttpTransport("http://127.0.0.1:9", timeout=5))


def test_attention_view(local: dv.HookedModel, remote: RemoteModel) -> None:
    views = [dv.AttentionView(model, TEXT, layer=1) for model in (local, remote)]
    for name in ("_heatmap", "_thumbnails", "_head_scores", "num_layers", "num_heads"):
        assert getattr(views[1], name) == getattr(views[0], name), name


def test_dashboard(local: dv.HookedModel, remote: RemoteModel) -> None:
    texts, labels = ["Revenue rose 12%.", "Fever may indicate flu."], ["finance", "medical"]
    boards = [dv.Dashboard(model, texts, labels, text=TEXT, layer=1) for model in (local, remote)]
    for board in boards:
        assert board.wait_for_map(timeout=120)
        assert all(status.ok for status in board.statuses().values()), board.statuses()
    assert boards[1].attention._heatmap == boards[0].attention._heatmap
    for name in ("predictions", "routing"):
        states = [{k: v for k, v in getattr(b, name).get_state().items() if k != "layout"} for b in boards]
        assert states[1] == states[0], name


def test_explain(local: dv.HookedModel, remote: RemoteModel) -> None:
    a = dv.explain(local, TEXT, methods="input_x_gradient", faithfulness=False, cache=False)
    b = dv.explain(remote, TEXT, methods="input_x_gradient", faithfulness=False, cache=False)
    assert b.tokens == a.tokens and b.target == a.target
    np.testing.assert_allclose(
        b.scores["input_x_gradient"], a.scores["input_x_gradient"], rtol=1e-4, atol=1e-6
    )


def test_generation_view(local: dv.HookedModel, remote: RemoteModel) -> None:
    traces = []
    for model in (local, remote):
        view = dv.GenerationView(model, "Fever may indicate", max_new_tokens=6)
        view.generate()
        trace = view.wait(120)
        assert trace is not None, str(view.status)
        traces.append((trace, view._tokens, view._probs))
    (a, tokens_a, probs_a), (b, tokens_b, probs_b) = traces
    assert b.tokens == a.tokens and tokens_b == tokens_a and probs_b == probs_a


def test_head_and_expert_patches(local: dv.HookedModel, remote: RemoteModel) -> None:
    clean = "The dog sat on the mat because it was cold."
    routing = local.trace(clean).routing(2)
    assert routing is not None
    expert = int(routing.experts[2, 0])  # one that clean position 2 is routed to: its patch says something
    patches: list[dv.HeadPatch | dv.ExpertPatch] = [
        dv.HeadPatch.from_run(remote, clean, 1, [0, 2], positions=[1, 3]),
        dv.ExpertPatch.from_run(remote, clean, 2, expert=expert, positions=[2]),
    ]
    assert_close(patches[0].values, dv.HeadPatch.from_run(local, clean, 1, [0, 2], positions=[1, 3]).values)
    for patch in patches:
        a, b = local.trace(TEXT, interventions=[patch]), remote.trace(TEXT, interventions=[patch])
        assert_close(b.hidden_states, a.hidden_states)
        assert not np.allclose(b.hidden_states[-1], remote.trace(TEXT).hidden_states[-1])


def test_embed_texts(local: dv.HookedModel, remote: RemoteModel) -> None:
    texts = ["Revenue rose 12%.", "Fever may indicate flu.", "咳嗽可能是流感。"]
    a = dv.embed_texts(local, texts, layer=2, batch_size=2, progress=False)
    b = dv.embed_texts(remote, texts, layer=2, batch_size=2, progress=False)
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_generate_chat_and_prefix(local: dv.HookedModel, remote: RemoteModel) -> None:
    stop = threading.Event()
    steps: list[dv.GenerationStep] = []

    def on_step(step: dv.GenerationStep) -> None:
        steps.append(step)
        if len(steps) == 2:
            stop.set()

    chat = remote.generate("Is fever a flu sign?", 5, chat=True, on_step=on_step, stop_event=stop)
    written = local.generate("Is fever a flu sign?", 2, chat=True)
    assert chat.tokens == written.tokens and chat.prompt_length == written.prompt_length
    source = local.trace("Once upon a time there")
    prompt, prefix = source.text[: source.tokens[3].end], source.tokens[:4]
    assert remote.generate(prompt, 3, prefix=prefix).tokens == local.generate(prompt, 3, prefix=prefix).tokens


def test_sweeps(local: dv.HookedModel, remote: RemoteModel) -> None:
    a, b = dv.head_ablation_sweep(local, TEXT), dv.head_ablation_sweep(remote, TEXT)
    np.testing.assert_allclose(b.effects, a.effects, rtol=1e-4, atol=1e-5)
    corrupted = "The dog sat on the mat because it was warm."
    c, d = (
        dv.residual_patching_sweep(local, TEXT, corrupted),
        dv.residual_patching_sweep(remote, TEXT, corrupted),
    )
    np.testing.assert_allclose(d.values, c.values, rtol=1e-4, atol=1e-5)
    assert d.tokens == c.tokens


class Counting(LocalTransport):
    """A LocalTransport that counts the calls it sends, by name."""

    def __init__(self, calls: ModelCalls) -> None:
        super().__init__(calls)
        self.sent: list[str] = []

    def call(self, name: str, fields: dict[str, Any], arrays: dict[str, torch.Tensor]) -> Any:
        self.sent.append(name)
        return super().call(name, fields, arrays)


def test_each_read_crosses_once() -> None:
    transport = Counting(ModelCalls(dv.load_model(device="cpu")))
    remote = connect("local", transport=transport)
    trace = remote.trace(TEXT, layers=[])
    assert remote.trace(TEXT, layers=[]) is trace and transport.sent == ["info", "trace"]
    first = trace.top_predictions(3)
    assert trace.top_predictions(3) == first and trace.attention(1).shape[0] == remote.num_heads
    trace.attention_tensor(1)
    assert transport.sent.count("trace_read") == 2
    trace.routing(0)  # a dense layer: known without asking
    assert transport.sent.count("trace_read") == 2


class Cut(LocalTransport):
    """A LocalTransport whose generation stream breaks off after its first step."""

    def stream(self, name: str, fields: dict[str, Any], arrays: dict[str, torch.Tensor]) -> Any:
        messages = super().stream(name, fields, arrays)
        yield next(messages)
        yield next(messages)
        messages.close()


def test_a_stream_cut_short_is_an_error() -> None:
    remote = connect("local", transport=Cut(ModelCalls(dv.load_model(device="cpu"))))
    with pytest.raises(ServiceError, match="ended the generation before its end"):
        remote.generate("Once upon a time", 8)
