"""Plotly figures of attributions: per-token bars of one explanation, global importance over a dataset.

Token strings are shown as text (:mod:`.text`). Categorical axes would merge repeated tokens, so bars
sit at numeric positions with the token strings as tick labels.
"""

from __future__ import annotations

import plotly.graph_objects as go

from ..analysis.attribution import METHOD_NAMES, Explanation, GlobalImportance
from .text import label

#: Axis titles of :attr:`GlobalImportance.aggregate`.
AGGREGATE_NAMES = {"mean_abs": "mean |score|", "mean": "mean score", "sum_abs": "total |score|"}


def token_bar_chart(
    explanation: Explanation, methods: str | list[str] | None = None, normalize: bool = True
) -> go.Figure:
    """Grouped bars of an :class:`Explanation`: for each token, one bar per method (scores divided by
    each method's max |score| when ``normalize``, so methods with different units share an axis)."""
    chosen = (
        list(explanation.methods) if methods is None else [methods] if isinstance(methods, str) else methods
    )
    positions = list(range(len(explanation.tokens)))
    names = [label(t) for t in explanation.token_texts]
    figure = go.Figure()
    for method in chosen:
        values = explanation.normalized(method) if normalize else explanation.scores[method]
        figure.add_trace(
            go.Bar(
                x=positions,
                y=values.tolist(),
                name=METHOD_NAMES.get(method, method),
                customdata=names,
                hovertemplate="%{customdata}: %{y:.4g}<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(
        barmode="group",
        title=label(f"Attribution of {explanation.target}"),
        yaxis_title="score / max |score|" if normalize else "score",
        xaxis={"tickmode": "array", "tickvals": positions, "ticktext": names, "title": "token"},
        legend_title="method",
    )
    return figure


def global_bar_chart(importance: GlobalImportance, top_k: int = 20) -> go.Figure:
    """Horizontal bars of a :class:`GlobalImportance`'s ``top_k`` most important token strings
    (largest on top)."""
    k = min(top_k, len(importance.tokens))
    names = [label(t) for t in importance.tokens[:k]][::-1]
    values = importance.values[:k][::-1]
    counts = importance.counts[:k][::-1]
    positions = list(range(k))
    figure = go.Figure(
        go.Bar(
            x=values.tolist(),
            y=positions,
            orientation="h",
            customdata=[[n, int(c)] for n, c in zip(names, counts, strict=True)],
            hovertemplate="%{customdata[0]}: %{x:.4g} (%{customdata[1]} occurrences)<extra></extra>",
        )
    )
    figure.update_layout(
        title=label(
            f"Global token importance ({METHOD_NAMES.get(importance.method, importance.method)}, "
            f"{importance.num_texts} texts): {importance.target}"
        ),
        xaxis_title=AGGREGATE_NAMES.get(importance.aggregate, importance.aggregate),
        yaxis={"tickmode": "array", "tickvals": positions, "ticktext": names},
        height=max(300, 24 * k + 120),
    )
    return figure
