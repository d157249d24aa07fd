"""Routing statistics over a corpus agree with the traces they count."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import deepseek_viz as dv
from deepseek_viz.analysis.routing_stats import routing_statistics

TEXTS = ["Fever may indicate flu.", "Quarterly revenue rose 12%.", "你好，世界 🙂"]


def test_counts_match_traces(tiny_checkpoints: dict[str, Path]) -> None:
    model = dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")
    stats = routing_statistics(model, TEXTS)
    traces = [model.trace(text, layers=[], truncate=True) for text in TEXTS]
    body = sum(len([t for t in trace.tokens if not t.special]) for trace in traces)
    assert stats.layers == (1, 2) and stats.num_tokens == body
    assert np.all(stats.counts.sum(axis=1) == body * 2)  # two routed experts per token
    np.testing.assert_allclose(stats.load.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.diagonal(stats.coactivation, axis1=1, axis2=2), stats.counts)
    first = traces[0].routing(1)
    assert first is not None
    expert = int(first.experts[1, 0])  # the first non-special token's top expert
    assert stats.top_tokens(1, expert, k=50)  # that expert saw tokens
    assert dict(stats.top_tokens(1, expert, k=50)).get(traces[0].tokens[1].text, 0) >= 1
    balance = stats.balance()
    assert balance["cv"].shape == (2,) and np.all((balance["entropy"] > 0) & (balance["entropy"] <= 1 + 1e-9))
    assert dv.expert_load_figure(stats).data[0].z.shape == (2, 8)
    assert dv.coactivation_figure(stats, 2).data[0].z.shape == (8, 8)


def test_dense_model_has_no_routing(tiny_checkpoints: dict[str, Path]) -> None:
    model = dv.load_model(tiny_checkpoints["llama"], device="cpu")
    stats = routing_statistics(model, TEXTS)
    assert stats.layers == () and stats.counts.shape == (0, 0)
