"""Causes, not correlations: what an intervention does to a target, and sweeps over every head or every
layer × position, batched (one forward per layer, its variants as the rows of one batch).

The targets are the attribution targets (:class:`~deepseek_viz.NextToken`, ``Continuation``,
``Verbalizer``), fixed on the unchanged run (a ``NextToken()`` keeps the token the unchanged model
predicts) and read again under each intervention, through :meth:`ModelInterface.intervene`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..model import HeadAblation, Intervention, ModelInterface, ResidualPatch, Trace
from .attribution.targets import BoundTarget, NextToken, Target


@dataclass(frozen=True)
class Effect:
    """A target's value before and after interventions (``change = after - before``)."""

    description: str
    before: float
    after: float

    @property
    def change(self) -> float:
        """``after - before``: positive where the interventions raised the target."""
        return self.after - self.before


@dataclass(frozen=True)
class HeadSweep:
    """Each head ablated alone: ``effects[layer, head]`` is the target's change (``after - before``)."""

    description: str
    before: float
    effects: np.ndarray  # float32 [layer, head]
    mode: str


@dataclass(frozen=True)
class PatchSweep:
    """The clean run's residual stream patched into the corrupted run at one (layer, position) at a
    time: ``values[layer, position]`` is the target then; ``clean`` and ``corrupted`` its value in
    the two runs unchanged. ``recovered`` is the share of the gap each patch closes."""

    description: str
    clean: float
    corrupted: float
    values: np.ndarray  # float32 [layer, position]
    tokens: list[str]

    @property
    def recovered(self) -> np.ndarray:
        """``(value - corrupted) / (clean - corrupted)``: 1 where the patch restores the clean value."""
        gap = self.clean - self.corrupted
        return (self.values - self.corrupted) / (gap if gap else 1.0)


def _bound(model: ModelInterface, text: str, target: Target | None) -> BoundTarget:
    return (target or NextToken()).bind(model, model.tokenize(text))


def _scores(bound: BoundTarget, rows: int) -> np.ndarray:
    """The target for ``rows`` copies of the bound text, one batch (the interventions pick rows)."""
    with torch.no_grad():
        embeddings = bound.token_embeddings()[None].expand(rows, -1, -1)
        return bound.score(embeddings).float().cpu().numpy()


def intervention_effect(
    model: ModelInterface, text: str, interventions: Sequence[Intervention], target: Target | None = None
) -> Effect:
    """The target's value on ``text`` without and with ``interventions`` (the target fixed on the run
    without them)."""
    bound = _bound(model, text, target)
    before = float(_scores(bound, 1)[0])
    with model.intervene(*interventions):
        after = float(_scores(bound, 1)[0])
    return Effect(bound.description, before, after)


def head_ablation_sweep(
    model: ModelInterface, text: str, target: Target | None = None, mode: str = "zero"
) -> HeadSweep:
    """Every head ablated alone (``mode`` ``"zero"`` or ``"mean"``): one forward per layer, whose
    ``num_heads`` rows each ablate one head of it."""
    bound = _bound(model, text, target)
    before = float(_scores(bound, 1)[0])
    heads = model.num_heads
    effects = np.zeros((model.num_layers, heads), dtype=np.float32)
    for layer in range(model.num_layers):
        ablations = [HeadAblation(layer, (head,), mode, rows=(head,)) for head in range(heads)]  # type: ignore[arg-type]
        with model.intervene(*ablations):
            effects[layer] = _scores(bound, heads) - before
    return HeadSweep(bound.description, before, effects, mode)


def residual_patching_sweep(
    model: ModelInterface, clean: str, corrupted: str, target: Target | None = None
) -> PatchSweep:
    """Patch ``clean``'s residual stream into ``corrupted`` at each layer × position alone and read the
    target (fixed on the clean run) each time: one forward per layer, whose rows each patch one
    position. The two texts must have the same number of tokens."""
    clean_trace: Trace = model.trace(clean, layers=[])
    corrupted_tokens = model.tokenize(corrupted)
    n = len(clean_trace.tokens)
    if len(corrupted_tokens) != n:
        raise ValueError(
            f"the clean text has {n} tokens and the corrupted one {len(corrupted_tokens)}: patching "
            "position by position needs texts of the same token count"
        )
    chosen = target or NextToken()
    clean_bound = _bound(model, clean, chosen)
    fixed = (
        NextToken(token=clean_bound.chosen_token)
        if isinstance(chosen, NextToken) and chosen.token is None
        else chosen
    )
    bound = fixed.bind(model, corrupted_tokens)
    clean_value = float(_scores(clean_bound, 1)[0])
    corrupted_value = float(_scores(bound, 1)[0])
    values = np.zeros((model.num_layers, n), dtype=np.float32)
    for layer in range(model.num_layers):
        states = torch.from_numpy(clean_trace.hidden_states[layer])
        patches = [ResidualPatch(layer, (p,), states[p : p + 1], rows=(p,)) for p in range(n)]
        with model.intervene(*patches):
            values[layer] = _scores(bound, n)
    return PatchSweep(
        bound.description, clean_value, corrupted_value, values, [token.text for token in clean_trace.tokens]
    )
