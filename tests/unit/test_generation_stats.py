"""Reading a generated trace: lens agreement, expert change, where the answer starts."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import deepseek_viz as dv
from deepseek_viz.analysis.generation_stats import answer_start, expert_change, lens_agreement
from deepseek_viz.model import Token


@pytest.fixture(scope="module")
def generated() -> dv.Trace:
    return dv.load_model().generate("Fever may indicate", 16, min_new_tokens=16)


def test_lens_agreement_is_the_first_layer_whose_top_1_is_the_token(generated: dv.Trace) -> None:
    agreement = lens_agreement(generated)
    assert agreement.shape == (16,)
    lens = generated.logit_lens(1)
    for index, position in enumerate(range(generated.prompt_length, len(generated.tokens))):
        top = lens.token_ids[:, position - 1, 0]
        first = int(np.flatnonzero(top == generated.tokens[position].id)[0])
        assert agreement[index] == first
    assert agreement.max() <= generated.num_layers  # greedy: the output layer always agrees


def test_expert_change_counts_the_experts_the_token_before_did_not_use(generated: dv.Trace) -> None:
    change = expert_change(generated)
    assert change.shape == (16,) and np.all((change >= 0) & (change <= 1))
    position = generated.prompt_length
    shares = []
    for layer in generated.moe_layers:
        experts = generated.routing(layer).experts  # type: ignore[union-attr]
        shares.append(len(set(experts[position]) - set(experts[position - 1])) / experts.shape[1])
    assert change[0] == pytest.approx(np.mean(shares))


def test_answer_start_follows_the_closing_think_tag() -> None:
    prompt = "<｜User｜>Why?<｜Assistant｜><think>\n"
    pieces = ["Because", " light", " scatters.", "</", "think", ">\n\n", "Blue", "."]
    tokens, text = [Token(0, prompt, 0, len(prompt))], prompt
    for index, piece in enumerate(pieces, start=1):
        tokens.append(Token(index, piece, len(text), len(text) + len(piece)))
        text += piece
    trace = SimpleNamespace(completion=object(), prompt_length=1, tokens=tokens, text=text)
    assert answer_start(trace) == 7  # type: ignore[arg-type]  # "Blue"
    trace.tokens, trace.text = tokens[:5], text[: tokens[4].end]
    assert answer_start(trace) is None  # type: ignore[arg-type]  # "</think" not yet complete
    with pytest.raises(ValueError, match="not generated"):
        answer_start(SimpleNamespace(completion=None))  # type: ignore[arg-type]
