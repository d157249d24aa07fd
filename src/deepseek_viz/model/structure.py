"""A model's structure as plain data: embedding, each decoder layer's attention and MLP, final norm, LM
head, with the parameters, dtypes and devices of each part counted from the modules themselves.

:func:`read_structure` builds a :class:`ModelStructure` from a loaded model and its
:class:`~deepseek_viz.model.architecture.Architecture`; :meth:`ModelStructure.to_dict` /
:meth:`ModelStructure.from_dict` turn it into JSON-able dicts and back (a model service sends it that
way; the ``ArchitectureView`` syncs it). Nothing here holds a module: only ints, strings and tuples.

Attention kinds: ``"MLA"`` (DeepSeek's multi-head latent attention: ``q_lora_rank`` — 0 when queries
are projected directly, as in V2-Lite —, ``kv_lora_rank``, ``qk_nope_head_dim`` + ``qk_rope_head_dim``
= ``head_dim``, ``v_head_dim``; V3.2's sparse indexer as ``index_topk`` > 0), ``"GQA"`` (fewer key/value
heads than query heads) or ``"MHA"``. MLP kinds: ``"dense"`` (``intermediate_size``) or ``"MoE"``
(``routed_experts`` in ``groups`` of which a token may use ``topk_group``, ``top_k`` a token,
``shared_experts``, ``expert_width`` each; ``groups`` is 1 where routing is ungrouped).

Devices: a model loaded with a ``device_map`` reports each part where accelerate placed it (``"cpu"``,
``"cuda:0"``, ``"disk"``…, from ``hf_device_map``); otherwise where its weights are.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .architecture import Architecture


@dataclass(frozen=True)
class Part:
    """Parameters, dtypes and devices of one part of the model (``parameters``: weights it owns)."""

    parameters: int
    dtypes: tuple[str, ...]
    devices: tuple[str, ...]


@dataclass(frozen=True)
class AttentionStructure:
    """One layer's attention: its kind and shapes (see the module docstring)."""

    kind: str  # "MLA" | "GQA" | "MHA"
    heads: int
    kv_heads: int
    head_dim: int  # width of one head's queries and keys (MLA: nope + rope)
    v_head_dim: int
    q_lora_rank: int = 0  # MLA only; 0: queries projected directly
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    index_topk: int = 0  # DeepSeek-V3.2's sparse indexer: keys kept per query (0: none)
    part: Part = Part(0, (), ())


@dataclass(frozen=True)
class MLPStructure:
    """One layer's MLP: dense or a mixture of experts (see the module docstring)."""

    kind: str  # "dense" | "MoE"
    intermediate_size: int = 0  # dense only
    routed_experts: int = 0
    groups: int = 0
    topk_group: int = 0
    top_k: int = 0
    shared_experts: int = 0
    expert_width: int = 0
    router_parameters: int = 0
    routed_parameters: int = 0
    shared_parameters: int = 0
    part: Part = Part(0, (), ())


@dataclass(frozen=True)
class LayerStructure:
    """Decoder layer ``index``: attention, MLP and the whole layer (norms included) as one part."""

    index: int
    attention: AttentionStructure
    mlp: MLPStructure
    part: Part

    @property
    def kind(self) -> str:
        """What the layer is, in words; consecutive layers of one kind are drawn as a group."""
        return f"{self.attention.kind} + {describe_mlp(self.mlp)}"


