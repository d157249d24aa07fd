"""Shared fixtures: tiny random checkpoints of every family, saved and loaded back from disk."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    DeepseekV2Config,
    DeepseekV3Config,
    DeepseekV32Config,
    LlamaConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

from tests.real_counts import REAL_COUNT_CONFIGS, save_real_count_checkpoint

__all__ = ["CONFIGS", "MOE_FAMILIES", "REAL_COUNT_CONFIGS", "build_tokenizer", "save_real_count_checkpoint"]

SAMPLE_TEXT = [
    "Quarterly revenue rose 12% to $4.2 billion, beating estimates.",
    "Fever may indicate flu; chest pain can be a sign of a heart attack.",
    "你好，世界！今天天气很好。 🙂 emoji and <b>HTML</b> & ‮bidi‬ text",
] * 20

BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"


def build_tokenizer(vocab_size: int = 400) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer like DeepSeek's (BOS prepended, offsets kept), trained in milliseconds."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(SAMPLE_TEXT, trainer)
    tokenizer.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{BOS} $A", special_tokens=[(BOS, 0)]),
        ]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS, pad_token=EOS)


_MLA = dict(q_lora_rank=16, kv_lora_rank=16, qk_rope_head_dim=8, qk_nope_head_dim=8, v_head_dim=12)
_MOE = dict(
    moe_intermediate_size=16,
    n_routed_experts=8,
    num_experts_per_tok=2,
    n_shared_experts=1,
    first_k_dense_replace=1,
)
_COMMON = dict(
    vocab_size=400,
    hidden_size=32,
    intermediate_size=48,
    num_hidden_layers=3,
    num_attention_heads=4,
    max_position_embeddings=256,
    bos_token_id=0,
    eos_token_id=1,
    pad_token_id=1,
)

CONFIGS = {
    "deepseek_v3": lambda: DeepseekV3Config(
        **_COMMON, **_MLA, **_MOE, num_key_value_heads=4, n_group=4, topk_group=2
    ),
    "deepseek_v2": lambda: DeepseekV2Config(
        **_COMMON,
        **{**_MLA, "q_lora_rank": None},
        **_MOE,
        num_key_value_heads=4,
        topk_method="group_limited_greedy",
        n_group=4,
        topk_group=2,
    ),
    # index_topk < sequence length, so the sparse indexer really drops keys
    "deepseek_v32": lambda: DeepseekV32Config(
        **_COMMON,
        **_MLA,
        **_MOE,
        num_key_value_heads=4,
        n_group=4,
        topk_group=2,
        index_topk=6,
        index_head_dim=16,
        index_n_heads=2,
    ),
    "llama": lambda: LlamaConfig(**_COMMON, num_key_value_heads=2),
    "qwen2": lambda: Qwen2Config(**_COMMON, num_key_value_heads=2),
}
MOE_FAMILIES = ("deepseek_v3", "deepseek_v2", "deepseek_v32")


def _randomise_router_bias(model: torch.nn.Module) -> None:
    """Give DeepSeek-V3 routers a non-zero correction bias, so tests see that routing honours it."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        bias = getattr(module, "e_score_correction_bias", None)
        if isinstance(bias, torch.Tensor):
            bias.copy_(torch.rand(bias.shape, generator=generator) * 0.5)


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each family's tiny random model saved with ``save_pretrained`` (the real loading path reads it)."""
    root = tmp_path_factory.mktemp("checkpoints")
    tokenizer = build_tokenizer()
    paths = {}
    for family, make_config in CONFIGS.items():
        torch.manual_seed(0)
        config = make_config()
        model = AutoModelForCausalLM.from_config(config)
        with torch.no_grad():
            _randomise_router_bias(model)
        path = root / family
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
        assert AutoConfig.from_pretrained(path).model_type == family
        paths[family] = path
    return paths


@pytest.fixture(scope="session")
def real_count_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random models with the real layer / head / expert counts of DeepSeek-V3, V2-Lite and the
    R1-Distill-Qwen-1.5B shape (widths shrunk), saved with ``save_pretrained``."""
    root = tmp_path_factory.mktemp("real-counts")
    return {shape: save_real_count_checkpoint(shape, root / shape) for shape in REAL_COUNT_CONFIGS}
