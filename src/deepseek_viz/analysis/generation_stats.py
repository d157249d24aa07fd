"""What a generated trace says about its completion: where each token's prediction formed in depth,
how its experts changed from one token to the next, and where R1's reasoning ends and the answer starts.

All read a trace of :meth:`~deepseek_viz.HookedModel.generate` (``trace.completion`` set).
"""

from __future__ import annotations

import numpy as np

from ..model import Trace

#: The tag that closes R1's reasoning section (opened by ``<think>`` at the start of its turn).
THINK_END = "</think>"


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


def expert_change(trace: Trace) -> np.ndarray:
    """For each generated token, the share of its routed experts that the token before it did not use,
    averaged over the MoE layers, float32 ``[m]`` (``0``: the same experts, ``1``: all new); empty for a
    dense model."""
    generated = _generated(trace)
    if not trace.moe_layers:
        return np.zeros(0, dtype=np.float32)
    shares = []
    for layer in trace.moe_layers:
        routing = trace.routing(layer)
        assert routing is not None
        experts = routing.experts
        for_layer = [
            1.0 - len(set(experts[p].tolist()) & set(experts[p - 1].tolist())) / experts.shape[1]
            for p in generated
        ]
        shares.append(for_layer)
    return np.asarray(shares, dtype=np.float32).mean(axis=0)


def answer_start(trace: Trace) -> int | None:
    """Index of the first token of the answer, after the token that completes ``</think>`` in the
    completion (R1's reasoning, opened by ``<think>`` in the chat template, comes before it); ``None``
    when the completion has no ``</think>`` (still reasoning, or no reasoning section)."""
    generated = _generated(trace)
    if not generated:
        return None
    start = trace.tokens[generated.start].start
    found = trace.text.find(THINK_END, start)
    if found < 0:
        return None
    closed = found + len(THINK_END)
    return next((p + 1 for p in generated if trace.tokens[p].end >= closed), len(trace.tokens))
