"""Plotly figures of attributions: per-token bars of one explanation, global importance over a dataset.

Token strings are shown as text: plotly reads a few HTML tags in labels, so ``&``, ``<`` and ``>`` are
escaped; whitespace is made visible. Categorical axes would merge repeated tokens, so bars sit at
numeric positions with the token strings as tick labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

if TYPE_CHECKING:
    from .explanation import Explanation
    from .global_importance import GlobalImportance

METHOD_NAMES = {
    "shap": "SHAP",
    "lime": "LIME",
    "input_x_gradient": "input × gradient",
    "integrated_gradients": "integrated gradients",
}


#: Control characters other than tab and newlines, which SVG (so plotly's image export) cannot hold and a
#: label would not show, mapped to their Unicode control pictures (``\x10`` → ``␐``).
CONTROL_PICTURES = {code: 0x2400 + code for code in range(32) if chr(code) not in "\t\n\r"} | {0x7F: 0x2421}


def label(text: str) -> str:
    """A token string safe and visible as a plotly label."""
    visible = text.replace("\n", "↵").replace("\t", "⇥").replace("\r", "␍").translate(CONTROL_PICTURES)
    if visible.strip() == "":
        visible = visible.replace(" ", "␣") or "∅"
    return visible.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def token_bar_chart(
    explanation: Explanation, methods: str | list[str] | None = None, normalize: bool = True
) -> go.Figure:
    """Grouped bars: for each token, one bar per method (scores divided by each method's max |score|
    when ``normalize``, so methods with different units share an axis)."""
    chosen = (
        list(explanation.methods) if methods is None else [methods] if isinstance(methods, str) else methods
    )
    positions = list(range(len(explanation.tokens)))
    figure = go.Figure()
    for method in chosen:
        values = explanation.normalized(method) if normalize else explanation.scores[method]
        figure.add_trace(
            go.Bar(
                x=positions,
                y=values.tolist(),
                name=METHOD_NAMES.get(method, method),
                customdata=[label(t) for t in explanation.token_texts],
                hovertemplate="%{customdata}: %{y:.4g}<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(
        barmode="group",
        title=label(f"Attribution of {explanation.target}"),
        yaxis_title="score / max |score|" if normalize else "score",
        xaxis={
            "tickmode": "array",
            "tickvals": positions,
            "ticktext": [label(t) for t in explanation.token_texts],
            "title": "token",
        },
        legend_title="method",
    )
    return figure


def global_bar_chart(importance: GlobalImportance, top_k: int = 20) -> go.Figure:
    """Horizontal bars of the ``top_k`` most important token strings (largest on top)."""
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
    aggregate = {"mean_abs": "mean |score|", "mean": "mean score", "sum_abs": "total |score|"}.get(
        importance.aggregate, importance.aggregate
    )
    figure.update_layout(
        title=label(
            f"Global token importance ({METHOD_NAMES.get(importance.method, importance.method)}, "
            f"{importance.num_texts} texts): {importance.target}"
        ),
        xaxis_title=aggregate,
        yaxis={"tickmode": "array", "tickvals": positions, "ticktext": names},
        height=max(300, 24 * k + 120),
    )
    return figure
