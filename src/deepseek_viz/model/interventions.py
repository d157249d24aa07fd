"""Interventions a model call honours: heads turned off or scaled, a residual stream patched.

Each is a small frozen object; :meth:`HookedModel.intervene` installs the forward hooks that carry them
out for every model call inside its block (traces, generation, embeddings, attribution scoring), and the
trace cache keys on them, so nothing leaks into later calls. The hooks act where the model computes:

* a head's output is its slice of the input of the attention block's output projection (``o_proj``:
  ``[batch, position, heads × value width]``), so :class:`HeadAblation` and :class:`HeadScale` change
  that slice before the projection mixes the heads;
* a residual stream is the input of a decoder layer, so :class:`ResidualPatch` replaces it at chosen
  positions before the layer runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from .errors import LayerOutOfRangeError


@dataclass(frozen=True)
class HeadAblation:
    """Turn ``heads`` of ``layer`` off: their outputs become zero (``mode="zero"``) or their mean over the
    positions of the run (``"mean"``: what the head says on average, without what it says here)."""

    layer: int
    heads: tuple[int, ...]
    mode: Literal["zero", "mean"] = "zero"
    rows: tuple[int, ...] | None = None  # the batch rows it applies to (a sweep's variants); None: all

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", tuple(sorted({int(head) for head in self.heads})))
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
        object.__setattr__(self, "heads", tuple(sorted({int(head) for head in self.heads})))


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
        object.__setattr__(self, "positions", tuple(int(position) for position in self.positions))
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


Intervention = HeadAblation | HeadScale | ResidualPatch


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


@contextmanager
def installed(
    interventions: Sequence[Intervention],
    layers: Sequence[nn.Module],
    attention: Sequence[nn.Module],
    num_heads: int,
) -> Iterator[None]:
    """The hooks of ``interventions`` on the model's ``layers`` / ``attention`` modules, removed in
    ``finally``. Layers and heads are checked first (:class:`LayerOutOfRangeError`)."""
    handles = []
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
            handles.append(projection.register_forward_pre_hook(_head_hook(intervention, num_heads)))
        yield
    finally:
        for handle in handles:
            handle.remove()
