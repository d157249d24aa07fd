"""The real layer / head / expert counts of the models deepseek-viz follows, as transformers configs with
the widths shrunk (so tests stay fast), shared by the test fixtures (``tests/conftest.py`` re-exports
them) and ``benchmarks/scale.py``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    DeepseekV2Config,
    DeepseekV3Config,
    PretrainedConfig,
    Qwen2Config,
)

# The real layer / head / expert counts of the models we follow, widths shrunk so the suite stays fast.
_REAL_COMMON = dict(
    vocab_size=400,
    hidden_size=32,
    intermediate_size=32,
    max_position_embeddings=4096,
    bos_token_id=0,
    eos_token_id=1,
    pad_token_id=1,
)
REAL_COUNT_CONFIGS: dict[str, Callable[[], PretrainedConfig]] = {
    # DeepSeek-V3: 61 layers × 128 heads, MLA, 256 routed experts in 8 groups (4 used), top-8, 1 shared,
    # the first 3 layers dense
    "v3": lambda: DeepseekV3Config(
        **_REAL_COMMON,
        num_hidden_layers=61,
        num_attention_heads=128,
        num_key_value_heads=128,
        q_lora_rank=16,
        kv_lora_rank=16,
        qk_rope_head_dim=4,
        qk_nope_head_dim=4,
        v_head_dim=4,
        moe_intermediate_size=8,
        n_routed_experts=256,
        num_experts_per_tok=8,
        n_shared_experts=1,
        n_group=8,
        topk_group=4,
        first_k_dense_replace=3,
    ),
    # DeepSeek-V2-Lite: 27 layers × 16 heads, MLA without a query LoRA, 64 experts top-6, 2 shared,
    # the first layer dense, ungrouped (greedy) routing
    "v2_lite": lambda: DeepseekV2Config(
        **_REAL_COMMON,
        num_hidden_layers=27,
        num_attention_heads=16,
        num_key_value_heads=16,
        q_lora_rank=None,
        kv_lora_rank=16,
        qk_rope_head_dim=4,
        qk_nope_head_dim=4,
        v_head_dim=4,
        moe_intermediate_size=8,
        n_routed_experts=64,
        num_experts_per_tok=6,
        n_shared_experts=2,
        first_k_dense_replace=1,
        topk_method="greedy",
    ),
    # DeepSeek-R1-Distill-Qwen-1.5B: Qwen2, 28 layers × 12 heads, 2 KV heads (GQA)
    "distill_qwen": lambda: Qwen2Config(
        **{**_REAL_COMMON, "hidden_size": 48},
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
    ),
}


def save_real_count_checkpoint(shape: str, path: Path) -> Path:
    """The random model of ``REAL_COUNT_CONFIGS[shape]`` (seed 0, a non-zero V3 router correction bias)
    with the tests' tokenizer, saved to ``path`` with ``save_pretrained``; returns ``path``."""
    from tests.conftest import _randomise_router_bias, build_tokenizer  # here: conftest imports this module

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(REAL_COUNT_CONFIGS[shape]())
    with torch.no_grad():
        _randomise_router_bias(model)
    # in the model's own (fused-expert) layout: 967 tensors at V3 counts instead of 45,395 per-expert
    # ones, which transformers' loader takes ~10 s to merge on 2 cores
    model.save_pretrained(path, save_original_format=False)
    build_tokenizer().save_pretrained(path)
    return path
