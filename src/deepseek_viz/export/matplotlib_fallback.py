"""PNG/SVG of a plotly figure drawn with matplotlib, from the figure's own data, where kaleido cannot.

Draws scatter (2-D and 3-D: markers and lines), heatmap (with cell text) and bar traces (vertical and
horizontal, grouped or overlaid), with the figure's titles, tick labels, colour scales and legend;
hover text is dropped. Text shows literally: plotly's markup is undone (:func:`.text.unescape`) and
matplotlib's ``$…$`` maths is off.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from .text import unescape

#: Fonts, in the order tried for each glyph (Latin, then CJK).
MATPLOTLIB_FONTS = ("DejaVu Sans", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP")
SCATTER_TYPES = ("scatter", "scattergl", "scatter3d")
#: Share of a category's slot the bars of that category fill together (plotly's default gap is 0.2).
BAR_SLOT = 0.8


def draw(figure: go.Figure, target: Path, fmt: str, width: int, height: int, scale: float) -> None:
    """Write ``figure`` to ``target`` as ``fmt`` (``"png"`` or ``"svg"``), each glyph from the first
    installed font of :data:`MATPLOTLIB_FONTS` that has it (a glyph none has is drawn as a box, without
    a warning). :class:`ValueError` for a trace type it cannot draw."""
    from matplotlib import font_manager, rc_context

    unknown = sorted({t.type for t in figure.data} - {*SCATTER_TYPES, "heatmap", "bar"})
    if unknown:
        raise ValueError(
            f"the matplotlib fallback draws scatter, heatmap and bar traces, not {', '.join(map(repr, unknown))}: "
            "install kaleido (with Chromium on PATH) to export this figure"
        )
    bars = [trace for trace in figure.data if trace.type == "bar"]
    if bars and figure.layout.barmode in ("stack", "relative"):
        raise ValueError(
            f"the matplotlib fallback draws grouped and overlaid bars, not barmode {figure.layout.barmode!r}: "
            "install kaleido (with Chromium on PATH) to export this figure"
        )
    installed = {font.name for font in font_manager.fontManager.ttflist}
    families = [family for family in MATPLOTLIB_FONTS if family in installed] or ["sans-serif"]
    with rc_context({"font.family": families, "text.parse_math": False}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        _draw(figure, target, fmt, width, height, scale)


def _draw(figure: go.Figure, target: Path, fmt: str, width: int, height: int, scale: float) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    canvas_figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(canvas_figure)
    three_d = any(trace.type == "scatter3d" for trace in figure.data)
    axes: Any = canvas_figure.add_subplot(projection="3d" if three_d else None)
    layout = figure.layout
    labelled = False
    bars = [trace for trace in figure.data if trace.type == "bar"]
    if bars:
        labelled = _bars(axes, bars, layout)
    for trace in figure.data:
        if trace.type == "heatmap":
            _heatmap(canvas_figure, axes, trace, layout)
        elif trace.type in SCATTER_TYPES:
            labelled = _scatter(axes, trace, three_d) or labelled
    if layout.title and layout.title.text:
        axes.set_title(unescape(layout.title.text))
    if three_d:
        scene = layout.scene
        axes.set_xlabel(unescape(scene.xaxis.title.text))
        axes.set_ylabel(unescape(scene.yaxis.title.text))
        axes.set_zlabel(unescape(scene.zaxis.title.text))
    else:
        axes.set_xlabel(unescape(layout.xaxis.title.text))
        axes.set_ylabel(unescape(layout.yaxis.title.text))
        if all(trace.type in SCATTER_TYPES for trace in figure.data):
            axes.set_aspect("equal", adjustable="datalim")
    if labelled and layout.showlegend is not False:
        legend_title = layout.legend.title.text if layout.legend and layout.legend.title else None
        axes.legend(title=unescape(legend_title) or None, fontsize="small", markerscale=1.5, loc="best")
    canvas_figure.tight_layout()
    canvas_figure.savefig(target, format=fmt, dpi=dpi * scale)


def _scatter(axes: Any, trace: Any, three_d: bool) -> bool:
    """Draw a scatter trace's lines and markers; whether it added a legend entry."""
    columns = [trace.x, trace.y, trace.z] if three_d else [trace.x, trace.y]
    values = [np.array([np.nan if v is None else v for v in c], dtype=float) for c in columns]
    mode = trace.mode or "markers"
    if "lines" in mode:
        color = trace.line.color if trace.line and trace.line.color else "grey"
        axes.plot(*values, color=_mpl_color(color), linewidth=0.8)
    if "markers" not in mode:
        return False
    name = unescape(trace.name) if trace.showlegend is not False else None
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
    return bool(name)


