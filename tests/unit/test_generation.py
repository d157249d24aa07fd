"""Generation with capture: the tokens are transformers' own, the streamed capture equals one pass over
the final tokens, and stop / time limit / stop strings end it keeping what was produced."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import deepseek_viz as dv
from deepseek_viz.model.generation import R1_CHAT_TEMPLATE, GenerationStep
from tests.conftest import CONFIGS

PROMPT = "Fever may indicate"


@pytest.fixture(scope="module", params=list(CONFIGS))
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def hooked(family: str, tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    """DeepSeek-V3.2's sparse indexer keeps each query's top ``index_topk`` keys by ReLU scores, which on
    this random model tie at exactly 0; ``torch.topk`` breaks such ties differently for one query row
    than for the whole matrix, so with the indexer covering every key the comparison is exact (as in
    ``test_embeddings``)."""
    extra = {"index_topk": 64} if family == "deepseek_v32" else {}
    return dv.load_model(tiny_checkpoints[family], device="cpu", **extra)


@pytest.fixture(scope="module")
def bundled() -> dv.HookedModel:
    """The bundled model: trained, so it writes on (a random model may end at once with EOS)."""
    return dv.load_model()


def prompt_ids(trace: dv.Trace) -> torch.Tensor:
    return torch.tensor([[token.id for token in trace.tokens[: trace.prompt_length]]])


def ids_of(trace: dv.Trace) -> list[int]:
    return [token.id for token in trace.tokens]


def test_greedy_is_transformers_generate_token_for_token(hooked: dv.HookedModel) -> None:
    trace = hooked.generate(PROMPT, 12)
    expected = hooked.model.generate(prompt_ids(trace), max_new_tokens=12, do_sample=False)
    assert ids_of(trace) == expected[0].tolist()
    assert hooked.trace(trace.text, layers=[]) is trace  # views shown its text read the tokens as written
    at_least = hooked.generate(PROMPT, 12, min_new_tokens=12)
    assert len(at_least.tokens) == at_least.prompt_length + 12
    completion = trace.completion
    assert completion is not None and completion.prompt_length == len(hooked.tokenize(PROMPT))
    m = len(trace.tokens) - trace.prompt_length
    assert completion.probs.shape == completion.entropies.shape == (m,)
    # greedy: each token was the most probable, its probability the model's own softmax
    lens = trace.logit_lens(1, layers=[-1], positions=range(trace.prompt_length - 1, len(trace.tokens) - 1))
    np.testing.assert_array_equal(lens.token_ids[0, :, 0], ids_of(trace)[trace.prompt_length :])
    np.testing.assert_allclose(completion.probs, lens.probs[0, :, 0], atol=1e-5)
    assert completion.stop_reason in ("length", "eos")


@pytest.mark.parametrize("seed", [0, 7])
def test_sampling_with_a_seed_is_transformers_generate(hooked: dv.HookedModel, seed: int) -> None:
    options = {"temperature": 0.9, "top_k": 40, "top_p": 0.95}
    trace = hooked.generate(PROMPT, 10, seed=seed, **options)
    torch.manual_seed(seed)
    expected = hooked.model.generate(prompt_ids(trace), max_new_tokens=10, do_sample=True, **options)
    assert ids_of(trace) == expected[0].tolist()
    assert hooked.generate(PROMPT, 10, seed=seed, **options).text == trace.text  # the seed decides
    assert trace.completion is not None and np.all(
        (trace.completion.probs > 0) & (trace.completion.probs <= 1)
    )


def test_the_streamed_capture_equals_one_pass_over_the_final_tokens(hooked: dv.HookedModel) -> None:
    """With the KV cache on, each step's attention rows and routing equal those of the final trace."""
    steps: list[GenerationStep] = []
    layers = list(range(hooked.num_layers))
    trace = hooked.generate(PROMPT + " a", 8, layers=layers, on_step=steps.append)
    assert [step.position for step in steps] == list(range(trace.prompt_length, len(trace.tokens)))
    # a token ending inside a character has an empty span until the next one completes it
    assert [step.token.id for step in steps] == ids_of(trace)[trace.prompt_length :]
    for step in steps:
        read = slice(step.position - (trace.prompt_length if step is steps[0] else 1), step.position)
        assert step.text.startswith(trace.text[: step.token.start]) and trace.text.startswith(step.text)
        for layer in layers:
            rows = step.attention[layer].float().numpy()
            assert rows.shape == (hooked.num_heads, read.stop - read.start, step.position)
            np.testing.assert_allclose(rows, trace.attention(layer)[:, read, : step.position], atol=1e-5)
        for layer in hooked.moe_layers:
            routing, final = step.routing[layer], trace.routing(layer)
            assert final is not None
            np.testing.assert_array_equal(np.sort(routing.experts), np.sort(final.experts[read]))
            np.testing.assert_allclose(np.sort(routing.weights), np.sort(final.weights[read]), atol=1e-5)


