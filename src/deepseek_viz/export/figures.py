"""Static figures (a projection's scatter, the views' heatmaps), saved as offline HTML, PNG or SVG.

* :func:`scatter_figure` — points coloured by a categorical label (one legend entry per label), hover
  text per point; WebGL (``Scattergl``) in 2-D, ``Scatter3d`` in 3-D.
* :func:`token_paths_figure` — token mode: every token at every layer, coloured by layer, with a line
  tracing each token through the layers.
* :func:`token_heatmap` — a heatmap whose rows and columns are named by token strings (the views'
  ``figure()``).
* :func:`to_html` — a self-contained HTML file (plotly.js embedded, no network needed to open it).
* :func:`to_png` / :func:`to_svg` — through kaleido (plotly's exporter; needs ``pip install kaleido``
  and a Chrome or Chromium on the machine, found on ``PATH``; it downloads nothing) or, when that is
  unavailable, redrawn with matplotlib from the figure's own data (:mod:`.matplotlib_fallback`:
  scatter, heatmap and bar traces).
* :func:`save_figure` — one of those three, chosen by the file's suffix.

Labels and hover texts are escaped (:mod:`.text`): plotly renders a subset of HTML in them, and a token
like ``<b>`` must show as itself. The attribution and routing figures are in
:mod:`.attribution_figures` and :mod:`.routing_figures`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative, sample_colorscale

from ..analysis.embeddings import TokenPaths
from ..analysis.projection import Projection
from . import matplotlib_fallback
from .text import hover_text, label, plot_text


def label_colors(count: int) -> list[str]:
    """``count`` distinct colours: plotly's qualitative palettes, then evenly along Turbo."""
    palette = list(qualitative.Plotly) + list(qualitative.Dark24)
    if count <= len(palette):
        return palette[:count]
    return list(sample_colorscale("Turbo", [i / max(count - 1, 1) for i in range(count)]))


def _coords(points: Projection | np.ndarray) -> np.ndarray:
    coords = points.coords if isinstance(points, Projection) else np.asarray(points, dtype=np.float32)
    if coords.ndim != 2 or coords.shape[1] not in (2, 3):
        raise ValueError(f"coordinates must be [n, 2] or [n, 3], not shape {coords.shape}")
    return coords


def scatter_figure(
    points: Projection | np.ndarray,
    labels: Sequence[Any] | None = None,
    hover: Sequence[str] | None = None,
    *,
    title: str | None = None,
    marker_size: float | None = None,
    legend_title: str | None = None,
) -> go.Figure:
    """A scatter of a projection (or ``[n, 2|3]`` coordinates).

    ``labels`` (any values, shown with ``str``) colour the points, one trace and legend entry per
    distinct label in order of first appearance; ``hover`` gives each point's hover text (e.g. its text,
    cut at 300 characters). Each trace's ``customdata`` holds the indices of its points.
    """
    coords = _coords(points)
    n, dims = coords.shape
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} points")
    if hover is not None and len(hover) != n:
        raise ValueError(f"{len(hover)} hover texts for {n} points")
    names = [str(label) for label in labels] if labels is not None else [""] * n
    order = list(dict.fromkeys(names))
    colors = label_colors(len(order))
    size = marker_size if marker_size is not None else (3 if dims == 3 else 7 if n <= 2000 else 4)
    hover_texts = (
        np.array([hover_text(str(text)) for text in hover], dtype=object) if hover is not None else None
    )
    name_array = np.array(names, dtype=object)

    figure = go.Figure()
    for name, color in zip(order, colors, strict=True):
        index = np.flatnonzero(name_array == name)
        shown = plot_text(name)
        common: dict[str, Any] = {
            "mode": "markers",
            "name": shown,
            "legendgroup": shown,
            "customdata": index,
            "marker": {"color": color, "size": size, "opacity": 0.85},
            "hovertemplate": ("%{hovertext}" if hover_texts is not None else "point %{customdata}")
            + f"<extra>{shown}</extra>",
        }
        if hover_texts is not None:
            common["hovertext"] = hover_texts[index].tolist()
        if dims == 2:
            figure.add_trace(go.Scattergl(x=coords[index, 0], y=coords[index, 1], **common))
        else:
            figure.add_trace(
                go.Scatter3d(x=coords[index, 0], y=coords[index, 1], z=coords[index, 2], **common)
            )
    _layout(figure, points, dims, title, legend_title, show_legend=labels is not None)
    return figure


