"""ModelStructure: the parts of every family read from the modules (counts add up to the model's), the
MLA / GQA / MoE facts of the tiny fixtures and of DeepSeek-V3's and V2-Lite's real counts, devices of a
model loaded with a device map, and a JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig

import deepseek_viz as dv
from deepseek_viz.model.structure import ModelStructure
from tests.conftest import _COMMON, CONFIGS, MOE_FAMILIES, REAL_COUNT_CONFIGS, build_tokenizer
from tests.unit.test_sharded_loading import _device_map

MOE_KIND = "MLA + MoE 8 experts, 4 groups (2 a token), top-2, 1 shared"


def unique_parameters(model: torch.nn.Module) -> int:
    return sum({id(p): p.numel() for p in model.parameters()}.values())


def check_counts(hooked: dv.HookedModel, structure: ModelStructure) -> None:
    """The parts add up to every distinct weight of the model; a layer's attention and MLP fit in it."""
    assert structure.parameters == unique_parameters(hooked.model) > 0
    assert sum(part.parameters for part in structure.parts().values()) == structure.parameters
    for layer in structure.layers:
        assert 0 < layer.attention.part.parameters + layer.mlp.part.parameters < layer.part.parameters
        mlp = layer.mlp
        if mlp.kind == "MoE":
            assert (
                mlp.router_parameters + mlp.routed_parameters + mlp.shared_parameters == mlp.part.parameters
            )


@pytest.fixture(scope="module")
def structures(tiny_checkpoints: dict[str, Path]) -> dict[str, tuple[dv.HookedModel, ModelStructure]]:
    found = {}
    for family in CONFIGS:
        hooked = dv.load_model(tiny_checkpoints[family], device="cpu")
        found[family] = (hooked, hooked.structure())
    return found


@pytest.mark.parametrize("family", list(CONFIGS))
def test_each_family_s_parts_add_up_and_survive_json(
    family: str, structures: dict[str, tuple[dv.HookedModel, ModelStructure]]
) -> None:
    hooked, structure = structures[family]
    check_counts(hooked, structure)
    assert structure.family == family and len(structure.layers) == hooked.num_layers == 3
    assert (structure.d_model, structure.vocab_size) == (32, 400)
    assert structure.embedding.parameters == 400 * 32 and structure.final_norm.parameters == 32
    assert not structure.tied_embeddings and structure.lm_head.parameters == 400 * 32
    assert structure.embedding.dtypes == ("float32",) and structure.embedding.devices == ("cpu",)
    assert ModelStructure.from_dict(json.loads(json.dumps(structure.to_dict()))) == structure


@pytest.mark.parametrize("family", MOE_FAMILIES)
def test_deepseek_families_are_mla_with_moe_after_the_first_dense_layer(
    family: str, structures: dict[str, tuple[dv.HookedModel, ModelStructure]]
) -> None:
    hooked, structure = structures[family]
    for layer in structure.layers:
        attention = layer.attention
        assert (attention.kind, attention.heads, attention.kv_lora_rank) == ("MLA", 4, 16)
        assert (attention.qk_nope_head_dim, attention.qk_rope_head_dim, attention.head_dim) == (8, 8, 16)
        assert attention.v_head_dim == 12
        assert attention.q_lora_rank == (0 if family == "deepseek_v2" else 16)  # V2's fixture: no q LoRA
        assert attention.index_topk == (6 if family == "deepseek_v32" else 0)  # V3.2's sparse indexer
    dense, *moe = structure.layers
    assert (dense.mlp.kind, dense.mlp.intermediate_size) == ("dense", 48)
    assert tuple(layer.index for layer in moe) == hooked.moe_layers == (1, 2)
    for layer in moe:
        mlp = layer.mlp
        assert (mlp.routed_experts, mlp.groups, mlp.topk_group, mlp.top_k) == (8, 4, 2, 2)
        assert (mlp.shared_experts, mlp.expert_width) == (1, 16)
        assert mlp.routed_parameters == 8 * 3 * 32 * 16  # gate, up and down of each routed expert
        assert mlp.router_parameters == 8 * 32
    assert structure.runs() == [(0, 0, "MLA + dense 48"), (1, 2, MOE_KIND)]


