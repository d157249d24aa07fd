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
  unavailable, redrawn with matplotlib from the figure's own data (scatter and heatmap traces).
* :func:`save_figure` — one of those three, chosen by the file's suffix.

Labels and hover texts are escaped: plotly renders a subset of HTML in them, and a token like ``<b>``
must show as itself.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative, sample_colorscale

from ..analysis.attribution.charts import CONTROL_PICTURES, label
from ..analysis.embeddings import TokenPaths
from ..analysis.projection import Projection

HOVER_CHARS = 300  # longer hover texts are cut
HOVER_LINE = 80  # and wrapped at about this many characters
#: Fonts of the matplotlib fallback, in the order it tries them for each glyph (Latin, then CJK).
MATPLOTLIB_FONTS = ("DejaVu Sans", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP")


def plot_text(text: str) -> str:
    """``text`` as plotly shows it literally: ``&``, ``<``, ``>`` escaped, newlines as ``<br>``, other
    control characters as their pictures."""
    escaped = html.escape(text.translate(CONTROL_PICTURES), quote=False)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def _hover(text: str) -> str:
    if len(text) > HOVER_CHARS:
        text = text[: HOVER_CHARS - 1] + "…"
    lines = []
    for paragraph in text.split("\n"):
        while len(paragraph) > HOVER_LINE:
            cut = paragraph.rfind(" ", 0, HOVER_LINE)
            cut = cut if cut > HOVER_LINE // 2 else HOVER_LINE
            lines.append(paragraph[:cut])
            paragraph = paragraph[cut:].lstrip(" ")
        lines.append(paragraph)
    return "<br>".join(html.escape(line, quote=False) for line in lines)


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
    hover_texts = np.array([_hover(str(text)) for text in hover], dtype=object) if hover is not None else None
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
    Chrome/Chromium found on ``PATH``) and falls back to matplotlib (the same points, cells, colours,
    legend and lines, drawn by matplotlib; hover text is dropped) with a warning saying why.
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
    _matplotlib_image(figure, target, fmt, width, height, scale)
    return "matplotlib"


def _unescape(text: str | None) -> str:
    return html.unescape((text or "").replace("<br>", "\n"))