def test_the_final_tokens_join_into_the_text(hooked: dv.HookedModel) -> None:
    trace = hooked.generate("你好，世界 🙂", 12)
    for token in trace.tokens:
        if not token.special:
            assert trace.text[token.start : token.end] == token.text
    assert trace.text.startswith("你好，世界 🙂")


def test_stop_keeps_what_was_produced(bundled: dv.HookedModel) -> None:
    stop = threading.Event()
    seen: list[GenerationStep] = []

    def on_step(step: GenerationStep) -> None:
        seen.append(step)
        if len(seen) == 3:
            stop.set()

    trace = bundled.generate(PROMPT, 40, on_step=on_step, stop_event=stop)
    assert trace.completion is not None and trace.completion.stop_reason == "stopped"
    # set between steps, the stop ends decoding after the token then being made
    assert len(trace.tokens) - trace.prompt_length == len(seen) == 4
    assert bundled.trace(PROMPT).tokens  # the model is usable


def test_a_stop_string_ends_the_completion(bundled: dv.HookedModel) -> None:
    model = bundled
    free = model.generate(PROMPT, 12)
    third = free.tokens[free.prompt_length + 2]
    stop = free.text[: third.end][-4:]
    trace = model.generate(PROMPT, 12, stop=[stop, "never written"])
    assert trace.completion is not None and trace.completion.stop_reason == "stop string"
    assert trace.text.endswith(stop) and len(trace.tokens) <= free.prompt_length + 3


def test_the_time_limit_stops_a_generation(bundled: dv.HookedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    original = bundled._check_deadline

    def slow(module: torch.nn.Module, inputs: object) -> None:
        time.sleep(0.01)
        original(module, inputs)

    monkeypatch.setattr(bundled, "_check_deadline", slow)
    with bundled.time_limit(0.2):
        trace = bundled.generate(PROMPT, 500)
    assert trace.completion is not None and trace.completion.stop_reason == "time limit"
    assert 0 < len(trace.tokens) - trace.prompt_length < 500
    assert bundled.trace(PROMPT + " again").tokens


def test_stream_yields_while_generating_and_stops(bundled: dv.HookedModel) -> None:
    generation = bundled.stream(PROMPT, 200)
    positions = []
    for step in generation:
        positions.append(step.position)
        if len(positions) == 2:
            generation.stop()
    trace = generation.wait(30)
    assert trace.completion is not None and trace.completion.stop_reason == "stopped"
    assert len(trace.tokens) == positions[-1] + 1 and len(positions) <= 4
    with pytest.raises(TypeError, match="on_step"):
        bundled.stream(PROMPT, 4, on_step=print)


def test_a_failed_stream_raises_where_it_is_read(hooked: dv.HookedModel) -> None:
    generation = hooked.stream(PROMPT, 4, layers=[99])
    with pytest.raises(dv.LayerOutOfRangeError):
        list(generation)
    with pytest.raises(dv.LayerOutOfRangeError):
        generation.wait(5)


def test_chat_applies_the_template(hooked: dv.HookedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(dv.UnsupportedModelError, match="chat template"):
        hooked.generate("Hi", 2, chat=True)
    monkeypatch.setattr(hooked.tokenizer, "chat_template", R1_CHAT_TEMPLATE, raising=False)
    trace = hooked.generate("Why is the sky blue?", 4, chat=True)
    assert trace.text.startswith(
        "<｜begin▁of▁sentence｜><｜User｜>Why is the sky blue?<｜Assistant｜><think>\n"
    )
    assert trace.tokens[0].id == hooked.tokenizer.bos_token_id
    assert (
        sum(token.id == hooked.tokenizer.bos_token_id for token in trace.tokens[: trace.prompt_length]) == 1
    )


def test_bounds(hooked: dv.HookedModel) -> None:
    with pytest.raises(ValueError, match="max_new_tokens"):
        hooked.generate(PROMPT, 0)
    with pytest.raises(ValueError, match="temperature"):
        hooked.generate(PROMPT, 2, temperature=-1)
    n = len(hooked.tokenize(PROMPT))
    capped = dv.HookedModel(hooked.model, hooked.tokenizer, max_tokens=n + 2)
    trace = capped.generate(PROMPT, 50)
    assert len(trace.tokens) <= n + 2  # max_tokens bounds prompt + completion
    with pytest.raises(dv.TextTooLongError):
        dv.HookedModel(hooked.model, hooked.tokenizer, max_tokens=n).generate(PROMPT, 5)


def test_the_bundled_tokenizer_has_the_r1_chat_template(bundled: dv.HookedModel) -> None:
    model = bundled
    assert model.tokenizer.chat_template == R1_CHAT_TEMPLATE
    trace = model.generate("Why is the sky blue?", 3, chat=True)
    assert "<think>" in trace.text[: trace.tokens[trace.prompt_length].start]
