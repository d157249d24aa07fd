"""GenerationView: generation in a thread streamed to the browser in batches, Stop and re-Generate, errors as
status, the reasoning / answer split and the timeline rows computed from the final trace."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

import deepseek_viz as dv
from deepseek_viz.analysis.generation_stats import (
    expert_change,
    lens_agreement,
    prompt_opens_think,
    think_split,
)
from deepseek_viz.widgets.buffers import ArrayTrait, EncodedArray, decode
from tests.widgets.conftest import Serving

PROMPT = "Fever may indicate"
#: Long enough that a generation is still running when a test stops or replaces it.
LONG = 400


@pytest.fixture(scope="module")
def bundled(serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model())


@pytest.fixture(scope="module")
def tiny_moe(tiny_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu"))


def generated(view: dv.GenerationView, timeout: float = 120) -> dv.Trace:
    trace = view.wait(timeout)
    assert trace is not None, str(view.status)
    return trace


def stop_after_updates(view: dv.GenerationView, updates: int) -> list[int]:
    """Stop ``view``'s generation (from its own thread, at once) once it has sent ``updates`` updates;
    the token counts sent."""
    counts: list[int] = []

    def on_data(_change: Any) -> None:
        counts.append(len(view._tokens))
        if len(counts) == updates:
            view.stop()

    view.observe(on_data, "_data_id")
    return counts


def test_generate_streams_tokens_and_ends_with_the_trace(bundled: dv.HookedModel) -> None:
    view = dv.GenerationView(bundled, PROMPT, max_new_tokens=32)
    assert view.trace is None and not view.generating and view.stop_reason == ""
    counts: list[int] = []
    view.observe(lambda _change: counts.append(len(view._tokens)), "_data_id")
    view.generate()
    trace = generated(view)
    assert str(view.status) == "ready" and not view.generating
    completion = trace.completion
    assert completion is not None and view.stop_reason == completion.stop_reason
    m = len(trace.tokens) - trace.prompt_length
    assert m == len(completion.probs) > 0
    assert view._prompt_length == trace.prompt_length == len(bundled.tokenize(PROMPT))
    assert len(view._tokens) == len(trace.tokens)
    np.testing.assert_array_equal(decode(view._probs), completion.probs)
    np.testing.assert_array_equal(decode(view._entropies), completion.entropies)
    assert view._probs.dtype == "float32" and view._probs.shape == (m,)
    # tokens arrived while generating: updates with growing token counts before the last
    assert len(counts) >= 3 and counts == sorted(counts) and counts[0] < counts[-1] == len(trace.tokens)
    assert view._think == []  # no <think> in a plain completion
    # every array crosses as a binary buffer
    state, paths, buffers = _remove_buffers(view.get_state())
    json.dumps(state)
    sent = {tuple(path): bytes(buffer) for path, buffer in zip(paths, buffers, strict=True)}
    arrays = [name for name, trait in view.traits(sync=True).items() if isinstance(trait, ArrayTrait)]
    for name in arrays:
        value = getattr(view, name)
        if isinstance(value, EncodedArray):
            assert sent[(name, "buffer")] == value.data


def test_lens_agreement_row_equals_a_direct_computation(bundled: dv.HookedModel) -> None:
    view = dv.GenerationView(bundled, PROMPT, max_new_tokens=16, temperature=1.5, seed=3)
    view.generate()
    trace = generated(view)
    rows = decode(view._lens_layer)
    never = bundled.num_layers + 1
    expected = []
    for position in range(trace.prompt_length, len(trace.tokens)):
        token = trace.tokens[position].id
        first = never
        for layer in range(bundled.num_layers + 1):
            lens = trace.logit_lens(1, layers=[layer], positions=[position - 1])
            if int(lens.token_ids[0, 0, 0]) == token:
                first = layer
                break
        expected.append(first)
    assert rows.tolist() == expected
    assert never in expected or len(set(expected)) > 1  # sampled at 1.5: not every token agrees at once
    np.testing.assert_array_equal(lens_agreement(trace), rows)


def test_expert_change_rows_equal_a_direct_computation(tiny_moe: dv.HookedModel) -> None:
    view = dv.GenerationView(tiny_moe, PROMPT, max_new_tokens=6, temperature=1.0, seed=0)
    view.generate()
    trace = generated(view)
    shown = decode(view._expert_change)  # [MoE layer, generated token]
    expected = []
    for layer in tiny_moe.moe_layers:
        routing = trace.routing(layer)
        assert routing is not None
        row = []
        for position in range(trace.prompt_length, len(trace.tokens)):
            now, before = set(routing.experts[position].tolist()), set(routing.experts[position - 1].tolist())
            row.append(len(now - before) / len(now))
        expected.append(row)
    np.testing.assert_allclose(shown, expected, atol=1e-6)
    np.testing.assert_allclose(expert_change(trace), np.mean(expected, axis=0), atol=1e-6)  # type: ignore[arg-type]


def test_stop_mid_way_keeps_the_tokens(bundled: dv.HookedModel) -> None:
    view = dv.GenerationView(bundled, PROMPT, max_new_tokens=LONG)
    counts = stop_after_updates(view, 2)
    view.generate()
    trace = generated(view)
    assert view.stop_reason == "stopped" and str(view.status) == "ready"
    assert trace.completion is not None and trace.completion.stop_reason == "stopped"
    m = len(trace.tokens) - trace.prompt_length
    assert 0 < m < LONG and len(view._tokens) == len(trace.tokens) >= counts[1]
    assert decode(view._probs).shape == (m,)


def test_a_second_generate_while_running_cancels_the_first(bundled: dv.HookedModel) -> None:
    view = dv.GenerationView(bundled, PROMPT, max_new_tokens=LONG)
    started = threading.Event()
    view.observe(lambda _change: started.set(), "_data_id")
    view.generate()
    first = view._run
    assert first is not None and started.wait(120)
    view.prompt, view.max_new_tokens = "The cat sat", 8
    view.generate()
    trace = generated(view)
    assert first.cancel.is_set() and first.thread is not None and not first.running
    assert trace.text.startswith("The cat sat") and trace.completion is not None
    assert trace.completion.stop_reason in ("length", "eos")
    assert len(trace.tokens) - trace.prompt_length <= 8 and len(view._tokens) == len(trace.tokens)
    assert view.stop_reason == trace.completion.stop_reason


def test_errors_become_status_and_keep_what_was_shown(
    bundled: dv.HookedModel, tiny_moe: dv.HookedModel
) -> None:
    view = dv.GenerationView(bundled, PROMPT, max_new_tokens=4)
    view.generate()
    trace = generated(view)
    shown = list(view._tokens)
    view.prompt = ""
    view.generate()
    assert str(view.status) == "error: the prompt is empty: type something to continue."
    assert view._tokens == shown and view.trace is trace
    view.prompt = "word " * 5000
    view.generate()
    view.wait(120)
    assert view.status.failed and "tokens" in view.status.message and not view.generating
    assert view._tokens == shown
    plain = dv.GenerationView(tiny_moe, PROMPT, max_new_tokens=4, chat=True)
    plain.generate()
    assert plain.wait(120) is None
    assert plain.status.failed and "chat template" in plain.status.message
    with pytest.raises(traitlets.TraitError, match="at least 1"):
        view.max_new_tokens = 0
    with pytest.raises(traitlets.TraitError, match="out of range"):
        view.selected_token = 10_000
    with pytest.raises(TypeError, match="valid"):
        dv.GenerationView(bundled, PROMPT, max_tokens=3)  # type: ignore[call-arg]


def test_max_new_tokens_is_capped_by_the_limit(bundled: dv.HookedModel) -> None:
    view = dv.GenerationView(bundled, PROMPT, max_new_tokens=50, max_new_tokens_limit=5)
    assert view.max_new_tokens == 5
    view.max_new_tokens = 30
    assert view.max_new_tokens == 5
    view.generate()
    trace = generated(view)
    assert len(trace.tokens) - trace.prompt_length <= 5


def test_chat_prompt_shows_the_reasoning_section(bundled: dv.HookedModel) -> None:
    view = dv.GenerationView(bundled, "What is 2+2?", max_new_tokens=12, chat=True)
    updates: list[tuple[int, int, list[int]]] = []
    view.observe(
        lambda _change: updates.append((len(view._tokens), view._prompt_length, list(view._think))),
        "_data_id",
    )
    view.generate()
    trace = generated(view)
    assert trace.text.startswith("<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜><think>")
    m = len(trace.tokens) - trace.prompt_length
    # R1's template opens <think>: the completion is reasoning until a </think> closes it
    texts = [entry[0] for entry in view._tokens[trace.prompt_length :]]
    assert view._think == list(think_split(texts, opened=True))
    assert view._think[0] == 0 and view._think[1] <= m
    # while streaming, the prompt shown had the final trace's length (no doubled BOS)
    assert all(prompt == trace.prompt_length for _, prompt, _ in updates)
    assert updates[0][0] > trace.prompt_length


def test_the_selection_is_synced_and_bounded(bundled: dv.HookedModel) -> None:
    view = dv.GenerationView(bundled, PROMPT, max_new_tokens=4)
    view.generate()
    trace = generated(view)
    view.selected_token = len(trace.tokens) - 1
    assert view.selected_token == len(trace.tokens) - 1
    view.selected_token = -1


@pytest.mark.parametrize(
    ("texts", "opened", "expected"),
    [
        (["<", "think", ">", "hm", "</", "think>", " 4"], False, (0, 6)),
        (["hm", "</think>", "x"], True, (0, 2)),
        (["hm", "</thi", "nk>", "\n\n", "4"], True, (0, 3)),
        (["a", "b"], False, None),
        (["a", "b"], True, (0, 2)),  # still thinking: all of it so far
        ([" ", "<think>", "x"], False, (1, 3)),
        (["x</think>y", "z"], True, (0, 1)),
        ([], True, (0, 0)),
    ],
)
def test_think_split(texts: list[str], opened: bool, expected: tuple[int, int] | None) -> None:
    assert think_split(texts, opened) == expected


def test_prompt_opens_think() -> None:
    assert prompt_opens_think("<｜User｜>hi<｜Assistant｜><think>\n")
    assert not prompt_opens_think("plain prompt")
    assert not prompt_opens_think("<think>a</think> answer")


def test_continue_from_a_token_writes_on_from_its_tokens(bundled: dv.HookedModel) -> None:
    view = dv.GenerationView(bundled, PROMPT, max_new_tokens=12)
    with pytest.raises(ValueError, match="no token 3"):
        view.continue_from(3)  # nothing finished yet
    view.generate()
    first = generated(view)
    index = first.prompt_length + 2
    reply, _ = view._continue({"index": index}, [])
    assert "error" not in reply
    again = generated(view)
    assert again.prompt_length == index + 1 and view.prompt == first.text[: first.tokens[index].end]
    # greedy from the same tokens, read exactly as before: the same continuation
    ids, before = [token.id for token in again.tokens], [token.id for token in first.tokens]
    common = min(len(ids), len(before))
    assert common > index + 1 and ids[:common] == before[:common]
    assert [token.text for token in again.tokens[: index + 1]] == [
        token.text for token in first.tokens[: index + 1]
    ]
    reply, _ = view._continue({"index": 10_000}, [])
    assert "no token 10000" in reply["error"]


def test_a_generation_writes_under_the_interventions_in_force_when_it_starts(bundled: dv.HookedModel) -> None:
    state = dv.Interventions(bundled)
    plain = dv.GenerationView(bundled, PROMPT, max_new_tokens=8, interventions=state)
    plain.generate()
    original = generated(plain)
    state.add(
        *(dv.HeadAblation(layer, tuple(range(bundled.num_heads))) for layer in range(bundled.num_layers))
    )
    view = dv.GenerationView(bundled, PROMPT, max_new_tokens=8, interventions=state)
    view.generate()
    under = generated(view)
    assert under.interventions == state.items and original.interventions == ()
    with bundled.intervene(*state.items):
        by_hand = bundled.generate(PROMPT, 8)
    assert under.text == by_hand.text != original.text
    state.add(dv.ResidualPatch.from_trace(original, 1, [0]))
    view.generate()
    assert view.wait(60) is None or view.status.failed
    assert "not to generation" in str(view.status)
