"""A planted case: a one-layer Llama whose label logit depends on one token only; every method must find it.

Construction (hidden size 32): every embedding has 0 in dimension 0 and the same norm, except the
planted token, which carries +4 there. Queries and keys are zero (uniform causal attention), the value
and output projections copy dimension 0 and nothing else, the MLP writes nothing, and the readout has
one non-zero row (the label's) reading dimension 0. A huge RMSNorm epsilon makes the norms almost
linear (otherwise input × gradient of a normalised input is ~0 by Euler's theorem). So the label's
logit is ~c · [planted token present], the other tokens have exactly no effect, and masking (by the
pad embedding, norm-matched) removes only what the planted token adds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

import deepseek_viz as dv
from deepseek_viz.analysis.attribution import METHODS, NextToken, Target, Verbalizer, explain
from tests.conftest import build_tokenizer

TEXT = "Fever may indicate flu; chest pain can be a sign."
PLANTED, LABEL, OTHER = " flu", " pain", " rose"


@pytest.fixture(scope="module")
def planted() -> tuple[dv.HookedModel, int, int]:
    tokenizer = build_tokenizer()
    planted_id, label_id = (tokenizer(w, add_special_tokens=False)["input_ids"][0] for w in (PLANTED, LABEL))
    ids = tokenizer(TEXT)["input_ids"]
    assert ids.count(planted_id) == 1 and 2 < ids.index(planted_id) < len(ids) - 2  # mid-sentence
    config = LlamaConfig(
        vocab_size=400, hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e4, tie_word_embeddings=False,
        bos_token_id=0, eos_token_id=1, pad_token_id=1,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        embeddings = torch.randn(400, 32)
        embeddings[:, 0] = 0.0
        embeddings *= 32**0.5 / embeddings.norm(dim=1, keepdim=True)
        embeddings[planted_id, 0] = 4.0
        model.model.embed_tokens.weight.copy_(embeddings)
        layer = model.model.layers[0]
        attention = layer.self_attn
        for linear in (
            attention.q_proj,
            attention.k_proj,
            attention.v_proj,
            attention.o_proj,
            layer.mlp.down_proj,
        ):
            linear.weight.zero_()
        attention.v_proj.weight[0, 0] = 1.0  # kv head 0, dim 0 ← residual dim 0
        attention.o_proj.weight[0, 0] = 1.0  # residual dim 0 ← head 0, dim 0
        layer.input_layernorm.weight.fill_(100.0)  # ≈ identity, given eps = 1e4
        model.model.norm.weight.fill_(100.0)
        model.lm_head.weight.zero_()
        model.lm_head.weight[label_id, 0] = 10.0
    return dv.HookedModel(model, tokenizer), planted_id, label_id


@pytest.mark.parametrize("kind", ["next_token", "verbalizer"])
def test_every_method_ranks_the_planted_token_first(
    planted: tuple[dv.HookedModel, int, int], kind: str
) -> None:
    hooked, planted_id, label_id = planted
    target: Target = (
        NextToken(label_id) if kind == "next_token" else Verbalizer("{text} so", (LABEL, OTHER), label=LABEL)
    )
    result = explain(hooked, TEXT, target, lime_samples=150, ig_steps=16, batch_size=64, cache=False)
    index = [t.id for t in result.tokens].index(planted_id)
    assert result.value - result.baseline_value > 1.0, "the planted token carries a large effect"
    for method in METHODS:
        scores = result.scores[method]
        assert result.ranking(method)[0] == index, (method, scores)
        others = np.delete(scores, index)
        assert scores[index] > 5 * np.abs(others).max(), (method, scores)
        curve = result.faithfulness.deletion[method]
        reference = result.faithfulness.random_deletion
        assert reference is not None and curve.normalized_auc < reference.normalized_auc
    assert result.faithfulness.ig_completeness is not None and result.faithfulness.ig_completeness.ok(
        rtol=0.01
    )
