"""Interventions a model call honours: heads turned off, scaled or patched, a residual stream patched,
experts taken away, forced or patched.

Each is a small frozen object; :meth:`HookedModel.intervene` installs the forward hooks that carry them
out for every model call inside its block (traces, generation, embeddings, attribution scoring), and the
trace cache keys on them, so nothing leaks into later calls. The hooks act where the model computes:

* a head's output is its slice of the input of the attention block's output projection (``o_proj``:
  ``[batch, position, heads × value width]``), so :class:`HeadAblation` and :class:`HeadScale` change
  that slice before the projection mixes the heads, and :class:`HeadPatch` writes another run's
  slices in at chosen positions (read with :meth:`HookedModel.head_outputs`);
* a residual stream is the input of a decoder layer, so :class:`ResidualPatch` replaces it at chosen
  positions before the layer runs;
* a token's experts are what the MoE router returns (weights, indices), so :class:`ExpertAblation` and
  :class:`ExpertForcing` replace them at chosen tokens by the model's own rule (:func:`route`);
* the routed experts' output is what the MoE block's ``experts`` module returns (the weighted sum over
  a token's top-k, before the shared experts are added), so :class:`ExpertPatch` replaces it, or one
  expert's weighted contribution to it (:func:`expert_contribution`), at chosen positions (read with
  :meth:`HookedModel.expert_outputs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from .errors import LayerOutOfRangeError


def _distinct(values: Sequence[int]) -> tuple[int, ...]:
    """``values`` as sorted distinct ints (heads, experts)."""
    return tuple(sorted({int(value) for value in values}))


def _positions(values: Sequence[int] | None) -> tuple[int, ...] | None:
    return None if values is None else tuple(int(value) for value in values)


@dataclass(frozen=True)
class HeadAblation:
    """Turn ``heads`` of ``layer`` off: their outputs become zero (``mode="zero"``) or their mean over the
    positions of the run (``"mean"``: what the head says on average, without what it says here)."""

    layer: int
    heads: tuple[int, ...]
    mode: Literal["zero", "mean"] = "zero"
    rows: tuple[int, ...] | None = None  # the batch rows it applies to (a sweep's variants); None: all

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", _distinct(self.heads))
        if self.mode not in ("zero", "mean"):
            raise ValueError(f"mode must be 'zero' or 'mean', not {self.mode!r}")


@dataclass(frozen=True)
class HeadScale:
    """Multiply the outputs of ``heads`` of ``layer`` by ``factor`` (``0`` is zero-ablation, ``2``
    doubles the head's say)."""

    layer: int
    heads: tuple[int, ...]
    factor: float
    rows: tuple[int, ...] | None = None  # the batch rows it applies to; None: all

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", _distinct(self.heads))


@dataclass(frozen=True, eq=False)
class ResidualPatch:
    """Replace the residual stream entering decoder ``layer`` at ``positions`` with ``values``
    (``[len(positions), d_model]``), e.g. a clean run's states patched into a corrupted run
    (:meth:`from_trace`). Compared by identity (it carries a tensor)."""

    layer: int
    positions: tuple[int, ...]
    values: torch.Tensor = field(repr=False)
    rows: tuple[int, ...] | None = None  # the batch rows it applies to (a sweep's variants); None: all

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", _positions(self.positions))
        if self.values.shape[0] != len(self.positions):
            raise ValueError(
                f"{self.values.shape[0]} patched states for {len(self.positions)} positions: give one each"
            )

    @classmethod
    def from_trace(cls, source: Any, layer: int, positions: Sequence[int]) -> ResidualPatch:
        """The residual stream entering ``layer`` at ``positions`` of ``source`` (a
        :class:`~deepseek_viz.Trace`: its ``hidden_states[layer]``)."""
        states = torch.from_numpy(source.hidden_states[layer][list(positions)])
        return cls(layer, tuple(positions), states)


def _patch_positions(positions: Sequence[int] | None, values: torch.Tensor) -> tuple[int, ...]:
    """The positions a patch writes (``None``: the first ``len(values)``, i.e. all of a run's)."""
    return tuple(range(values.shape[0])) if positions is None else tuple(int(p) for p in positions)


def _picked(values: torch.Tensor, positions: Sequence[int] | None) -> tuple[tuple[int, ...], torch.Tensor]:
    """``values`` ``[n, ...]`` of a whole run at ``positions`` (``None``: all), and those positions."""
    chosen = tuple(range(values.shape[0])) if positions is None else tuple(int(p) for p in positions)
    if chosen and not all(0 <= p < values.shape[0] for p in chosen):
        raise LayerOutOfRangeError(
            f"positions {chosen}: the source run has {values.shape[0]} (0–{values.shape[0] - 1})"
        )
    return chosen, values[list(chosen)]


@dataclass(frozen=True, eq=False)
class HeadPatch:
    """Replace the outputs of ``heads`` of ``layer`` (their slices of ``o_proj``'s input, as
    :class:`HeadAblation` changes them) at ``positions`` (``None``: all of ``values``) with ``values``
    ``[len(positions), len(heads), head width]`` (the value width: MLA's ``v_head_dim``), e.g. a clean
    run's head outputs patched into a corrupted run (:meth:`from_run`). ``heads`` keep their order (the
    second axis of ``values``). Compared by identity (it carries a tensor)."""

    layer: int
    heads: tuple[int, ...]
    positions: tuple[int, ...] | None
    values: torch.Tensor = field(repr=False)
    rows: tuple[int, ...] | None = None  # the batch rows it applies to (a sweep's variants); None: all

    def __post_init__(self) -> None:
        heads = tuple(int(head) for head in self.heads)
        if len(set(heads)) != len(heads):
            raise ValueError(f"heads {heads} repeat one: give distinct heads")
        object.__setattr__(self, "heads", heads)
        object.__setattr__(self, "positions", _patch_positions(self.positions, self.values))
        if self.values.dim() != 3 or tuple(self.values.shape[:2]) != (len(self.positions), len(heads)):  # type: ignore[arg-type]
            raise ValueError(
                f"head values of shape {tuple(self.values.shape)} for {len(self.positions)} positions × "  # type: ignore[arg-type]
                f"{len(heads)} heads: give [positions, heads, head width]"
            )

    @classmethod
    def from_run(
        cls,
        model: Any,
        text: str,
        layer: int,
        heads: int | Sequence[int],
        positions: Sequence[int] | None = None,
        rows: tuple[int, ...] | None = None,
    ) -> HeadPatch:
        """The outputs of ``heads`` of ``layer`` at ``positions`` (``None``: all) of ``text`` run on
        ``model`` (a :class:`~deepseek_viz.model.ModelInterface`: :meth:`head_outputs`)."""
        chosen = (heads,) if isinstance(heads, int) else tuple(heads)
        where, values = _picked(model.head_outputs(text, layer), positions)
        return cls(layer, chosen, where, values[:, list(chosen)], rows)


@dataclass(frozen=True, eq=False)
class ExpertPatch:
    """Replace what the routed experts of MoE ``layer`` add at ``positions`` (``None``: all of
    ``values``) with ``values`` ``[len(positions), d_model]``: with ``expert=None`` the whole routed
    output (the weighted sum over each token's top-k; the shared experts are kept), with an expert
    only that expert's weighted contribution (zero at a token not routed to it): the run's own is
    taken out and ``values`` put in, so a clean run's (:meth:`from_run`) patched into a corrupted run
    carries over what that expert said there. Compared by identity (it carries a tensor)."""

    layer: int
    expert: int | None
    positions: tuple[int, ...] | None
    values: torch.Tensor = field(repr=False)
    rows: tuple[int, ...] | None = None  # the batch rows it applies to (a sweep's variants); None: all

    def __post_init__(self) -> None:
        object.__setattr__(self, "expert", None if self.expert is None else int(self.expert))
        object.__setattr__(self, "positions", _patch_positions(self.positions, self.values))
        if self.values.dim() != 2 or self.values.shape[0] != len(self.positions):  # type: ignore[arg-type]
            raise ValueError(
                f"expert values of shape {tuple(self.values.shape)} for {len(self.positions)} positions: "  # type: ignore[arg-type]
                "give [positions, d_model]"
            )

    @classmethod
    def from_run(
        cls,
        model: Any,
        text: str,
        layer: int,
        expert: int | None = None,
        positions: Sequence[int] | None = None,
        rows: tuple[int, ...] | None = None,
    ) -> ExpertPatch:
        """What the routed experts (or ``expert`` alone) of ``layer`` add at ``positions`` (``None``:
        all) of ``text`` run on ``model`` (:meth:`~deepseek_viz.model.ModelInterface.expert_outputs`)."""
        where, values = _picked(model.expert_outputs(text, layer, expert), positions)
        return cls(layer, expert, where, values, rows)


@dataclass(frozen=True)
class ExpertAblation:
    """Take routed ``experts`` of MoE ``layer`` away from the tokens at ``positions`` (``None``: all):
    each such token is routed by the model's own rule (scores, correction bias, group limits, top-k,
    normalisation) as if those experts' choice scores were −∞, so its next-best experts take their
    place and the weights are normalised over the experts it now uses."""

    layer: int
    experts: tuple[int, ...]
    positions: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "experts", _distinct(self.experts))
        object.__setattr__(self, "positions", _positions(self.positions))