def _layout(
    figure: go.Figure,
    points: Projection | np.ndarray,
    dims: int,
    title: str | None,
    legend_title: str | None,
    show_legend: bool,
) -> None:
    method = points.method if isinstance(points, Projection) else None
    axis = {"pca": "PC", "umap": "UMAP ", "tsne": "t-SNE "}.get(method or "", "")
    titles = [f"{axis}{i + 1}" if axis else "" for i in range(dims)]
    if isinstance(points, Projection) and points.explained_variance_ratio is not None:
        titles = [
            f"{t} ({100 * float(r):.1f}%)"
            for t, r in zip(titles, points.explained_variance_ratio, strict=True)
        ]
    figure.update_layout(
        title={"text": plot_text(title)} if title else None,
        showlegend=show_legend,
        legend={"title": {"text": plot_text(legend_title)}} if legend_title else {},
        template="plotly_white",
        margin={"l": 40, "r": 20, "t": 50 if title else 20, "b": 40},
    )
    if dims == 2:
        figure.update_xaxes(title_text=titles[0])
        figure.update_yaxes(title_text=titles[1], scaleanchor="x", scaleratio=1)
    else:
        figure.update_scenes(xaxis_title=titles[0], yaxis_title=titles[1], zaxis_title=titles[2])


def token_paths_figure(
    paths: TokenPaths, points: Projection | np.ndarray, *, title: str | None = None
) -> go.Figure:
    """Token mode: ``points`` (a projection of ``paths.flat()``) coloured by layer, one line per token.

    Hovering a point shows its token, position and layer.
    """
    coords = _coords(points)
    grid = paths.unflatten(coords)  # [layer, token, dims]
    dims = coords.shape[1]
    lines: list[list[float | None]] = [[] for _ in range(dims)]
    for column in range(paths.num_tokens):
        for axis in range(dims):
            lines[axis].extend([*grid[:, column, axis].tolist(), None])
    style = {"mode": "lines", "line": {"color": "rgba(120,120,120,0.35)", "width": 1}}
    line_trace = (
        go.Scattergl(x=lines[0], y=lines[1], hoverinfo="skip", showlegend=False, **style)
        if dims == 2
        else go.Scatter3d(x=lines[0], y=lines[1], z=lines[2], hoverinfo="skip", showlegend=False, **style)
    )
    hover = [
        f"{paths.tokens[column].text!r} (position {int(paths.positions[column])}), layer {layer}"
        for layer, column in zip(paths.point_layer.tolist(), paths.point_token.tolist(), strict=True)
    ]
    labels = [f"layer {layer}" for layer in paths.point_layer.tolist()]
    figure = scatter_figure(points, labels, hover, title=title, legend_title="layer")
    figure.add_trace(line_trace)
    figure.data = (figure.data[-1], *figure.data[:-1])  # lines under the points
    return figure


