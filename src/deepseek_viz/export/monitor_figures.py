"""Plotly figures of a monitor's history (:class:`~deepseek_viz.analysis.monitoring.MonitorStats`):
expert load over steps, head-score drift, next-token entropy and loss over steps.

Each history row is one closed window (or, on a long stream, several merged); the x axis is the step
that closed it (texts seen).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis.monitoring import HEAD_SCORES, MonitorStats, balance


def _no_history(stats: MonitorStats) -> None:
    if not len(stats.history):
        raise ValueError("the monitor has closed no step yet: there is no history to draw")


def monitor_load_figure(stats: MonitorStats, layer: int | None = None) -> go.Figure:
    """Expert load over steps: with ``layer`` (a MoE layer), a heatmap experts × steps of each expert's
    share of the routed slots; without, one line per MoE layer of its max/mean load (1 = even)."""
    _no_history(stats)
    if not stats.moe_layers:
        raise ValueError("the model has no MoE layer: there is no expert load")
    steps, load = stats.steps, stats.load_history
    if layer is None:
        figure = go.Figure(
            [
                go.Scatter(
                    x=steps,
                    y=[balance(row)["max_over_mean"][index] for row in load],
                    mode="lines+markers",
                    name=f"layer {moe_layer}",
                )
                for index, moe_layer in enumerate(stats.moe_layers)
            ]
        )
        figure.update_layout(
            title="Expert load imbalance over the stream (max / mean load)",
            xaxis_title="texts seen",
            yaxis_title="max / mean load",
        )
        return figure
    if layer not in stats.moe_layers:
        raise ValueError(f"layer {layer} is not a MoE layer; they are {list(stats.moe_layers)}")
    rows = load[:, stats.moe_layers.index(layer), :].T  # [expert, step]
    figure = go.Figure(
        go.Heatmap(
            z=rows,
            x=[str(step) for step in steps],
            y=[f"E{e}" for e in range(rows.shape[0])],
            colorscale="Viridis",
            colorbar={"title": "share"},
            hovertemplate="step %{x}, %{y}: %{z:.1%}<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"Expert load over the stream, layer {layer}",
        xaxis_title="texts seen",
        yaxis_title="routed expert",
    )
    return figure


def monitor_head_figure(stats: MonitorStats, score: str = "entropy", layer: int | None = None) -> go.Figure:
    """Head-score drift: ``score`` (one of ``Trace.HEAD_SCORES``) of every head over steps, a heatmap
    of heads (``L{layer}H{head}``; only ``layer``'s with one given) × steps, each head's change from its
    first row shown on hover."""
    _no_history(stats)
    if score not in HEAD_SCORES:
        raise ValueError(f"score must be one of {HEAD_SCORES}, not {score!r}")
    history = stats.head_history[..., HEAD_SCORES.index(score)]  # [step, layer, head]
    layers = range(stats.num_layers) if layer is None else [layer]
    if layer is not None and not 0 <= layer < stats.num_layers:
        raise ValueError(f"layer {layer} is out of range: the model has {stats.num_layers} layers")
    rows = np.concatenate([history[:, chosen, :].T for chosen in layers])  # [layer·head, step]
    labels = [f"L{chosen}H{head}" for chosen in layers for head in range(stats.num_heads)]
    change = rows - rows[:, :1]
    figure = go.Figure(
        go.Heatmap(
            z=rows,
            x=[str(step) for step in stats.steps],
            y=labels,
            customdata=change,
            colorscale="Magma",
            colorbar={"title": score.replace("_", " ")},
            hovertemplate="step %{x}, %{y}: %{z:.3f} (change %{customdata:+.3f})<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"Head {score.replace('_', ' ')} over the stream",
        xaxis_title="texts seen",
        yaxis_autorange="reversed",
    )
    return figure


def monitor_loss_figure(stats: MonitorStats) -> go.Figure:
    """Next-token entropy and loss (and a continuation's loss, where known) over steps, in nats."""
    _no_history(stats)
    lines = [
        ("next-token entropy", stats.entropy_history),
        ("loss (own next tokens)", stats.loss_history),
        ("continuation loss", stats.continuation_loss_history),
    ]
    figure = go.Figure(
        [
            go.Scatter(x=stats.steps, y=values, mode="lines+markers", name=name)
            for name, values in lines
            if np.isfinite(values).any()
        ]
    )
    figure.update_layout(title="Predictions over the stream", xaxis_title="texts seen", yaxis_title="nats")
    return figure
