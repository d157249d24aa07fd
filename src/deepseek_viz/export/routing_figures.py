"""Plotly figures of :class:`~deepseek_viz.analysis.routing_stats.RoutingStatistics`: expert load
per MoE layer, and expert co-activation in one layer."""

from __future__ import annotations

import plotly.graph_objects as go

from ..analysis.routing_stats import RoutingStatistics


def expert_load_figure(stats: RoutingStatistics) -> go.Figure:
    """Heatmap of expert load (share of token-slots), MoE layers × experts."""
    figure = go.Figure(
        go.Heatmap(
            z=stats.load,
            x=[f"E{e}" for e in range(stats.load.shape[1])],
            y=[f"layer {layer}" for layer in stats.layers],
            colorscale="Viridis",
            colorbar={"title": "share"},
            hovertemplate="%{y}, %{x}: %{z:.1%}<extra></extra>",
        )
    )
    figure.update_layout(title=f"Expert load over {stats.num_tokens} tokens", xaxis_title="routed expert")
    return figure


def coactivation_figure(stats: RoutingStatistics, layer: int) -> go.Figure:
    """Heatmap of how often two routed experts serve the same token in ``layer``."""
    matrix = stats.coactivation[stats.layers.index(layer)]
    labels = [f"E{e}" for e in range(matrix.shape[0])]
    figure = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, colorscale="Blues"))
    figure.update_layout(title=f"Expert co-activation, layer {layer}", yaxis_autorange="reversed")
    return figure
