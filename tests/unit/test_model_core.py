"""The model core on tiny random checkpoints of every family, loaded back through load_model(path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM

import deepseek_viz as dv
from deepseek_viz.model import attention_capture
from tests.conftest import CONFIGS, MOE_FAMILIES

FAMILIES = list(CONFIGS)
TEXT = "Fever may indicate flu. 你好，世界 🙂 <img src=x onerror=alert(1)>"


@pytest.fixture(scope="module", params=FAMILIES)
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def hooked(family: str, tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints[family], device="cpu")


def test_load_reports_shape_of_model(family: str, hooked: dv.HookedModel) -> None:
    assert hooked.family == family
    assert hooked.num_layers == 3
    assert hooked.num_heads == 4
    assert hooked.moe_layers == ((1, 2) if family in MOE_FAMILIES else ())
    assert hooked.device.type == "cpu" and hooked.dtype == torch.float32


def test_attention_matches_eager(
    family: str, hooked: dv.HookedModel, tiny_checkpoints: dict[str, Path]
) -> None:
    eager = AutoModelForCausalLM.from_pretrained(tiny_checkpoints[family], attn_implementation="eager").eval()
    trace = hooked.trace(TEXT)
    ids = torch.tensor([[token.id for token in trace.tokens]])
    with torch.no_grad():
        reference = eager(ids, output_attentions=True)
    for layer in range(hooked.num_layers):
        ours = trace.attention(layer)
        expected = reference.attentions[layer][0].numpy()
        assert ours.shape == expected.shape == (4, len(trace.tokens), len(trace.tokens))
        np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=0)
        np.testing.assert_allclose(ours.sum(-1), 1.0, atol=1e-5)
        assert np.all(np.triu(ours, k=1) == 0), "attention must be causal"
    # capturing must not change what the model computes
    torch.testing.assert_close(trace.logits, reference.logits[0], atol=1e-4, rtol=1e-4)


def test_only_requested_layers_are_captured(hooked: dv.HookedModel) -> None:
    trace = hooked.trace(TEXT + " Only the last layer.", layers=[-1])  # a new text: not the cached trace
    assert trace.captured_layers == (2,)
    assert trace.attention(-1).shape[0] == 4


def test_a_layer_not_kept_is_computed_from_its_input_alone(
    hooked: dv.HookedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = TEXT + " Every layer, one at a time."
    full = hooked.trace(text, layers=None)
    hooked._cache.clear()
    lean = hooked.trace(text, layers=[])
    assert lean.captured_layers == () and lean is not full
    before = lean.nbytes
    forwards: list[int] = []
    monkeypatch.setattr(hooked.model, "forward", lambda *a, **k: forwards.append(1))  # no forward may run
    for layer in range(hooked.num_layers):
        recomputed = lean.attention(layer)
        assert lean.captured_layers == (layer,)  # only the last one read is kept
        np.testing.assert_allclose(recomputed, full.attention(layer), atol=1e-6, rtol=0)
    assert forwards == []
    assert lean.nbytes == before + lean.attention_tensor(-1).numel() * 4
    some = lean.attention_tensor(1, heads=[2, 0])  # those heads alone
    assert some.shape[0] == 2 and lean.captured_layers == ()
    np.testing.assert_allclose(some.numpy(), full.attention(1)[[2, 0]], atol=1e-6, rtol=0)
    assert lean.nbytes == before + some.numel() * 4
    monkeypatch.setattr(hooked, "_layer_attention", lambda *a: pytest.fail("recomputed a head it holds"))
    np.testing.assert_array_equal(lean.attention_tensor(1, heads=[0]).numpy(), some[1:].numpy())


def test_hidden_states_and_predictions(hooked: dv.HookedModel) -> None:
    trace = hooked.trace(TEXT)
    n = len(trace.tokens)
    assert trace.hidden_states.shape == (hooked.num_layers + 1, n, 32)
    predictions = trace.top_predictions(3)
    assert len(predictions) == n and all(len(row) == 3 for row in predictions)
    probs = np.array([[p.prob for p in row] for row in predictions])
    assert np.all(np.diff(probs, axis=1) <= 0) and np.all(probs.sum(1) <= 1 + 1e-6)
    assert predictions[0][0].token_id == int(trace.logits[0].argmax())


def test_routing_is_what_the_router_chose(family: str, hooked: dv.HookedModel) -> None:
    trace = hooked.trace(TEXT)
    if family not in MOE_FAMILIES:
        assert all(trace.routing(layer) is None for layer in range(hooked.num_layers))
        return
    assert trace.routing(0) is None  # first_k_dense_replace=1
    mlp_inputs: dict[int, torch.Tensor] = {}
    handles = [
        hooked.arch.layers[layer].mlp.register_forward_pre_hook(
            lambda _m, args, layer=layer: mlp_inputs.__setitem__(layer, args[0].detach())
        )
        for layer in hooked.moe_layers
    ]
    try:
        with torch.no_grad():
            hooked.model(torch.tensor([[t.id for t in trace.tokens]]))
    finally:
        for handle in handles:
            handle.remove()
    config = hooked.model.config
    group_size = config.n_routed_experts // config.n_group
    for layer in hooked.moe_layers:
        routing = trace.routing(layer)
        assert routing is not None
        n = len(trace.tokens)
        assert routing.experts.shape == routing.weights.shape == (n, 2)
        with torch.no_grad():
            logits, weights, experts = hooked.arch.routers[layer](mlp_inputs[layer])
        np.testing.assert_allclose(trace.router_scores(layer), logits.numpy(), atol=1e-6)
        for row in range(n):
            expected = dict(zip(experts[row].tolist(), weights[row].tolist(), strict=True))
            got = dict(zip(routing.experts[row].tolist(), routing.weights[row].tolist(), strict=True))
            assert got.keys() == expected.keys()
            assert np.allclose([got[e] for e in expected], list(expected.values()), atol=1e-6)
        assert routing.group_size == group_size and routing.groups is not None  # every MoE config is grouped
        groups_used = {len(set((routing.experts[row] // group_size).tolist())) for row in range(n)}
        assert max(groups_used) <= config.topk_group, (
            "group-limited routing must stay within topk_group groups"
        )
        assert np.all(np.diff(routing.weights, axis=1) <= 0), "experts are listed by weight"


def test_correction_bias_steers_v3_routing(tiny_checkpoints: dict[str, Path]) -> None:
    hooked = dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")
    router = hooked.arch.routers[1]
    with torch.no_grad():
        router.e_score_correction_bias.zero_()
        router.e_score_correction_bias[5] = 100.0
    routing = hooked.trace(TEXT).routing(1)
    assert routing is not None
    assert np.all((routing.experts == 5).any(axis=1)), (
        "a huge correction bias must select expert 5 everywhere"
    )


def test_tokens_show_source_text_for_cjk_and_emoji(hooked: dv.HookedModel) -> None:
    trace = hooked.trace(TEXT)
    assert trace.tokens[0].special and trace.tokens[0].start == trace.tokens[0].end == 0
    body = [token for token in trace.tokens if not token.special]
    for token in body:
        assert token.text == TEXT[token.start : token.end]
    distinct = dict.fromkeys((t.start, t.end) for t in body)
    assert "".join(TEXT[s:e] for s, e in distinct) == TEXT
    emoji = [t for t in body if "🙂" in t.text]
    assert emoji and all(t.text.strip() == "🙂" for t in emoji)
    assert any(t.text == "世" or "世" in t.text for t in body)


def test_tokenize_gives_the_trace_tokens_without_running_the_model(hooked: dv.HookedModel) -> None:
    assert hooked.tokenize(TEXT) == hooked.trace(TEXT).tokens
    with pytest.raises(dv.EmptyTextError):
        hooked.tokenize("")


def test_cache_returns_the_same_trace(hooked: dv.HookedModel) -> None:
    first = hooked.trace(TEXT, layers=[0, 1])
    assert hooked.trace(TEXT, layers=[1, 0]) is first
    assert hooked.trace(TEXT + " ", layers=[0, 1]) is not first


def test_a_fuller_cached_trace_answers_a_smaller_request(hooked: dv.HookedModel) -> None:
    text = "One trace, many views."
    full = hooked.trace(text, layers=[0], thumbnails=4)
    assert hooked.trace(text, layers=[]) is full  # what the routing and prediction views ask for
    assert hooked.trace(text, layers=[0]) is full
    assert hooked.trace(text, layers=[], truncate=True) is full  # the text fitted: nothing to cut
    assert hooked.trace(text, layers=[1]) is full  # layer 1 is computed from its input when read
    assert hooked.trace(text, layers=[0], thumbnails=8) is not full


def test_the_cache_is_bounded_in_bytes(family: str, tiny_checkpoints: dict[str, Path]) -> None:
    model = dv.load_model(tiny_checkpoints[family], device="cpu")
    texts = ("A first text to cache.", "A second text, as long as that.")
    model._cache_bytes = max(model.estimate(text).kept for text in texts) + 1  # room for one of them
    first = model.trace(texts[0], layers=None)
    assert model.trace(texts[0], layers=[]) is first  # answered by the cache
    second = model.trace(texts[1], layers=None)
    assert list(model._cache.values()) == [second]
    model._cache_bytes = 0  # a trace over the byte budget is returned but not kept
    third = model.trace("A third text.", layers=[0])
    assert third.captured_layers == (0,) and third not in model._cache.values()
    assert model.trace("A third text.", layers=[0]) is not third


def test_time_limit_stops_model_work_and_leaves_the_model_usable(hooked: dv.HookedModel) -> None:
    layers = hooked.arch.layers
    with pytest.raises(dv.ComputationTimeoutError, match="stopped after 0 s"), hooked.time_limit(0.0):
        hooked.trace("Too slow for no time at all.", layers=[])
    assert not any(layer._forward_pre_hooks for layer in layers)
    assert len(hooked.trace("Too slow for no time at all.", layers=[]).tokens) > 1
    with hooked.time_limit(60.0):
        with hooked.time_limit(0.0):  # inside another limit: the outer deadline holds
            hooked.trace("Nested limits share the outer deadline.", layers=[])
        assert hooked._deadline is not None
    hooked.max_seconds = 0.0
    try:
        with pytest.raises(dv.ComputationTimeoutError):
            dv.explain(hooked, "Explanations are bounded too.", methods="input_x_gradient")
    finally:
        hooked.max_seconds = None


def test_lone_surrogates_are_a_clear_error(hooked: dv.HookedModel) -> None:
    from deepseek_viz.model.errors import InvalidTextError

    with pytest.raises(InvalidTextError, match=r"lone surrogate \(U\+D800\) at character 4"):
        hooked.trace("bad \ud800 text")
    assert hooked.trace("good \U0001f642 text").tokens  # a real pair is fine


def test_bad_input_errors(hooked: dv.HookedModel) -> None:
    with pytest.raises(dv.EmptyTextError):
        hooked.trace("")
    with pytest.raises(TypeError):
        hooked.trace(None)  # type: ignore[arg-type]
    with pytest.raises(dv.LayerOutOfRangeError, match="out of range"):
        hooked.trace(TEXT, layers=[3])
    trace = hooked.trace(TEXT)
    with pytest.raises(dv.LayerOutOfRangeError):
        trace.attention(-4)
    with pytest.raises(dv.LayerOutOfRangeError):
        trace.routing(7)


def test_long_text_is_refused_or_truncated(family: str, tiny_checkpoints: dict[str, Path]) -> None:
    hooked = dv.load_model(tiny_checkpoints[family], device="cpu", max_tokens=8)
    with pytest.raises(dv.TextTooLongError, match="limit is 8"):
        hooked.trace(TEXT)
    trace = hooked.trace(TEXT, truncate=True)
    assert trace.truncated and len(trace.tokens) == 8
    assert trace.attention(0).shape == (4, 8, 8)
    assert dv.load_model(tiny_checkpoints[family], device="cpu").max_tokens == 256  # max_position_embeddings


def test_missing_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(dv.ModelLoadError, match="no model at"):
        dv.load_model(tmp_path / "does-not-exist")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_error(tiny_checkpoints: dict[str, Path]) -> None:
    with pytest.raises(dv.DeviceUnavailableError, match="no usable CUDA"):
        dv.load_model(tiny_checkpoints["llama"], device="cuda")


def test_model_whose_attention_bypasses_the_interface(tiny_checkpoints: dict[str, Path]) -> None:
    hooked = dv.load_model(tiny_checkpoints["llama"], device="cpu")
    hooked.model.set_attn_implementation("eager")
    with pytest.raises(dv.AttentionUnavailableError, match="no attention was captured"):
        hooked.trace(TEXT)


def _block_means(pattern: np.ndarray, bins: int, rows: np.ndarray) -> np.ndarray:
    """``[head, bins, bins]`` block means of ``pattern`` over the query ``rows`` of each row bin."""
    n = pattern.shape[-1]
    index = (np.arange(n) * bins) // n
    means = np.zeros((pattern.shape[0], bins, bins))
    for row in range(bins):
        in_bin = rows[index[rows] == row]
        for col in range(bins):
            means[:, row, col] = pattern[:, in_bin][:, :, index == col].mean(axis=(1, 2))
    return means


def _scores(pattern: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``[head, 4]`` previous-token, first-token, self and entropy scores over the query ``rows``."""
    after_first = rows[rows >= 1]
    read = pattern[:, rows]
    entropy = -np.where(read > 0, read * np.log(np.where(read > 0, read, 1)), 0).sum(-1)
    return np.stack(
        [
            pattern[:, after_first, after_first - 1].mean(-1),
            read[:, :, 0].mean(-1),
            pattern[:, rows, rows].mean(-1),
            entropy.mean(-1),
        ],
        axis=-1,
    )


