"""Where things live inside a supported causal LM: decoder layers, attention, MoE routers, readout.

One reader serves every family we follow: DeepSeek-V2, -V3 and -V3.2 (MLA attention, MoE blocks whose
``mlp.gate`` is the top-k router) and the Llama- and Qwen2-based DeepSeek distills (dense).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from .errors import UnsupportedModelError

#: model_type values that the tests cover; others with the same layout are accepted with a warning.
FAMILIES = ("deepseek_v2", "deepseek_v3", "deepseek_v32", "llama", "qwen2")


@dataclass(frozen=True)
class Architecture:
    """The parts of a model that tracing reads."""

    family: str
    layers: list[nn.Module]
    attention: list[nn.Module]  # blocks.{L}.attn
    routers: dict[int, nn.Module]  # blocks.{L}.mlp.gate, MoE layers only
    final_norm: nn.Module
    unembed: nn.Module
    num_heads: int
    query_width: int  # width of one head's queries and keys (MLA: nope + rope dims)
    rope_width: int  # dims of a query that carry the rotary position (MLA: the rope dims only)
    num_routed_experts: int
    num_shared_experts: int
    experts_per_token: int
    routing_group_size: int  # experts per group under group-limited routing, 0 when ungrouped


def _config_int(config: Any, *names: str) -> int:
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return 0


def read_architecture(model: nn.Module) -> Architecture:
    """Locate the parts of ``model`` (a ``*ForCausalLM``) that tracing needs."""
    config = getattr(model, "config", None)
    backbone = getattr(model, "model", None)
    layers = getattr(backbone, "layers", None)
    norm = getattr(backbone, "norm", None)
    get_unembed = getattr(model, "get_output_embeddings", None)
    unembed = get_unembed() if callable(get_unembed) else None
    if config is None or layers is None or norm is None or unembed is None:
        raise UnsupportedModelError(
            f"{type(model).__name__} is not a decoder-only causal LM with model.layers, model.norm and an "
            f"output embedding; supported families: {', '.join(FAMILIES)}."
        )
    layers = list(layers)
    attention = [getattr(layer, "self_attn", None) for layer in layers]
    if any(module is None for module in attention):
        raise UnsupportedModelError(f"{type(model).__name__}: decoder layers have no self_attn module.")
    routers = {
        index: layer.mlp.gate
        for index, layer in enumerate(layers)
        if isinstance(getattr(getattr(layer, "mlp", None), "gate", None), nn.Module)
        and hasattr(layer.mlp, "experts")
    }
    num_experts = _config_int(config, "n_routed_experts", "num_local_experts", "num_experts")
    num_groups = _config_int(config, "n_group")
    head_width = _config_int(config, "hidden_size") // max(_config_int(config, "num_attention_heads"), 1)
    grouped = num_groups > 1 and getattr(config, "topk_method", "group_limited") != "greedy"
    return Architecture(
        family=str(getattr(config, "model_type", "unknown")),
        layers=layers,
        attention=attention,  # type: ignore[arg-type]
        routers=routers,
        final_norm=norm,
        unembed=unembed,
        num_heads=_config_int(config, "num_attention_heads"),
        query_width=_config_int(config, "qk_head_dim", "head_dim") or head_width,
        rope_width=_config_int(config, "qk_rope_head_dim", "head_dim") or head_width,
        num_routed_experts=num_experts,
        num_shared_experts=_config_int(config, "n_shared_experts"),
        experts_per_token=_config_int(config, "num_experts_per_tok"),
        routing_group_size=num_experts // num_groups if grouped and routers else 0,
    )
