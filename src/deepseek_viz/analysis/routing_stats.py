"""MoE routing statistics over a corpus: expert load, balance, co-activation and each expert's tokens.

Their figures are drawn in ``deepseek_viz.export.routing_figures``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..model import ModelInterface, Trace


@dataclass(frozen=True)
class RoutingStatistics:
    """Routing counted over every non-special token of a corpus.

    ``counts[i, e]``: tokens whose top-k in ``layers[i]`` included routed expert ``e``;
    ``weights[i, e]``: the sum of those tokens' gate weights for ``e``;
    ``coactivation[i, a, b]``: tokens routed to both ``a`` and ``b`` (diagonal = ``counts``);
    ``expert_tokens[i][e]``: how often each token string went to ``e``.
    """

    layers: tuple[int, ...]
    num_tokens: int
    counts: np.ndarray
    weights: np.ndarray
    coactivation: np.ndarray
    expert_tokens: list[list[Counter[str]]]

    @property
    def load(self) -> np.ndarray:
        """``[layer, expert]`` share of routed token-slots per expert (each row sums to 1)."""
        totals = self.counts.sum(axis=1, keepdims=True)
        return self.counts / np.maximum(totals, 1)

    def balance(self) -> dict[str, np.ndarray]:
        """Per layer: coefficient of variation of the load, max/mean load, and normalised entropy (1 = even)."""
        load = self.load
        num_experts = load.shape[1]
        safe = np.where(load > 0, load, 1.0)
        entropy = -(load * np.log(safe)).sum(axis=1) / np.log(num_experts)
        mean = load.mean(axis=1)
        return {
            "cv": load.std(axis=1) / mean,
            "max_over_mean": load.max(axis=1) / mean,
            "entropy": entropy,
        }

    def top_tokens(self, layer: int, expert: int, k: int = 10) -> list[tuple[str, int]]:
        """The ``k`` token strings most often routed to ``expert`` in ``layer``."""
        return self.expert_tokens[self.layers.index(layer)][expert].most_common(k)


def routing_statistics(model: ModelInterface, texts: Iterable[str] | Iterable[Trace]) -> RoutingStatistics:
    """Count the routing of ``model`` over ``texts`` (strings are traced without attention)."""
    layers = model.moe_layers
    num_experts = model.num_experts
    counts = np.zeros((len(layers), num_experts), dtype=np.int64)
    weights = np.zeros((len(layers), num_experts))
    coactivation = np.zeros((len(layers), num_experts, num_experts), dtype=np.int64)
    expert_tokens: list[list[Counter[str]]] = [[Counter() for _ in range(num_experts)] for _ in layers]
    num_tokens = 0
    for item in texts:
        trace = item if isinstance(item, Trace) else model.trace(item, layers=[], truncate=True)
        keep = np.array([not token.special for token in trace.tokens])
        strings = [token.text for token in trace.tokens if not token.special]
        num_tokens += int(keep.sum())
        for row, layer in enumerate(layers):
            routing = trace.routing(layer)
            if routing is None:
                continue
            experts, gate = routing.experts[keep], routing.weights[keep]
            np.add.at(counts[row], experts.ravel(), 1)
            np.add.at(weights[row], experts.ravel(), gate.ravel())
            chosen = np.zeros((len(experts), num_experts))
            np.put_along_axis(chosen, experts, 1.0, axis=1)
            coactivation[row] += (chosen.T @ chosen).astype(np.int64)
            for string, token_experts in zip(strings, experts, strict=True):
                for expert in token_experts:
                    expert_tokens[row][int(expert)][string] += 1
    return RoutingStatistics(layers, num_tokens, counts, weights, coactivation, expert_tokens)


def expert_counts(trace: Trace, layers: Iterable[int], num_experts: int) -> np.ndarray:
    """``[len(layers), num_experts]`` int64: the non-special tokens of ``trace`` whose top-k in each of
    ``layers`` included each routed expert (a layer without routing counts zeros). The cheap part of
    :func:`routing_statistics` (no co-activation, no token strings), for one text's load overview."""
    layers = list(layers)
    keep = np.array([not token.special for token in trace.tokens], dtype=bool)
    routings = [trace.routing(layer) for layer in layers]
    counts = np.zeros((len(layers), num_experts), dtype=np.int64)
    for row, routing in enumerate(routings):
        if routing is not None and keep.any():
            counts[row] = np.bincount(routing.experts[keep].ravel(), minlength=num_experts)
    return counts
