"""Plotly figure of a group comparison: the target per group, and the top tokens' mean score per group.

Token strings, group names and texts are shown literally (:mod:`.text`). Token bars sit at numeric
positions with the token strings as tick labels, so two token strings that label alike never merge.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.attribution import METHOD_NAMES
from ..analysis.groups import GroupComparison
from .text import hover_text, label, plot_text


def group_figure(result: GroupComparison, tokens: Literal["top", "differences"] = "top") -> go.Figure:
    """Left: the target's value on each text, one box (with every text as a point) per group, side by
    side. Right: horizontal bars of the tokens' mean attribution, one bar per group and token —
    ``tokens="top"``: the token strings of largest ``|mean|`` in any group (a group that never has a
    token has no bar there); ``"differences"``: those seen in several groups whose means differ most.

    Each group has one box trace and one bar trace, in one colour, under one legend entry."""
    if tokens not in ("top", "differences"):
        raise ValueError(f"tokens must be 'top' or 'differences', not {tokens!r}")
    names, means = (
        (result.tokens, result.means) if tokens == "top" else (result.differences, result.difference_means)
    )
    k = len(names)
    positions = list(range(k))[::-1]  # the first token on top
    ticks = [label(name) for name in names]
    colours = plotly.colors.qualitative.Plotly
    method = METHOD_NAMES.get(result.method, result.method)
    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.4, 0.6],
        horizontal_spacing=0.18,
        subplot_titles=(
            "target per text",
            f"mean {plot_text(method)} per token" + (" (differ most)" if tokens == "differences" else ""),
        ),
    )
    for g, group in enumerate(result.groups):
        colour = colours[g % len(colours)]
        name = label(group.name)
        figure.add_trace(
            go.Box(
                y=group.values.tolist(),
                name=name,
                legendgroup=name,
                marker_color=colour,
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                boxmean=True,
                hovertext=[hover_text(result.texts[i]) for i in group.indices],
                hoverinfo="y+text",
            ),
            row=1,
            col=1,
        )
        column = means[:, g] if k else np.zeros(0)
        figure.add_trace(
            go.Bar(
                x=[None if np.isnan(v) else float(v) for v in column],
                y=positions,
                orientation="h",
                name=name,
                legendgroup=name,
                showlegend=False,
                marker_color=colour,
                customdata=ticks,
                hovertemplate="%{customdata}: %{x:.4g}<extra>%{fullData.name}</extra>",
            ),
            row=1,
            col=2,
        )
    title = f"By group ({len(result.texts)} texts): {result.target}"
    if not result.consistent:
        title += " — the texts' targets differ, values do not compare"
    if result.interventions:
        title += f" — under {len(result.interventions)} intervention(s)"
    figure.update_layout(
        title=label(title),
        barmode="group",
        legend_title="group",
        height=max(400, 22 * k * max(1, len(result.groups)) // 2 + 160),
    )
    figure.update_yaxes(title_text="target value", row=1, col=1)
    figure.update_yaxes(tickmode="array", tickvals=positions, ticktext=ticks, row=1, col=2)
    figure.update_xaxes(title_text="mean score", row=1, col=2)
    return figure
