"""The app's page: a heading naming the model (:func:`model_info`, read through the model interface
only), a collapsible help, export buttons, then the :class:`~deepseek_viz.widgets.Dashboard`.

``AppHeader`` (``js/src/app_header.ts``) marks its parts with ``data-testid``: ``app-header`` (root),
``app-title``, ``app-model-name``, ``app-model-info``, ``app-help`` (a ``<details>``), ``export-html``,
``export-figure`` (which view's figure), ``export-png``, ``export-svg``, ``export-status``.

An export is the ``export`` command: the kernel writes the file into a temporary folder and answers
with its bytes (one buffer) and a file name; the browser hands them to the visitor as a download (a
``Blob`` link clicked), which works in Voila, where the kernel's disk is not the visitor's.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import plotly.graph_objects as go
import traitlets

from ..export.figures import to_png, to_svg
from ..model import ModelInterface
from ..widgets import Dashboard
from ..widgets.base import bundle, require_bundle
from ..widgets.commands import Reply, command

PRODUCT = "deepseek-viz"


def format_count(count: int) -> str:
    """``1234`` → ``"1.2K"``, ``671_000_000_000`` → ``"671B"`` (three significant digits at most)."""
    for size, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= size:
            value = count / size
            text = f"{value:.3g}" if value < 1000 else f"{value:.0f}"
            return f"{text}{suffix}"
    return str(count)


def model_info(model: ModelInterface) -> str:
    """One line about ``model``, from its interface only: ``"deepseek_v3 · 4 layers × 6 heads · MoE:
    8 experts (top-2, 1 shared) on layers 1–3 · 1.2M parameters · cpu"``."""
    parts = [model.family, f"{model.num_layers} layers × {model.num_heads} heads"]
    if model.moe_layers:
        shared = f", {model.num_shared_experts} shared" if model.num_shared_experts else ""
        layers = model.moe_layers
        span = (
            f"{layers[0]}–{layers[-1]}"
            if len(layers) > 2 and list(layers) == list(range(layers[0], layers[-1] + 1))
            else ", ".join(map(str, layers))
        )
        parts.append(
            f"MoE: {model.num_experts} experts (top-{model.experts_per_token}{shared}) on layer"
            f"{'s' if len(layers) > 1 else ''} {span}"
        )
    else:
        parts.append("dense")
    parts.append(f"{format_count(model.structure().parameters)} parameters")
    parts.append(str(model.device))
    return " · ".join(parts)


#: The figures an app visitor can export, by key: label and how to get it from the dashboard.
FIGURES: dict[str, tuple[str, Callable[[Dashboard], go.Figure]]] = {
    "attention": ("attention heatmap", lambda board: board.attention.figure()),
    "routing": ("expert load", lambda board: _routing(board).load_figure()),
    "predictions": ("logit lens", lambda board: board.predictions.figure()),
    "attribution": ("token attributions", lambda board: board.attribution.figure()),
    "map": ("embedding map", lambda board: board.scatter.figure()),
}


def _routing(board: Dashboard) -> Any:
    if board.routing is None:
        raise ValueError("this model has no MoE layers: no routing figure")
    return board.routing


class AppHeader(anywidget.AnyWidget):
    """The app's heading, help and export buttons for ``dashboard`` (see the module docstring)."""

    _esm = bundle("app_header")

    product = traitlets.Unicode(PRODUCT).tag(sync=True)
    model_name = traitlets.Unicode("").tag(sync=True)
    model_info = traitlets.Unicode("").tag(sync=True)
    #: ``[[key, label], …]`` of the figures :data:`FIGURES` this model has.
    figures = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    has_generation = traitlets.Bool(False).tag(sync=True)

    def __init__(self, dashboard: Dashboard) -> None:
        require_bundle(type(self))
        model = dashboard.model
        figures = [[key, label] for key, (label, _) in FIGURES.items()]
        if dashboard.routing is None:
            figures = [pair for pair in figures if pair[0] != "routing"]
        super().__init__(
            model_name=model.name,
            model_info=model_info(model),
            figures=figures,
            has_generation=dashboard.generation is not None,
        )
        self._dashboard = dashboard

    def export(self, kind: str, figure: str = "attention") -> tuple[str, bytes]:
        """The file an export button gives: ``kind`` ``"html"`` (the dashboard's offline page,
        :meth:`Dashboard.save_html`), ``"png"`` or ``"svg"`` (``figure``, a key of :data:`FIGURES`);
        its name and bytes."""
        board = self._dashboard
        with tempfile.TemporaryDirectory(prefix="deepseek-viz-export-") as folder:
            if kind == "html":
                path = board.save_html(Path(folder) / "deepseek-viz-dashboard.html")
            elif kind in ("png", "svg"):
                if figure not in FIGURES:
                    raise ValueError(f"no figure {figure!r}: choose one of {', '.join(FIGURES)}")
                drawn = FIGURES[figure][1](board)
                path = Path(folder) / f"deepseek-viz-{figure}.{kind}"
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # kaleido missing: matplotlib draws it, said in the docs
                    (to_png if kind == "png" else to_svg)(drawn, path)
            else:
                raise ValueError(f"cannot export {kind!r}: choose html, png or svg")
            return path.name, path.read_bytes()

    @command
    def _export(self, msg: Any, _buffers: list[bytes]) -> Reply:
        name, data = self.export(str(msg.get("kind", "")), str(msg.get("figure", "attention")))
        mime = {"html": "text/html", "png": "image/png", "svg": "image/svg+xml"}[name.rsplit(".", 1)[1]]
        return {"name": name, "mime": mime, "size": len(data)}, [data]


class AppView(ipywidgets.VBox):
    """What the app shows: :class:`AppHeader` above the ``dashboard`` (attributes ``header``,
    ``dashboard``)."""

    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.header = AppHeader(dashboard)
        super().__init__([self.header, dashboard], layout=ipywidgets.Layout(width="100%"))
        self.add_class("dsv-app")
