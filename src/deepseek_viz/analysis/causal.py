"""Causes, not correlations: what an intervention does to a target, and sweeps over every head or every
layer × position, batched (one forward per layer, its variants as the rows of one batch).

The targets are the attribution targets (:class:`~deepseek_viz.NextToken`, ``Continuation``,
``Verbalizer``), fixed on the unchanged run (a ``NextToken()`` keeps the token the unchanged model
predicts) and read again under each intervention, through :meth:`ModelInterface.intervene`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ..model import HeadAblation, HeadPatch, Intervention, ModelInterface, ResidualPatch
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
    """The clean run patched into the corrupted run one piece at a time: with ``kind="residual"`` its
    residual stream at one (layer, position), ``values[layer, position]`` the target then; with
    ``kind="heads"`` one head's output at every position, ``values[layer, head]``. ``clean`` and
    ``corrupted`` are the target's value in the two runs unchanged, ``tokens`` the clean text's.
    ``recovered`` is the share of the gap each patch closes."""

    description: str
    clean: float
    corrupted: float
    values: np.ndarray  # float32 [layer, position] ("residual") or [layer, head] ("heads")
    tokens: list[str]
    kind: str = "residual"

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


def _layers(model: ModelInterface, progress: bool, what: str) -> Iterable[int]:
    """The layers a sweep runs, counted by a progress bar (``tqdm.auto``) when ``progress``."""
    return tqdm(range(model.num_layers), desc=what, unit="layer", disable=not progress)


def head_ablation_sweep(
    model: ModelInterface,
    text: str,
    target: Target | None = None,
    mode: str = "zero",
    *,
    progress: bool = False,
) -> HeadSweep:
    """Every head ablated alone (``mode`` ``"zero"`` or ``"mean"``): one forward per layer, whose
    ``num_heads`` rows each ablate one head of it. ``progress``: a progress bar over the layers."""
    bound = _bound(model, text, target)
    before = float(_scores(bound, 1)[0])
    heads = model.num_heads
    effects = np.zeros((model.num_layers, heads), dtype=np.float32)
    for layer in _layers(model, progress, "ablating heads"):
        ablations = [HeadAblation(layer, (head,), mode, rows=(head,)) for head in range(heads)]  # type: ignore[arg-type]
        with model.intervene(*ablations):
            effects[layer] = _scores(bound, heads) - before
    return HeadSweep(bound.description, before, effects, mode)


def _patching_pair(
    model: ModelInterface, clean: str, corrupted: str, target: Target | None
) -> tuple[BoundTarget, float, float, list[str]]:
    """The target bound on ``corrupted`` (fixed on the clean run: a ``NextToken()`` keeps the clean
    run's prediction), its value on both runs, and the clean tokens. The texts must have the same
    number of tokens."""
    clean_tokens, corrupted_tokens = model.tokenize(clean), model.tokenize(corrupted)
    if len(corrupted_tokens) != len(clean_tokens):
        raise ValueError(
            f"the clean text has {len(clean_tokens)} tokens and the corrupted one {len(corrupted_tokens)}: "
            "patching position by position needs texts of the same token count"
        )
    fixed = (target or NextToken()).pinned(model, clean_tokens)
    clean_bound, bound = fixed.bind(model, clean_tokens), fixed.bind(model, corrupted_tokens)
    clean_value, corrupted_value = float(_scores(clean_bound, 1)[0]), float(_scores(bound, 1)[0])
    return bound, clean_value, corrupted_value, [token.text for token in clean_tokens]


def residual_patching_sweep(
    model: ModelInterface, clean: str, corrupted: str, target: Target | None = None, *, progress: bool = False
) -> PatchSweep:
    """Patch ``clean``'s residual stream into ``corrupted`` at each layer × position alone and read the
    target (fixed on the clean run) each time: one forward per layer, whose rows each patch one
    position. The two texts must have the same number of tokens. ``progress``: a progress bar over
    the layers."""
    bound, clean_value, corrupted_value, tokens = _patching_pair(model, clean, corrupted, target)
    clean_trace = model.trace(clean, layers=[])
    n = len(tokens)
    values = np.zeros((model.num_layers, n), dtype=np.float32)
    for layer in _layers(model, progress, "patching the residual stream"):
        states = torch.from_numpy(clean_trace.hidden_state(layer))
        patches = [ResidualPatch(layer, (p,), states[p : p + 1], rows=(p,)) for p in range(n)]
        with model.intervene(*patches):
            values[layer] = _scores(bound, n)
    return PatchSweep(bound.description, clean_value, corrupted_value, values, tokens)


def head_patching_sweep(
    model: ModelInterface, clean: str, corrupted: str, target: Target | None = None, *, progress: bool = False
) -> PatchSweep:
    """Patch each head's output (:class:`~deepseek_viz.HeadPatch`, at every position) from ``clean``
    into ``corrupted`` alone and read the target (fixed on the clean run): one forward per layer, whose
    ``num_heads`` rows each patch one head; ``values[layer, head]`` (``kind="heads"``). The two texts
    must have the same number of tokens. ``progress``: a progress bar over the layers."""
    bound, clean_value, corrupted_value, tokens = _patching_pair(model, clean, corrupted, target)
    heads = model.num_heads
    values = np.zeros((model.num_layers, heads), dtype=np.float32)
    for layer in _layers(model, progress, "patching heads"):
        outputs = model.head_outputs(clean, layer)  # [n, heads, width]
        patches = [HeadPatch(layer, (h,), None, outputs[:, h : h + 1], rows=(h,)) for h in range(heads)]
        with model.intervene(*patches):
            values[layer] = _scores(bound, heads)
    return PatchSweep(bound.description, clean_value, corrupted_value, values, tokens, kind="heads")
