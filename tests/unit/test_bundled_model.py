"""The small DeepSeek-V3-architecture model shipped as the default shows real structure."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import deepseek_viz as dv
from deepseek_viz.analysis.routing_stats import routing_statistics

TEXTS = [
    "Quarterly revenue rose 12% to $4.2 billion, beating analyst estimates.",
    "Fever may indicate flu, while chest pain can be a sign of a heart attack.",
    "A journey of a thousand miles begins with a single step.",
    "学而时习之，不亦说乎？有朋自远方来，不亦乐乎？",
]


@pytest.fixture(scope="module")
def bundled() -> dv.HookedModel:
    return dv.load_model(device="cpu")


def test_ships_small_deepseek_v3_architecture(bundled: dv.HookedModel) -> None:
    size = sum(path.stat().st_size for path in dv.BUNDLED_MODEL.iterdir())
    assert size < 25 * 2**20
    config = bundled.model.config
    assert bundled.family == "deepseek_v3"
    assert config.kv_lora_rank and config.q_lora_rank and config.qk_rope_head_dim  # MLA
    assert bundled.moe_layers == tuple(range(config.first_k_dense_replace, bundled.num_layers))
    assert bundled.arch.num_shared_experts >= 1 and bundled.arch.routing_group_size > 0
    assert bundled.tokenizer.is_fast


def test_training_figures_beat_the_unigram_baseline() -> None:
    metrics = json.loads((dv.BUNDLED_MODEL / "metrics.json").read_text())
    assert metrics["heldout_loss_nats"] < metrics["unigram_baseline_nats"] - 1.0


def test_has_a_previous_token_head(bundled: dv.HookedModel) -> None:
    best = 0.0
    for text in TEXTS:
        trace = bundled.trace(text)
        n = len(trace.tokens)
        for layer in range(bundled.num_layers):
            pattern = trace.attention(layer)
            previous = pattern[:, np.arange(2, n), np.arange(1, n - 1)].mean(axis=1)
            best = max(best, float(previous.max()))
    assert best > 0.5


def test_expert_load_is_uneven(bundled: dv.HookedModel) -> None:
    stats = routing_statistics(bundled, TEXTS)
    assert stats.balance()["max_over_mean"].max() > 1.5


def test_predicts_better_than_chance(bundled: dv.HookedModel) -> None:
    trace = bundled.trace(TEXTS[0])
    ids = torch.tensor([token.id for token in trace.tokens])
    log_probs = torch.log_softmax(trace.logits, dim=-1)[torch.arange(len(ids) - 1), ids[1:]]
    assert float(log_probs.mean()) > -np.log(bundled.model.config.vocab_size) + 2.0


def test_has_circuits_worth_finding(bundled: dv.HookedModel) -> None:
    """Notebook 08's premises: an induction head copies repeated words, and a fact hangs on one head."""
    words = ["harbor", "violet", "seven", "tiger", "copper", "lantern", "orbit", "velvet", "canyon", "maple"]
    first = " ".join(words)
    repeated = bundled.trace(f"{first}\n{first}", layers=range(bundled.num_layers))
    half = (len(repeated.tokens) - 2) // 2
    queries = np.arange(half + 2, 2 * half + 1)
    induction = max(float(repeated.attention(L)[:, queries, queries - half].mean(-1).max()) for L in range(4))
    assert induction > 0.3  # uniform attention would give about 1/20
    sweep = dv.head_ablation_sweep(bundled, "Globex is headquartered in", dv.Continuation(" Tokyo"))
    assert sweep.before > -1.0 and sweep.effects.min() < -2.0