@dataclass(frozen=True)
class ModelStructure:
    """A model's parts, in forward order; ``parameters`` is every distinct weight of the model once."""

    name: str
    family: str
    d_model: int
    vocab_size: int
    embedding: Part
    layers: tuple[LayerStructure, ...]
    final_norm: Part
    lm_head: Part
    tied_embeddings: bool  # the LM head reuses the embedding's weights (its own parameters are 0)
    parameters: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able nested dicts and lists (tuples become lists)."""
        return _jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelStructure:
        """The structure :meth:`to_dict` wrote."""

        def part(value: dict[str, Any]) -> Part:
            return Part(int(value["parameters"]), tuple(value["dtypes"]), tuple(value["devices"]))

        def layer(value: dict[str, Any]) -> LayerStructure:
            attention = dict(value["attention"], part=part(value["attention"]["part"]))
            mlp = dict(value["mlp"], part=part(value["mlp"]["part"]))
            return LayerStructure(
                int(value["index"]), AttentionStructure(**attention), MLPStructure(**mlp), part(value["part"])
            )

        return cls(
            name=data["name"],
            family=data["family"],
            d_model=int(data["d_model"]),
            vocab_size=int(data["vocab_size"]),
            embedding=part(data["embedding"]),
            layers=tuple(layer(value) for value in data["layers"]),
            final_norm=part(data["final_norm"]),
            lm_head=part(data["lm_head"]),
            tied_embeddings=bool(data["tied_embeddings"]),
            parameters=int(data["parameters"]),
        )

    def parts(self) -> dict[str, Part]:
        """Every top-level part by name (``embedding``, ``layer.L``, ``final_norm``, ``lm_head``); their
        parameters add up to :attr:`parameters`."""
        return {
            "embedding": self.embedding,
            **{f"layer.{layer.index}": layer.part for layer in self.layers},
            "final_norm": self.final_norm,
            "lm_head": self.lm_head,
        }

    def runs(self) -> list[tuple[int, int, str]]:
        """Consecutive layers of one kind on the same devices: ``(first, last, kind)`` each."""
        found: list[tuple[int, int, str]] = []
        key: tuple[Any, ...] | None = None
        for layer in self.layers:
            this = (layer.kind, layer.part.devices, layer.part.dtypes)
            if found and this == key:
                found[-1] = (found[-1][0], layer.index, layer.kind)
            else:
                found.append((layer.index, layer.index, layer.kind))
            key = this
        return found

    def __str__(self) -> str:
        lines = [f"{self.name} ({self.family}): {self.parameters:,} parameters"]
        lines.append(f"  embedding {self.vocab_size:,} × {self.d_model}: {self.embedding.parameters:,}")
        for first, last, kind in self.runs():
            where = f"layer {first}" if first == last else f"layers {first}–{last}"
            lines.append(f"  {where}: {kind}")
        lines.append(f"  final norm: {self.final_norm.parameters:,}")
        head = "tied to the embedding" if self.tied_embeddings else f"{self.lm_head.parameters:,}"
        lines.append(f"  LM head: {head}")
        return "\n".join(lines)


def describe_mlp(mlp: MLPStructure) -> str:
    """``"dense 18432"`` or ``"MoE 256 experts, 8 groups (4 a token), top-8, 1 shared"``."""
    if mlp.kind != "MoE":
        return f"dense {mlp.intermediate_size}"
    groups = f", {mlp.groups} groups ({mlp.topk_group} a token)" if mlp.groups > 1 else ""
    return f"MoE {mlp.routed_experts} experts{groups}, top-{mlp.top_k}, {mlp.shared_experts} shared"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


class _Placement:
    """Where each module's weights are: accelerate's device map when there is one, else the weights'."""

    def __init__(self, model: nn.Module) -> None:
        self.names = {id(module): name for name, module in model.named_modules()}
        device_map = getattr(model, "hf_device_map", None)
        self.device_map: dict[str, Any] = dict(device_map) if isinstance(device_map, dict) else {}
        self.seen: set[int] = set()  # parameters counted already (tied weights count once)

    def mapped(self, name: str) -> str | None:
        best = None
        for key in self.device_map:
            if (key == "" or name == key or name.startswith(f"{key}.")) and (
                best is None or len(key) > len(best)
            ):
                best = key
        if best is None:
            return None
        device = self.device_map[best]
        return f"cuda:{device}" if isinstance(device, int) else str(device)

    def part(self, module: nn.Module | None, *, count: bool = True) -> Part:
        """The part ``module`` is; ``count``: its parameters are claimed (a later part sharing them counts 0)."""
        if module is None:
            return Part(0, (), ())
        name = self.names.get(id(module), "")
        total, dtypes, devices = 0, set(), set()
        for parameter_name, parameter in module.named_parameters():
            dtypes.add(_dtype_name(parameter.dtype))
            full = f"{name}.{parameter_name}" if name else parameter_name
            devices.add(self.mapped(full) or str(parameter.device))
            if id(parameter) not in self.seen:
                total += parameter.numel()
                if count:
                    self.seen.add(id(parameter))
        return Part(total, tuple(sorted(dtypes)), tuple(sorted(devices)))

    def size(self, module: nn.Module | None) -> int:
        """Parameters of ``module`` (no claim: a sub-part of a part counted on its own)."""
        return self.part(module, count=False).parameters


