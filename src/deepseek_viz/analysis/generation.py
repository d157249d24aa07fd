"""What a generated trace says about each generated token: where the logit lens first agrees with it,
how much its routed experts changed from the token before, and where its reasoning (``<think>`` …
``</think>``) ends. Data only (numpy arrays, ints); :class:`~deepseek_viz.widgets.GenerationView` shows it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..model import Trace

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def generated_positions(trace: Trace) -> range:
    """The positions of the generated tokens of ``trace`` (empty for a traced text)."""
    return range(trace.prompt_length, len(trace.tokens))


def lens_agreement(trace: Trace) -> np.ndarray:
    """For each generated token (at position ``p``), the first hidden-state layer (``0`` embeddings …
    ``num_layers``) whose logit-lens top-1 at ``p - 1`` is that token; ``-1`` where none is (a sampled
    token the model did not rank first). int64 ``[m]``, from one :meth:`Trace.logit_lens` call over the
    generated positions."""
    positions = generated_positions(trace)
    if not positions:
        return np.zeros(0, dtype=np.int64)
    lens = trace.logit_lens(1, positions=[p - 1 for p in positions])
    ids = np.array([trace.tokens[p].id for p in positions])
    agrees = lens.token_ids[:, :, 0] == ids[None, :]  # [layer, m]
    first = agrees.argmax(axis=0)
    return np.where(agrees.any(axis=0), np.asarray(lens.layers)[first], -1).astype(np.int64)


def expert_change(trace: Trace) -> np.ndarray | None:
    """For each generated token, the fraction of its routed experts that the token before it did not
    use, averaged over the MoE layers (float32 ``[m]`` in ``[0, 1]``); ``None`` for a dense model."""
    layers = trace.moe_layers
    if not layers:
        return None
    positions = np.asarray(generated_positions(trace))
    change = np.zeros(len(positions), dtype=np.float64)
    for layer in layers:
        routing = trace.routing(layer)
        assert routing is not None
        experts = np.asarray(routing.experts)
        for column, position in enumerate(positions):
            now, before = experts[position], experts[position - 1]
            change[column] += np.isin(now, before, invert=True).mean()
    return (change / len(layers)).astype(np.float32)


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
        at = joined.find(THINK_OPEN)
        if at < 0:
            return None
        start, search = _token_at(ends, at), at + len(THINK_OPEN)
    close = joined.find(THINK_CLOSE, search)
    end = len(texts) if close < 0 else _token_at(ends, close + len(THINK_CLOSE) - 1) + 1
    return start, end


def _token_at(ends: np.ndarray, character: int) -> int:
    """The token holding ``character`` of the joined texts (``ends``: one past each token's last)."""
    return int(np.searchsorted(ends, character, side="right"))


def prompt_opens_think(prompt: str) -> bool:
    """Whether ``prompt`` (as the model reads it, chat template applied) leaves a ``<think>`` open."""
    return prompt.rfind(THINK_OPEN) > prompt.rfind(THINK_CLOSE)