@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_the_distills_are_gqa_and_dense(
    family: str, structures: dict[str, tuple[dv.HookedModel, ModelStructure]]
) -> None:
    _, structure = structures[family]
    attention = structure.layers[0].attention
    assert (attention.kind, attention.heads, attention.kv_heads, attention.head_dim) == ("GQA", 4, 2, 8)
    assert attention.kv_lora_rank == attention.q_lora_rank == 0
    # q, k, v, o projections (Qwen2 adds q/k/v biases)
    weights = 32 * 32 + 2 * 32 * 16 + 32 * 32
    assert attention.part.parameters == weights + (32 + 16 + 16) * (family == "qwen2")
    assert structure.runs() == [(0, 2, "GQA + dense 48")]


def real_count(shape: str) -> tuple[dv.HookedModel, ModelStructure]:
    torch.manual_seed(0)
    hooked = dv.HookedModel(AutoModelForCausalLM.from_config(REAL_COUNT_CONFIGS[shape]()), build_tokenizer())
    return hooked, hooked.structure()


def test_deepseek_v3_counts_group_into_three_dense_and_58_moe_layers() -> None:
    hooked, structure = real_count("v3")
    check_counts(hooked, structure)
    assert len(structure.layers) == 61 and structure.layers[0].attention.heads == 128
    assert structure.runs() == [
        (0, 2, "MLA + dense 32"),
        (3, 60, "MLA + MoE 256 experts, 8 groups (4 a token), top-8, 1 shared"),
    ]
    mlp = structure.layers[60].mlp
    assert (mlp.routed_experts, mlp.groups, mlp.topk_group, mlp.top_k, mlp.shared_experts) == (
        256,
        8,
        4,
        8,
        1,
    )
    assert len(json.dumps(structure.to_dict())) < 100_000  # small enough to sync as JSON


def test_deepseek_v2_lite_has_no_q_lora_and_ungrouped_routing() -> None:
    hooked, structure = real_count("v2_lite")
    check_counts(hooked, structure)
    attention, mlp = structure.layers[5].attention, structure.layers[5].mlp
    assert (attention.kind, attention.heads, attention.q_lora_rank, attention.kv_lora_rank) == (
        "MLA",
        16,
        0,
        16,
    )
    assert (mlp.routed_experts, mlp.groups, mlp.topk_group, mlp.top_k, mlp.shared_experts) == (64, 1, 1, 6, 2)
    assert structure.runs() == [(0, 0, "MLA + dense 32"), (1, 26, "MLA + MoE 64 experts, top-6, 2 shared")]


def test_tied_embeddings_count_once() -> None:
    model = AutoModelForCausalLM.from_config(
        LlamaConfig(**{**_COMMON, "tie_word_embeddings": True}, num_key_value_heads=2)
    )
    hooked = dv.HookedModel(model, build_tokenizer())
    structure = hooked.structure()
    assert structure.tied_embeddings and structure.lm_head.parameters == 0
    assert structure.lm_head.devices == ("cpu",)
    check_counts(hooked, structure)


def test_a_device_map_shows_each_layer_s_device(tiny_checkpoints: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("accelerate")
    device_map = _device_map(offloaded=(2,))
    sharded = dv.load_model(tiny_checkpoints["deepseek_v3"], device_map=device_map, offload_folder=tmp_path)
    structure = sharded.structure()
    assert [layer.part.devices for layer in structure.layers] == [("cpu",), ("cpu",), ("disk",)]
    assert structure.layers[2].attention.part.devices == structure.layers[2].mlp.part.devices == ("disk",)
    assert structure.embedding.devices == structure.lm_head.devices == ("cpu",)
    check_counts(sharded, structure)  # offloaded weights (on the meta device) are counted too
    # the disk layer is a group of its own although it is of the same kind as layer 1
    assert structure.runs() == [(0, 0, "MLA + dense 48"), (1, 1, MOE_KIND), (2, 2, MOE_KIND)]