def token_heatmap(
    values: np.ndarray,
    *,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    title: str,
    x_title: str,
    y_title: str,
    colorscale: str,
    zmin: float,
    zmax: float,
    colorbar_title: str,
    cell_text: Sequence[Sequence[str]] | None = None,
) -> go.Figure:
    """A heatmap of ``values`` ``[row, column]``, row 0 on top, rows and columns named by token strings.

    Labels and ``cell_text`` show literally (escaped, whitespace-only tokens made visible); cells sit at
    numeric positions with the labels as tick texts, so repeated tokens keep a row or column each.
    """
    rows, columns = values.shape
    if (len(y_labels), len(x_labels)) != (rows, columns):
        raise ValueError(f"{len(y_labels)} × {len(x_labels)} labels for a {rows} × {columns} heatmap")
    heatmap: dict[str, Any] = {
        "z": values,
        "x": list(range(columns)),
        "y": list(range(rows)),
        "colorscale": colorscale,
        "zmin": zmin,
        "zmax": zmax,
        "colorbar": {"title": {"text": plot_text(colorbar_title)}},
        "hovertemplate": f"{plot_text(y_title)} %{{y}}, {plot_text(x_title)} %{{x}}: %{{z:.3g}}<extra></extra>",
    }
    if cell_text is not None:
        heatmap["text"] = [[label(text) for text in row] for row in cell_text]
        heatmap["texttemplate"] = "%{text}"
        heatmap["textfont"] = {"size": 11}
        heatmap["hovertemplate"] = heatmap["hovertemplate"].replace("<extra>", " %{text}<extra>")
    figure = go.Figure(go.Heatmap(**heatmap))
    figure.update_layout(
        title={"text": plot_text(title), "font": {"size": 14}},
        template="plotly_white",
        margin={"l": 80, "r": 20, "t": 60, "b": 80},
    )
    figure.update_xaxes(
        title_text=plot_text(x_title),
        tickmode="array",
        tickvals=list(range(columns)),
        ticktext=[label(text) for text in x_labels],
    )
    figure.update_yaxes(
        title_text=plot_text(y_title),
        tickmode="array",
        tickvals=list(range(rows)),
        ticktext=[label(text) for text in y_labels],
        autorange="reversed",
    )
    return figure


def to_html(figure: go.Figure, path: str | Path) -> Path:
    """Write ``figure`` as one self-contained HTML file (plotly.js inside; opens offline)."""
    target = Path(path)
    figure.write_html(target, include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    return target


Engine = Literal["auto", "kaleido", "matplotlib"]


def to_png(
    figure: go.Figure,
    path: str | Path,
    *,
    width: int = 900,
    height: int = 700,
    scale: float = 2.0,
    engine: Engine = "auto",
) -> str:
    """Write ``figure`` as a PNG; returns the engine that drew it (``"kaleido"`` or ``"matplotlib"``).

    ``engine="auto"`` tries kaleido (exactly the plotly rendering; needs the ``kaleido`` package and a
    Chrome/Chromium found on ``PATH``) and falls back to matplotlib (the same points, cells, bars,
    colours, legend and lines, drawn by matplotlib; hover text is dropped) with a warning saying why.
    """
    return _write_image(figure, Path(path), "png", width, height, scale, engine)


def to_svg(
    figure: go.Figure, path: str | Path, *, width: int = 900, height: int = 700, engine: Engine = "auto"
) -> str:
    """Write ``figure`` as an SVG; returns the engine that drew it, chosen as by :func:`to_png`."""
    return _write_image(figure, Path(path), "svg", width, height, 1.0, engine)


def save_figure(figure: go.Figure, path: str | Path, **options: Any) -> Path:
    """Write ``figure`` as PNG, SVG or HTML, by the suffix of ``path``; ``options`` go to
    :func:`to_png` / :func:`to_svg` (``width``, ``height``, ``engine``, …). Returns the path."""
    target = Path(path)
    writers: dict[str, Callable[..., object]] = {
        ".png": to_png,
        ".svg": to_svg,
        ".html": to_html,
        ".htm": to_html,
    }
    writer = writers.get(target.suffix.lower())
    if writer is None:
        raise ValueError(f"cannot tell the format of {target.name!r}: use a .png, .svg or .html file name")
    writer(figure, target, **options)
    return target


def _write_image(
    figure: go.Figure,
    target: Path,
    fmt: Literal["png", "svg"],
    width: int,
    height: int,
    scale: float,
    engine: Engine,
) -> str:
    if engine not in ("auto", "kaleido", "matplotlib"):
        raise ValueError(f"engine must be 'auto', 'kaleido' or 'matplotlib', not {engine!r}")
    if engine in ("auto", "kaleido"):
        try:
            figure.write_image(target, format=fmt, width=width, height=height, scale=scale)
            return "kaleido"
        except Exception as error:  # missing package, no browser, browser failed to start
            if engine == "kaleido":
                raise
            warnings.warn(
                f"{fmt.upper()} export through kaleido failed ({type(error).__name__}: {error}); drawing it "
                "with matplotlib instead. For plotly's own rendering: pip install kaleido, with Chromium on PATH.",
                stacklevel=3,
            )
    matplotlib_fallback.draw(figure, target, fmt, width, height, scale)
    return "matplotlib"