@dataclass(frozen=True)
class ExpertForcing:
    """Send the tokens at ``positions`` (``None``: all) of MoE ``layer`` to exactly ``experts`` (as many
    as the router's top-k), weighted by the router's own scores for them and normalised as the model
    does. Refused where the experts span more routing groups than the model allows a token."""

    layer: int
    experts: tuple[int, ...]
    positions: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "experts", tuple(int(expert) for expert in self.experts))
        if len(set(self.experts)) != len(self.experts):
            raise ValueError(f"experts {self.experts} repeat one: give distinct experts")
        object.__setattr__(self, "positions", _positions(self.positions))


Intervention = (
    HeadAblation | HeadScale | HeadPatch | ResidualPatch | ExpertAblation | ExpertForcing | ExpertPatch
)
#: Interventions that write states at positions of one run (traces, not generation).
POSITIONAL = (ResidualPatch, HeadPatch, ExpertPatch)


def route(
    router: Any, logits: torch.Tensor, banned: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """DeepSeek's routing of ``logits`` ``[tokens, experts]`` (V3/V3.2: sigmoid scores, correction bias
    for the choice, groups ranked by their two best, top-k, normalised; V2: softmax, greedy or
    group-limited greedy), with ``banned`` ``[tokens, experts]`` (bool) experts' choice scores at −∞:
    ``(weights, indices)`` ``[tokens, k]`` as the router returns them."""
    scores = _scores(router, logits)
    bias = getattr(router, "e_score_correction_bias", None)
    choice = scores + bias if bias is not None else scores.clone()
    if banned is not None:
        choice = choice.masked_fill(banned, float("-inf"))
    if _grouped(router):
        groups = router.num_group
        size = logits.shape[-1] // groups
        by_group = choice.view(-1, groups, size)
        # V3 ranks a group by its two best experts, V2 by its best
        best = by_group.topk(2, dim=-1)[0].sum(-1) if bias is not None else by_group.max(dim=-1).values
        kept = torch.topk(best, k=router.topk_group, dim=-1, sorted=False)[1]
        group_mask = torch.zeros(choice.shape[0], groups, dtype=torch.bool, device=choice.device)
        group_mask.scatter_(1, kept, True)
        choice = choice.masked_fill(~group_mask.repeat_interleave(size, dim=1), float("-inf"))
    indices = torch.topk(choice, k=router.top_k, dim=-1, sorted=False)[1]
    return _weights(router, scores, indices), indices


def _scores(router: Any, logits: torch.Tensor) -> torch.Tensor:
    """The router's scores of its logits: sigmoid where it has a correction bias (V3, V3.2), else softmax."""
    if hasattr(router, "e_score_correction_bias"):
        return logits.sigmoid()
    return logits.softmax(dim=-1, dtype=torch.float32)


def _grouped(router: Any) -> bool:
    """Whether the router limits a token to ``topk_group`` groups (V3 always; V2 by its ``topk_method``)."""
    limited = hasattr(router, "e_score_correction_bias") or router.topk_method == "group_limited_greedy"
    return bool(limited and (router.num_group or 1) > 1)  # V2-Lite routes greedily, n_group None


def _weights(router: Any, scores: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """The router's weights for ``indices``: its scores there, normalised where it normalises, scaled."""
    weights = scores.gather(1, indices)
    if getattr(router, "norm_topk_prob", False):
        weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
    return weights * router.routed_scaling_factor


def _token_rows(positions: tuple[int, ...] | None, inputs: torch.Tensor) -> torch.Tensor | None:
    """The router's rows (``batch × position`` flattened) of ``positions`` in every batch row."""
    if positions is None:
        return None
    batch, length = (1, inputs.shape[0]) if inputs.dim() == 2 else inputs.shape[:2]
    if positions and max(positions) >= length:
        raise LayerOutOfRangeError(f"position {max(positions)} is beyond the {length} positions of this run")
    return (torch.arange(batch)[:, None] * length + torch.tensor(positions)[None, :]).reshape(-1)


def _chosen(positions: tuple[int, ...] | None, inputs: torch.Tensor, tokens: int) -> torch.Tensor:
    """Bool ``[tokens]``: the router's rows at ``positions`` (``None``: every row)."""
    rows = _token_rows(positions, inputs)
    if rows is None:
        return torch.ones(tokens, dtype=torch.bool)
    return torch.zeros(tokens, dtype=torch.bool).index_fill_(0, rows, True)


def _ablation_hook(ablations: Sequence[ExpertAblation]) -> Callable[..., Any]:
    """A forward hook for a router that reroutes the chosen tokens of each of ``ablations`` (one layer's)
    with all their experts banned at once, so two ablations of a layer add up."""

    def hook(router: Any, args: tuple[Any, ...], output: tuple[torch.Tensor, ...]) -> tuple[Any, ...]:
        logits, weights, indices = output
        banned = torch.zeros_like(logits, dtype=torch.bool)
        for ablation in ablations:
            chosen = _chosen(ablation.positions, args[0], logits.shape[0]).to(logits.device)
            banned[:, list(ablation.experts)] |= chosen[:, None]
        rerouted = banned.any(dim=1)
        new_weights, new_indices = route(router, logits, banned)
        weights = torch.where(rerouted[:, None], new_weights.to(weights.dtype), weights)
        indices = torch.where(rerouted[:, None], new_indices.to(indices.dtype), indices)
        return (logits, weights, indices)

    return hook


def _forcing_hook(forcing: ExpertForcing) -> Callable[..., Any]:
    """A forward hook for a router that sends the chosen tokens to ``forcing.experts``."""

    def hook(router: Any, args: tuple[Any, ...], output: tuple[torch.Tensor, ...]) -> tuple[Any, ...]:
        logits, weights, indices = output
        chosen = _chosen(forcing.positions, args[0], logits.shape[0]).to(logits.device)
        new_indices = torch.tensor(forcing.experts, device=logits.device).expand(logits.shape[0], -1)
        new_weights = _weights(router, _scores(router, logits), new_indices)
        weights = torch.where(chosen[:, None], new_weights.to(weights.dtype), weights)
        indices = torch.where(chosen[:, None], new_indices.to(indices.dtype), indices)
        return (logits, weights, indices)

    return hook


def _check_experts(intervention: ExpertAblation | ExpertForcing, router: Any) -> None:
    experts = router.weight.shape[0]
    wrong = [expert for expert in intervention.experts if not 0 <= expert < experts]
    if wrong or not intervention.experts:
        raise LayerOutOfRangeError(
            f"experts {wrong or '()'} of layer {intervention.layer}: give routed experts 0–{experts - 1}"
        )
    if isinstance(intervention, ExpertAblation):
        if len(intervention.experts) > experts - router.top_k:
            raise ValueError(
                f"ablating {len(intervention.experts)} of {experts} experts leaves too few for top-{router.top_k}"
            )
        return
    if len(intervention.experts) != router.top_k:
        raise ValueError(
            f"force exactly {router.top_k} experts (the router's top-k), not {len(intervention.experts)}"
        )
    if _grouped(router):
        size = experts // router.num_group
        spanned = {expert // size for expert in intervention.experts}
        if len(spanned) > router.topk_group:
            raise ValueError(
                f"experts {intervention.experts} lie in {len(spanned)} routing groups {sorted(spanned)}; this "
                f"model routes a token within {router.topk_group} groups of {size}"
            )


def _check_expert_patch(patch: ExpertPatch, router: Any) -> None:
    experts, width = router.weight.shape
    if patch.expert is not None and not 0 <= patch.expert < experts:
        raise LayerOutOfRangeError(
            f"expert {patch.expert} of layer {patch.layer}: give a routed expert 0–{experts - 1} (or None: all)"
        )
    if patch.values.shape[1] != width:
        raise ValueError(f"expert values of width {patch.values.shape[1]}: this model's states have {width}")


def _check_head_width(patch: HeadPatch, projection: nn.Module, num_heads: int) -> None:
    width = int(getattr(projection, "in_features", 0)) // num_heads
    if width and patch.values.shape[2] != width:
        raise ValueError(
            f"head values of width {patch.values.shape[2]}: layer {patch.layer}'s heads output {width}"
        )


def _head_hook(intervention: HeadAblation | HeadScale, num_heads: int) -> Callable[..., Any]:
    """A forward pre-hook for ``o_proj`` that changes the chosen heads' slices of its input."""
    heads = torch.tensor(intervention.heads)

    def hook(_module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        (inputs, *rest) = args
        batch, length, width = inputs.shape
        per_head = inputs.view(batch, length, num_heads, width // num_heads).clone()
        rows = torch.arange(batch) if intervention.rows is None else torch.tensor(intervention.rows)
        chosen = per_head[rows[:, None], :, heads[None, :]]  # [rows, heads, length, width]
        if isinstance(intervention, HeadScale):
            chosen = chosen * intervention.factor
        elif intervention.mode == "zero":
            chosen = torch.zeros_like(chosen)
        else:
            chosen = chosen.mean(dim=2, keepdim=True).expand_as(chosen)
        per_head[rows[:, None], :, heads[None, :]] = chosen
        return (per_head.view(batch, length, width), *rest)

    return hook


def _patch_hook(patch: ResidualPatch) -> Callable[..., Any]:
    """A forward pre-hook (with kwargs) for a decoder layer that writes the patched states in."""

    def hook(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
        hidden = args[0] if args else kwargs["hidden_states"]
        if max(patch.positions) >= hidden.shape[1]:
            raise LayerOutOfRangeError(
                f"patched position {max(patch.positions)} is beyond the {hidden.shape[1]} positions of this run"
            )
        patched = hidden.clone()
        rows = range(hidden.shape[0]) if patch.rows is None else patch.rows
        for row in rows:
            patched[row, list(patch.positions)] = patch.values.to(hidden.device, hidden.dtype)
        if args:
            return (patched, *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": patched}

    return hook


def _check_positions(positions: Sequence[int], length: int) -> None:
    if positions and max(positions) >= length:
        raise LayerOutOfRangeError(
            f"patched position {max(positions)} is beyond the {length} positions of this run"
        )


def _head_patch_hook(patch: HeadPatch, num_heads: int) -> Callable[..., Any]:
    """A forward pre-hook for ``o_proj`` that writes the patched heads' slices of its input."""
    heads = torch.tensor(patch.heads)

    def hook(_module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        (inputs, *rest) = args
        batch, length, width = inputs.shape
        positions = list(patch.positions or ())
        _check_positions(positions, length)
        per_head = inputs.view(batch, length, num_heads, width // num_heads).clone()
        values = patch.values.to(inputs.device, inputs.dtype)
        where = torch.tensor(positions, dtype=torch.long)
        for row in range(batch) if patch.rows is None else patch.rows:
            per_head[row, where[:, None], heads[None, :]] = values
        return (per_head.view(batch, length, width), *rest)

    return hook


def expert_contribution(
    experts: nn.Module, hidden: torch.Tensor, indices: torch.Tensor, weights: torch.Tensor, expert: int
) -> torch.Tensor:
    """What routed ``expert`` adds to the output of an MoE block's ``experts`` module for the tokens
    ``hidden`` ``[tokens, d_model]`` routed by ``indices`` / ``weights`` ``[tokens, k]``: its output
    times its weight, zero where a token is not routed to it. Computed by the module's own forward (the
    experts implementation the model uses), called with that expert alone; no hook runs."""
    weight = (weights * (indices == expert)).sum(dim=-1, keepdim=True)
    alone = torch.full_like(indices[:, :1], expert)
    contribution: torch.Tensor = experts.forward(hidden, alone, weight.to(weights.dtype))
    return contribution


def _expert_patch_hooks(patch: ExpertPatch, block: nn.Module) -> list[Any]:
    """The hooks of ``patch`` on an MoE ``block``: a pre-hook that notes the batch's shape (its
    ``experts`` module sees the tokens flattened) and a forward hook on ``block.experts`` that writes
    the patched values into its output."""
    shape: dict[str, int] = {}

    def note(_module: nn.Module, args: tuple[Any, ...]) -> None:
        hidden = args[0]
        shape["batch"], shape["length"] = (1, hidden.shape[0]) if hidden.dim() == 2 else hidden.shape[:2]

    def hook(experts: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
        hidden, indices, weights = args[:3]
        batch, length = shape["batch"], shape["length"]
        positions = list(patch.positions or ())
        _check_positions(positions, length)
        rows = torch.arange(batch) if patch.rows is None else torch.tensor(patch.rows)
        tokens = (rows[:, None] * length + torch.tensor(positions, dtype=torch.long)[None, :]).reshape(-1)
        tokens = tokens.to(output.device)
        values = patch.values.to(output.device, output.dtype).repeat(len(rows), 1)
        patched = output.clone()
        if patch.expert is None:
            patched[tokens] = values
        else:
            own = expert_contribution(experts, hidden[tokens], indices[tokens], weights[tokens], patch.expert)
            patched[tokens] = output[tokens] - own.to(output.dtype) + values
        return patched

    experts: Any = block.experts
    return [block.register_forward_pre_hook(note), experts.register_forward_hook(hook)]


@contextmanager
def installed(
    interventions: Sequence[Intervention],
    layers: Sequence[nn.Module],
    attention: Sequence[nn.Module],
    num_heads: int,
    routers: Mapping[int, nn.Module],
) -> Iterator[None]:
    """The hooks of ``interventions`` on the model's ``layers`` / ``attention`` modules, removed in
    ``finally``. Layers and heads are checked first (:class:`LayerOutOfRangeError`)."""
    handles = []
    ablations: dict[int, list[ExpertAblation]] = {}
    try:
        for intervention in interventions:
            if not 0 <= intervention.layer < len(layers):
                raise LayerOutOfRangeError(
                    f"{type(intervention).__name__} of layer {intervention.layer}: the model has "
                    f"{len(layers)} layers (0–{len(layers) - 1})"
                )
            if isinstance(intervention, ResidualPatch):
                module = layers[intervention.layer]
                handles.append(module.register_forward_pre_hook(_patch_hook(intervention), with_kwargs=True))
                continue
            if isinstance(intervention, ExpertAblation | ExpertForcing | ExpertPatch):
                router = routers.get(intervention.layer)
                if router is None:
                    raise LayerOutOfRangeError(
                        f"layer {intervention.layer} is dense: no experts to change (MoE layers: {sorted(routers)})"
                    )
                if isinstance(intervention, ExpertPatch):
                    _check_expert_patch(intervention, router)
                    block: Any = layers[intervention.layer].mlp
                    handles.extend(_expert_patch_hooks(intervention, block))
                    continue
                _check_experts(intervention, router)
                if isinstance(intervention, ExpertAblation):
                    ablations.setdefault(intervention.layer, []).append(intervention)
                else:
                    handles.append(router.register_forward_hook(_forcing_hook(intervention)))
                continue
            wrong = [head for head in intervention.heads if not 0 <= head < num_heads]
            if wrong or not intervention.heads:
                raise LayerOutOfRangeError(
                    f"heads {wrong or '()'} of layer {intervention.layer}: give heads 0–{num_heads - 1}"
                )
            projection = getattr(attention[intervention.layer], "o_proj", None)
            if not isinstance(projection, nn.Module):
                raise LayerOutOfRangeError(
                    f"layer {intervention.layer}'s attention has no o_proj: its heads cannot be changed"
                )
            if isinstance(intervention, HeadPatch):
                _check_head_width(intervention, projection, num_heads)
                hook = _head_patch_hook(intervention, num_heads)
            else:
                hook = _head_hook(intervention, num_heads)
            handles.append(projection.register_forward_pre_hook(hook))
        for layer, together in ablations.items():  # before any forcing of the layer (prepended)
            _check_experts(ExpertAblation(layer, sum((a.experts for a in together), ())), routers[layer])
            handles.append(routers[layer].register_forward_hook(_ablation_hook(together), prepend=True))
        yield
    finally:
        for handle in handles:
            handle.remove()
