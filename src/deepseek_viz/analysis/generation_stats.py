"""What a generated trace says about its completion: where each token's prediction formed in depth,
how its experts changed from one token to the next, and where R1's reasoning ends and the answer starts.

All read a trace of :meth:`~deepseek_viz.HookedModel.generate` (``trace.completion`` set).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..model import Trace

#: The tags around R1's reasoning section (its chat template opens it at the start of the turn).
THINK_START, THINK_END = "<think>", "</think>"


def _generated(trace: Trace) -> range:
    if trace.completion is None:
        raise ValueError("this trace was not generated: make it with model.generate(...)")
    return range(trace.prompt_length, len(trace.tokens))


def lens_agreement(trace: Trace) -> np.ndarray:
    """For each generated token, the first hidden-state layer (``0`` the embeddings … ``num_layers`` the
    output) whose logit-lens top-1 at the position before it is that token, int ``[m]``;
    ``num_layers + 1`` where no layer ranks it first (a sampled token the model did not rank first).
    One chunked top-1 lens over the completion's positions (``Trace.logit_lens``)."""
    generated = _generated(trace)
    if not generated:
        return np.zeros(0, dtype=np.int64)
    lens = trace.logit_lens(1, positions=[position - 1 for position in generated])
    chosen = np.array([trace.tokens[position].id for position in generated])
    agrees = lens.token_ids[:, :, 0] == chosen[None, :]  # [layer, m]
    never = trace.num_layers + 1
    return np.where(agrees.any(axis=0), agrees.argmax(axis=0), never).astype(np.int64)


def expert_change(trace: Trace, by_layer: bool = False) -> np.ndarray | None:
    """For each generated token, the share of its routed experts that the token before it did not use
    (``0``: the same experts, ``1``: all new): float32 ``[m]`` averaged over the MoE layers, or
    ``[len(trace.moe_layers), m]`` per MoE layer with ``by_layer``; ``None`` for a dense model."""
    generated = _generated(trace)
    if not trace.moe_layers:
        return None
    shares = []
    for layer in trace.moe_layers:
        routing = trace.routing(layer)
        assert routing is not None
        experts = routing.experts
        shares.append([np.isin(experts[p], experts[p - 1], invert=True).mean() for p in generated])
    per_layer = np.asarray(shares, dtype=np.float32).reshape(len(trace.moe_layers), len(generated))
    return per_layer if by_layer else per_layer.mean(axis=0)


def answer_start(trace: Trace) -> int | None:
    """Index (in ``trace.tokens``) of the first token of the answer, after the one that completes
    ``</think>`` (R1's reasoning, opened by ``<think>`` in its chat template, comes before it); ``None``
    while the completion has no ``</think>`` (still reasoning, or no reasoning section)."""
    generated = _generated(trace)
    texts = [trace.tokens[p].text for p in generated]
    prompt = trace.text[: trace.tokens[generated.start].start] if generated else trace.text
    split = think_split(texts, prompt_opens_think(prompt))
    if split is None or THINK_END not in "".join(texts):
        return None
    return trace.prompt_length + split[1]


def think_split(texts: Sequence[str], opened: bool = False) -> tuple[int, int] | None:
    """The reasoning section of generated tokens whose texts are ``texts``: ``(start, end)``, the tokens
    ``start … end - 1`` from the one where ``<think>`` begins (or the first, when the prompt ``opened``
    it, as R1's chat template does) up to and including the one whose text completes ``</think>``
    (``end == len(texts)`` while it is still open). ``None`` when there is no reasoning section; the
    answer is the tokens from ``end`` on (and any before ``start``)."""
    joined = "".join(texts)
    ends = np.cumsum([len(text) for text in texts])  # one past each token's last character
    if opened:
        start, search = 0, 0
    else:
        at = joined.find(THINK_START)
        if at < 0:
            return None
        start, search = _token_at(ends, at), at + len(THINK_START)
    close = joined.find(THINK_END, search)
    end = len(texts) if close < 0 else _token_at(ends, close + len(THINK_END) - 1) + 1
    return start, end


def _token_at(ends: np.ndarray, character: int) -> int:
    """The token holding ``character`` of the joined texts (``ends``: one past each token's last)."""
    return int(np.searchsorted(ends, character, side="right"))


def prompt_opens_think(prompt: str) -> bool:
    """Whether ``prompt`` (as the model reads it, chat template applied) leaves a ``<think>`` open."""
    return prompt.rfind(THINK_START) > prompt.rfind(THINK_END)