def test_thumbnails_are_block_means_of_every_layer(hooked: dv.HookedModel) -> None:
    full = hooked.trace(TEXT)
    n = len(full.tokens)
    bins = -(-n // 4)  # at most 4 query rows per bin: the summary reads every row
    small = hooked.trace(TEXT, layers=[], thumbnails=bins)
    assert small.captured_layers == ()
    thumbs, scores = small.thumbnails, small.head_scores
    assert thumbs is not None and thumbs.shape == (3, 4, bins, bins)
    assert scores is not None and scores.shape == (3, 4, 4) and scores.dtype == np.float32
    assert dv.Trace.HEAD_SCORES == ("previous_token", "first_token", "self", "entropy")
    for layer in range(3):
        pattern = full.attention(layer)
        np.testing.assert_allclose(thumbs[layer], _block_means(pattern, bins, np.arange(n)), atol=1e-5)
        np.testing.assert_allclose(scores[layer], _scores(pattern, np.arange(n)), atol=1e-5)
    assert full.thumbnails is None and full.head_scores is None
    tiny = hooked.trace("Hi", thumbnails=64).thumbnails
    assert tiny is not None and tiny.shape[-1] == len(hooked.trace("Hi").tokens)


def test_thumbnails_of_a_long_text_read_evenly_spaced_rows(hooked: dv.HookedModel) -> None:
    full = hooked.trace(TEXT)
    n = len(full.tokens)
    rows = attention_capture.sampled_rows(n, 3).numpy()
    assert n > 12 and len(rows) == 12 and rows[0] == 0 and rows[-1] == n - 1
    summary = hooked.trace(TEXT, layers=[0], thumbnails=3)
    thumbs = summary.thumbnails
    assert thumbs is not None
    np.testing.assert_allclose(thumbs[0], _block_means(full.attention(0), 3, np.arange(n)), atol=1e-5)
    head_scores = summary.head_scores
    assert head_scores is not None
    np.testing.assert_allclose(head_scores[0], _scores(full.attention(0), np.arange(n)), atol=1e-5)
    for layer in (1, 2):  # their full patterns are not kept: 4 rows per bin
        pattern = full.attention(layer)
        np.testing.assert_allclose(thumbs[layer], _block_means(pattern, 3, rows), atol=1e-5)
        np.testing.assert_allclose(head_scores[layer], _scores(pattern, rows), atol=1e-5)


def test_logit_lens_last_layer_is_the_model_output(hooked: dv.HookedModel) -> None:
    trace = hooked.trace(TEXT)
    lens = trace.logit_lens(k=3)
    n = len(trace.tokens)
    assert lens.token_ids.shape == lens.probs.shape == (hooked.num_layers + 1, n, 3)
    expected = torch.topk(torch.softmax(trace.logits, -1), 3, dim=-1)
    np.testing.assert_array_equal(lens.token_ids[-1], expected.indices.numpy())
    np.testing.assert_allclose(lens.probs[-1], expected.values.numpy(), atol=1e-6)
    assert lens.texts[-1][0][0] == trace.top_predictions(1)[0][0].text
    # earlier rows read the residual stream through the final norm, so they differ from the output
    assert not np.allclose(lens.probs[0], lens.probs[-1])


def test_out_of_memory_is_a_clear_error_and_the_model_stays_usable(
    tiny_checkpoints: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    hooked = dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")
    cached = hooked.trace("cached text")
    forward = hooked.model.forward

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(hooked.model, "forward", out_of_memory)
    with pytest.raises(dv.TraceOutOfMemoryError, match="trace fewer layers or a shorter text"):
        hooked.trace(TEXT)
    monkeypatch.setattr(hooked.model, "forward", forward)
    assert hooked.trace("cached text") is not cached, "the cache was freed"
    assert len(hooked.trace(TEXT[:10]).tokens) > 1


def test_the_forward_unembeds_only_the_last_position(hooked: dv.HookedModel) -> None:
    rows: list[int] = []
    handle = hooked.arch.unembed.register_forward_hook(lambda _m, args, _o: rows.append(args[0].shape[-2]))
    try:
        hooked.trace(TEXT + " Unembedded once.", layers=[])
    finally:
        handle.remove()
    assert rows == [1]


def test_lens_and_predictions_read_in_bounded_chunks_for_what_is_asked(
    hooked: dv.HookedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = hooked.trace(TEXT)
    n = len(trace.tokens)
    full, predictions = trace.logit_lens(k=3), trace.top_predictions(2)
    assert full.layers == tuple(range(hooked.num_layers + 1)) and full.positions == tuple(range(n))
    rows: list[int] = []
    handle = hooked.arch.unembed.register_forward_hook(lambda _m, args, _o: rows.append(args[0].shape[0]))
    monkeypatch.setattr("deepseek_viz.model.trace.LOGITS_CHUNK_BYTES", 3 * 2 * 4 * hooked.vocab_size)
    try:
        chunked = trace.logit_lens(k=3)
        part = trace.logit_lens(k=3, layers=[1, -1], positions=[0, -2, 5])
        for got, expected in (
            (trace.top_predictions(2), predictions),
            (trace.top_predictions(2, [4]), predictions[4:5]),
        ):
            assert [[p.token_id for p in row] for row in got] == [
                [p.token_id for p in row] for row in expected
            ]
            np.testing.assert_allclose(
                [[p.prob for p in row] for row in got], [[p.prob for p in row] for row in expected], atol=1e-6
            )
    finally:
        handle.remove()
    assert max(rows) == 3, "three positions per step, never [n, vocab] at once"
    np.testing.assert_array_equal(chunked.token_ids, full.token_ids)
    np.testing.assert_allclose(chunked.probs, full.probs, atol=1e-6)
    assert part.layers == (1, hooked.num_layers) and part.positions == (0, n - 2, 5)
    np.testing.assert_array_equal(part.token_ids, full.token_ids[[1, -1]][:, [0, n - 2, 5]])
    np.testing.assert_allclose(part.probs, full.probs[[1, -1]][:, [0, n - 2, 5]], atol=1e-6)
    assert part.texts[1][2] == full.texts[-1][5]
    assert part.probs.dtype == np.float32
    with pytest.raises(dv.LayerOutOfRangeError):
        trace.logit_lens(layers=[hooked.num_layers + 1])
    with pytest.raises(IndexError, match="out of range"):
        trace.top_predictions(positions=[n])


@pytest.mark.parametrize("layer", [0, 1, 3])
def test_hidden_states_stop_the_forward_where_they_are_read(hooked: dv.HookedModel, layer: int) -> None:
    ids = [token.id for token in hooked.tokenize(TEXT)]
    ran: list[str] = []
    modules = {f"layer {i}": module for i, module in enumerate(hooked.arch.layers)}
    modules["unembed"] = hooked.arch.unembed
    handles = [
        module.register_forward_pre_hook(lambda *_, name=name: ran.append(name))
        for name, module in modules.items()
    ]
    try:
        (states,) = hooked.hidden_states([ids], layer)
    finally:
        for handle in handles:
            handle.remove()
    assert ran == [f"layer {i}" for i in range(layer)]
    np.testing.assert_allclose(states.numpy(), hooked.trace(TEXT).hidden_states[layer], atol=1e-5)
    with pytest.raises(dv.LayerOutOfRangeError):
        hooked.hidden_states([ids], hooked.num_layers + 1)