def _bars(axes: Any, bars: list[Any], layout: Any) -> bool:
    """Draw bar traces side by side in each category (``barmode`` group, plotly's default) or over each
    other (``overlay``), with the category axis's tick labels; whether they added legend entries."""
    grouped = layout.barmode in (None, "group") and len(bars) > 1
    width = BAR_SLOT / len(bars) if grouped else BAR_SLOT
    categories: dict[Any, int] = {}  # a non-numeric category's slot, in order of first appearance
    horizontal = bars[0].orientation == "h"
    labelled = False
    for index, trace in enumerate(bars):
        sideways = trace.orientation == "h"
        values = np.asarray(trace.x if sideways else trace.y, dtype=float)
        where = trace.y if sideways else trace.x
        slots = np.arange(len(values), dtype=float) if where is None else _slots(where, categories)
        offset = (index - (len(bars) - 1) / 2) * width if grouped else 0.0
        name = unescape(trace.name) if trace.name and (len(bars) > 1 or trace.showlegend) else None
        color = trace.marker.color if trace.marker and isinstance(trace.marker.color, str) else None
        draw, size = (axes.barh, "height") if sideways else (axes.bar, "width")
        draw(slots + offset, values, label=name, color=_mpl_color(color) if color else None, **{size: width})
        labelled = labelled or bool(name)
    if horizontal:
        _ticks(axes.set_yticks, layout.yaxis, list(categories) or None, 0)
    else:
        _ticks(axes.set_xticks, layout.xaxis, list(categories) or None, 90)
    return labelled


def _slots(where: Any, categories: dict[Any, int]) -> np.ndarray:
    """Positions of bars along their category axis: numbers as they are, other categories one slot each."""
    if all(isinstance(value, (int, float, np.number)) for value in where):
        return np.asarray(where, dtype=float)
    return np.array([categories.setdefault(value, len(categories)) for value in where], dtype=float)


def _heatmap(canvas_figure: Any, axes: Any, trace: Any, layout: Any) -> None:
    """A plotly heatmap trace as an ``imshow``: the same colour scale, range, tick labels and cell text,
    row 0 on top where the y axis is reversed (as in :func:`.figures.token_heatmap`)."""
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
    bar.set_label(unescape(trace.colorbar.title.text))
    _ticks(axes.set_xticks, layout.xaxis, trace.x, 90)
    _ticks(axes.set_yticks, layout.yaxis, trace.y, 0)
    if trace.text is not None:
        for (row, column), text in np.ndenumerate(np.asarray(trace.text, dtype=object)):
            red, green, blue, _ = image.cmap(image.norm(image.get_array()[row, column]))
            ink = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"
            axes.text(column, row, unescape(str(text)), ha="center", va="center", fontsize=7, color=ink)


def _ticks(set_ticks: Any, axis: Any, names: Any, rotation: float) -> None:
    """Label an axis with the layout's ``tickvals``/``ticktext`` where it has them, else with ``names``
    (one per slot; none for a numeric axis)."""
    if axis.tickvals is not None:
        texts = axis.ticktext if axis.ticktext is not None else axis.tickvals
        set_ticks(list(axis.tickvals), [unescape(str(t)) for t in texts], fontsize=7, rotation=rotation)
    elif names is not None:
        set_ticks(range(len(names)), [unescape(str(n)) for n in names], fontsize=7, rotation=rotation)


def _mpl_color(color: str) -> Any:
    """Plotly colour strings (``#rrggbb``, ``rgb(…)``, ``rgba(…)``) for matplotlib."""
    color = color.strip()
    if color.startswith(("rgb(", "rgba(")):
        parts = [float(p) for p in color[color.index("(") + 1 : -1].split(",")]
        rgba = [p / 255 for p in parts[:3]] + ([parts[3]] if len(parts) > 3 else [1.0])
        return tuple(rgba)
    return color