def _int(config: Any, name: str) -> int:
    value = getattr(config, name, None)
    return int(value) if isinstance(value, int) else 0


def _attention(module: nn.Module, config: Any, arch: Architecture, part: Part) -> AttentionStructure:
    heads = arch.num_heads
    kv_heads = _int(config, "num_key_value_heads") or heads
    if hasattr(module, "kv_a_proj_with_mqa"):  # MLA: keys and values from one compressed latent
        indexer = getattr(module, "indexer", None)
        return AttentionStructure(
            kind="MLA",
            heads=heads,
            kv_heads=kv_heads,
            head_dim=_int(config, "qk_nope_head_dim") + _int(config, "qk_rope_head_dim"),
            v_head_dim=_int(config, "v_head_dim"),
            q_lora_rank=_int(config, "q_lora_rank") if getattr(module, "q_a_proj", None) is not None else 0,
            kv_lora_rank=_int(config, "kv_lora_rank"),
            qk_nope_head_dim=_int(config, "qk_nope_head_dim"),
            qk_rope_head_dim=_int(config, "qk_rope_head_dim"),
            index_topk=_int(config, "index_topk") if isinstance(indexer, nn.Module) else 0,
            part=part,
        )
    head_dim = int(getattr(module, "head_dim", 0) or arch.query_width)
    return AttentionStructure(
        kind="GQA" if kv_heads < heads else "MHA",
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        v_head_dim=head_dim,
        part=part,
    )


def _mlp(
    index: int, module: nn.Module | None, config: Any, arch: Architecture, placement: _Placement, part: Part
) -> MLPStructure:
    if index not in arch.routers or module is None:
        width = getattr(getattr(module, "gate_proj", None), "out_features", None)
        size = width if isinstance(width, int) else _int(config, "intermediate_size")
        return MLPStructure(kind="dense", intermediate_size=size, part=part)
    experts = arch.num_routed_experts
    groups = experts // arch.routing_group_size if arch.routing_group_size else 1
    return MLPStructure(
        kind="MoE",
        routed_experts=experts,
        groups=groups,
        topk_group=(_int(config, "topk_group") or groups) if groups > 1 else 1,
        top_k=arch.experts_per_token,
        shared_experts=arch.num_shared_experts,
        expert_width=_int(config, "moe_intermediate_size"),
        router_parameters=placement.size(getattr(module, "gate", None)),
        routed_parameters=placement.size(getattr(module, "experts", None)),
        shared_parameters=placement.size(getattr(module, "shared_experts", None)),
        part=part,
    )


def read_structure(model: nn.Module, arch: Architecture, *, name: str) -> ModelStructure:
    """The structure of ``model`` (whose parts ``arch`` located), parameters counted from its modules."""
    config = model.config
    placement = _Placement(model)
    get_input_embeddings: Any = model.get_input_embeddings
    embedding_module: nn.Module = get_input_embeddings()
    embedding = placement.part(embedding_module)
    layers = []
    for index, (layer, attention) in enumerate(zip(arch.layers, arch.attention, strict=True)):
        mlp_module = getattr(layer, "mlp", None)
        attention_part = placement.part(attention, count=False)
        mlp_part = placement.part(mlp_module, count=False)
        layers.append(
            LayerStructure(
                index=index,
                attention=_attention(attention, config, arch, attention_part),
                mlp=_mlp(index, mlp_module, config, arch, placement, mlp_part),
                part=placement.part(layer),
            )
        )
    final_norm = placement.part(arch.final_norm)
    embedding_weight = getattr(embedding_module, "weight", None)
    tied = embedding_weight is not None and getattr(arch.unembed, "weight", None) is embedding_weight
    lm_head = placement.part(arch.unembed)
    unique = {id(parameter): parameter.numel() for parameter in model.parameters()}
    return ModelStructure(
        name=name,
        family=arch.family,
        d_model=int(embedding_weight.shape[1])
        if embedding_weight is not None
        else _int(config, "hidden_size"),
        vocab_size=int(embedding_weight.shape[0])
        if embedding_weight is not None
        else _int(config, "vocab_size"),
        embedding=embedding,
        layers=tuple(layers),
        final_norm=final_norm,
        lm_head=lm_head,
        tied_embeddings=tied,
        parameters=sum(unique.values()),
    )