def _matplotlib_image(
    figure: go.Figure, target: Path, fmt: str, width: int, height: int, scale: float
) -> None:
    """Draw ``figure`` with matplotlib, each glyph from the first installed font of
    :data:`MATPLOTLIB_FONTS` that has it (a glyph none has is drawn as a box, without a warning)."""
    from matplotlib import font_manager, rc_context

    installed = {font.name for font in font_manager.fontManager.ttflist}
    families = [family for family in MATPLOTLIB_FONTS if family in installed] or ["sans-serif"]
    with rc_context({"font.family": families}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        _matplotlib_draw(figure, target, fmt, width, height, scale)


def _matplotlib_draw(
    figure: go.Figure, target: Path, fmt: str, width: int, height: int, scale: float
) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    canvas_figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(canvas_figure)
    three_d = any(trace.type == "scatter3d" for trace in figure.data)
    axes: Any = canvas_figure.add_subplot(projection="3d" if three_d else None)
    labelled = False
    for trace in figure.data:
        if trace.type == "heatmap":
            _matplotlib_heatmap(canvas_figure, axes, trace, figure.layout)
            continue
        if trace.type not in ("scatter", "scattergl", "scatter3d"):
            raise ValueError(
                f"the matplotlib fallback draws scatter and heatmap traces, not {trace.type!r}: "
                "install kaleido (with Chromium on PATH) to export this figure"
            )
        columns = [trace.x, trace.y, trace.z] if three_d else [trace.x, trace.y]
        values = [np.array([np.nan if v is None else v for v in c], dtype=float) for c in columns]
        mode = trace.mode or "markers"
        if "lines" in mode:
            color = trace.line.color if trace.line and trace.line.color else "grey"
            axes.plot(*values, color=_mpl_color(color), linewidth=0.8)
        if "markers" in mode:
            name = _unescape(trace.name) if trace.showlegend is not False else None
            labelled = labelled or bool(name)
            size = float(trace.marker.size or 6) if trace.marker else 6.0
            color = trace.marker.color if trace.marker else None
            axes.scatter(
                *values,
                s=size**2 / 2,
                color=_mpl_color(color) if isinstance(color, str) else None,
                alpha=0.85,
                label=name or None,
                linewidths=0,
            )
    layout = figure.layout
    if layout.title and layout.title.text:
        axes.set_title(_unescape(layout.title.text))
    if three_d:
        scene = layout.scene
        axes.set_xlabel(_unescape(scene.xaxis.title.text))
        axes.set_ylabel(_unescape(scene.yaxis.title.text))
        axes.set_zlabel(_unescape(scene.zaxis.title.text))
    else:
        axes.set_xlabel(_unescape(layout.xaxis.title.text))
        axes.set_ylabel(_unescape(layout.yaxis.title.text))
        if not any(trace.type == "heatmap" for trace in figure.data):
            axes.set_aspect("equal", adjustable="datalim")
    if labelled and layout.showlegend is not False:
        legend_title = layout.legend.title.text if layout.legend and layout.legend.title else None
        axes.legend(title=_unescape(legend_title) or None, fontsize="small", markerscale=1.5, loc="best")
    canvas_figure.tight_layout()
    canvas_figure.savefig(target, format=fmt, dpi=dpi * scale)


def _matplotlib_heatmap(canvas_figure: Any, axes: Any, trace: Any, layout: Any) -> None:
    """A plotly heatmap trace as an ``imshow``: the same colour scale, range, tick labels and cell text,
    row 0 on top where the y axis is reversed (as in :func:`token_heatmap`)."""
    from matplotlib.colors import LinearSegmentedColormap

    stops = trace.colorscale or [(i / 10, c) for i, c in enumerate(sample_colorscale("Viridis", 11))]
    colormap = LinearSegmentedColormap.from_list("plotly", [(float(at), _mpl_color(c)) for at, c in stops])
    image = axes.imshow(
        np.asarray(trace.z, dtype=float),
        cmap=colormap,
        vmin=trace.zmin,
        vmax=trace.zmax,
        aspect="auto",
        origin="upper" if layout.yaxis.autorange == "reversed" else "lower",
    )
    bar = canvas_figure.colorbar(image, ax=axes)
    bar.set_label(_unescape(trace.colorbar.title.text))
    for set_ticks, axis, names, rotation in (
        (axes.set_xticks, layout.xaxis, trace.x, 90),
        (axes.set_yticks, layout.yaxis, trace.y, 0),
    ):
        if axis.tickvals is not None:
            set_ticks(
                list(axis.tickvals), [_unescape(t) for t in axis.ticktext], fontsize=7, rotation=rotation
            )
        elif names is not None:
            set_ticks(range(len(names)), [_unescape(str(n)) for n in names], fontsize=7, rotation=rotation)
    if trace.text is not None:
        for (row, column), text in np.ndenumerate(np.asarray(trace.text, dtype=object)):
            red, green, blue, _ = image.cmap(image.norm(image.get_array()[row, column]))
            ink = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"
            axes.text(column, row, _unescape(str(text)), ha="center", va="center", fontsize=7, color=ink)


def _mpl_color(color: str) -> Any:
    """Plotly colour strings (``#rrggbb``, ``rgb(…)``, ``rgba(…)``) for matplotlib."""
    color = color.strip()
    if color.startswith(("rgb(", "rgba(")):
        parts = [float(p) for p in color[color.index("(") + 1 : -1].split(",")]
        rgba = [p / 255 for p in parts[:3]] + ([parts[3]] if len(parts) > 3 else [1.0])
        return tuple(rgba)
    return color
