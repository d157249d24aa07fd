"""Plotly figures of intervention sweeps: each head's ablation effect, each patch's recovery."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis.causal import HeadSweep, PatchSweep
from .figures import token_heatmap


def sweep_figure(sweep: HeadSweep | PatchSweep) -> go.Figure:
    """A layer × head heatmap of a :class:`HeadSweep` (the target's change when each head is ablated;
    red raises it, blue lowers it), or a layer × token (``kind="residual"``) or layer × head
    (``kind="heads"``) heatmap of a :class:`PatchSweep` (the share of the clean-corrupted gap each
    patch recovers)."""
    if isinstance(sweep, HeadSweep):
        values = sweep.effects
        reach = float(np.abs(values).max()) or 1.0
        return token_heatmap(
            values,
            x_labels=[str(head) for head in range(values.shape[1])],
            y_labels=[f"layer {layer}" for layer in range(values.shape[0])],
            title=f"{sweep.description}: change when one head is {sweep.mode}-ablated (before {sweep.before:.3g})",
            x_title="head",
            y_title="layer",
            colorscale="RdBu_r",
            zmin=-reach,
            zmax=reach,
            colorbar_title="change",
        )
    heads = sweep.kind == "heads"
    return token_heatmap(
        sweep.recovered,
        x_labels=[str(head) for head in range(sweep.values.shape[1])] if heads else sweep.tokens,
        y_labels=[f"layer {layer}" for layer in range(sweep.values.shape[0])],
        title=f"{sweep.description}: share recovered by patching the clean run{' head' * heads} in (clean "
        f"{sweep.clean:.3g}, corrupted {sweep.corrupted:.3g})",
        x_title="head" if heads else "position",
        y_title="layer" if heads else "residual stream entering layer",
        colorscale="RdBu_r",
        zmin=-1.0,
        zmax=1.0,
        colorbar_title="recovered",
    )
