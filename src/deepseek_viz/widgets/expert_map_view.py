"""``ExpertMapView``: the routed experts of one MoE layer as points placed by what they do
(``analysis/expert_map.py``), coloured by their load over a corpus, drawn by the embedding scatter's
renderer (``js/src/scatter.ts``, ``mode`` ``"experts"``), linked to a :class:`RoutingView`.

Browser ids (``data-testid``): those of the scatter — ``embedding-scatter`` (root, ``data-mode="experts"``,
``data-points`` the number of experts), ``scatter-canvas``, ``scatter-legend`` (one ``legend-I`` per load
band), ``scatter-tooltip``, ``status``, the tools ``select-box`` / ``select-lasso``, the ``selection-panel``
listing the selected experts (``selection-item``: a click selects that expert, as a click on its point
does) — and ``scatter-caption``, the sentence saying which basis placed the experts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import plotly.graph_objects as go
import traitlets
from plotly.colors import sample_colorscale

from ..analysis.expert_map import (
    BASES,
    Basis,
    ExpertMap,
    LayerRouting,
    count_layer_routing,
    expert_map,
    moe_layer,
)
from ..analysis.projection import Method
from ..data import sample_texts
from ..export.figures import scatter_figure
from ..model import ModelInterface
from .embedding_scatter import PointsView
from .live_text import require_model

#: Load bands, as multiples of the even share ``1 / experts``: the upper bound of each and its name.
LOAD_BANDS: tuple[tuple[float, str], ...] = (
    (0.5, "< 0.5× even load"),
    (0.8, "0.5–0.8× even"),
    (1.25, "0.8–1.25× even"),
    (2.0, "1.25–2× even"),
    (float("inf"), "≥ 2× even load"),
)
UNUSED = "unused (no token)"
#: Grey for unused, then Plasma (purple → orange), low → high: its middle, so every band stands out from
#: the stage in both themes (≥ 2.4:1 against white and against JupyterLab Dark's #111).
BAND_COLOURS: tuple[str, ...] = ("#9e9e9e", *sample_colorscale("Plasma", [0.35, 0.45, 0.55, 0.64, 0.72]))


def load_band(counts: np.ndarray, load: np.ndarray) -> list[str]:
    """The band name of each expert: :data:`UNUSED` when no token chose it, else its
    :data:`LOAD_BANDS` entry by ``load × experts``."""
    relative = np.asarray(load, dtype=np.float64) * len(load)
    names = []
    for count, value in zip(np.asarray(counts).tolist(), relative.tolist(), strict=True):
        if count == 0:
            names.append(UNUSED)
        else:
            names.append(next(name for bound, name in LOAD_BANDS if value < bound))
    return names


def expert_tooltip(result: ExpertMap, expert: int) -> str:
    """One expert's tooltip: its load and the token strings most often routed to it."""
    share = 100 * float(result.load[expert])
    line = (
        f"expert {expert} · {share:.1f}% of the routed slots ({float(result.relative_load[expert]):.2f}× even)"
        f" · {int(result.counts[expert])} tokens"
    )
    top = ", ".join(f"“{text}” {count}" for text, count in result.top_tokens[expert][:6])
    return f"{line}\ntop tokens: {top}" if top else line


class ExpertMapView(PointsView):
    """The routed experts of MoE ``layer`` placed by ``by`` — ``"coactivation"`` (how often two experts are
    chosen for the same token over ``texts``) or ``"weights"`` (the router's weight rows: each expert's
    selecting direction) — projected to ``dims`` (2 or 3) with ``method`` (``"pca"`` or ``"umap"``),
    coloured by load over ``texts`` (default: the sample texts, ``dv.sample_texts()``) in bands relative to
    the even share, with a legend. In the browser: the embedding scatter's gestures (drag pans — in 3-D
    rotates —, the wheel zooms, hover shows an expert's load and top tokens, a click selects it).

    ``ExpertMapView(model, layer=None, by="coactivation", dims=2, method="pca", *, texts=None, seed=0,
    progress=False)``. The corpus is traced once for every MoE layer (``layer`` and ``by`` may then be
    changed from Python without tracing again).

    Traits: ``layer`` (an MoE layer), ``by``, ``selected_expert`` (``-1``: none; a click sets it, setting it
    rings that expert), ``description`` (read-only: which basis and projection placed the points), and
    the scatter's ``selected`` / ``clicked``. :meth:`link` drives a :class:`RoutingView`. Wire format: the
    scatter's (``_coords`` float32 ``[experts, dims]``, ``_labels`` uint8 load band per expert,
    ``_label_names``, ``_colours``, ``_texts`` tooltips, ``_caption``).
    """

    layer = traitlets.Int(0).tag(sync=True)
    by = traitlets.Unicode("coactivation").tag(sync=True)
    selected_expert = traitlets.Int(-1).tag(sync=True)
    description = traitlets.Unicode("", read_only=True).tag(sync=True)

    def __init__(
        self,
        model: ModelInterface,
        layer: int | None = None,
        by: Basis = "coactivation",
        dims: int = 2,
        method: Method = "pca",
        *,
        texts: Iterable[str] | None = None,
        seed: int | None = 0,
        progress: bool = False,
    ) -> None:
        require_model(model)
        if not model.moe_layers:
            raise ValueError(f"{model.name} has no MoE layers: there are no routed experts to map")
        if dims not in (2, 3) or isinstance(dims, bool):
            raise ValueError(f"dims must be 2 or 3, not {dims!r}")
        if by not in BASES:
            raise ValueError(f"by must be one of {BASES}, not {by!r}")
        chosen = moe_layer(model, model.moe_layers[0] if layer is None else layer)
        corpus = sample_texts()[0] if texts is None else list(texts)
        self._routing: dict[int, LayerRouting] = count_layer_routing(
            model, model.moe_layers, corpus, progress=progress
        )
        self._fit = (dims, method, seed)
        self._texts_full = [""] * model.num_experts
        self._callbacks = []
        self._result: ExpertMap | None = None
        super().__init__(model)
        self.set_trait("mode", "experts")
        with self.hold_trait_notifications():
            self.layer, self.by = chosen, by
        self.on_click(self._select)
        self.refresh()

    # --- what it shows ------------------------------------------------------------------------------

    @property
    def result(self) -> ExpertMap:
        """The :class:`~deepseek_viz.analysis.expert_map.ExpertMap` shown."""
        if self._result is None:
            raise RuntimeError(f"no map: {self.status}")
        return self._result

    def routing(self, layer: int | None = None) -> LayerRouting:
        """The corpus's routing counted for ``layer`` (default: the layer shown)."""
        return self._routing[moe_layer(self._hooked, self.layer if layer is None else layer)]

    def figure(self, title: str | None = None) -> go.Figure:
        """The same points as a plotly figure, coloured by load band."""
        result = self.result
        bands = load_band(result.counts, result.load)
        hover = [expert_tooltip(result, e) for e in range(result.num_experts)]
        return scatter_figure(result.positions, bands, hover, title=title or result.description[:80])

    # --- validation and updates ---------------------------------------------------------------------

    @traitlets.validate("layer")
    def _valid_layer(self, proposal: Any) -> int:
        try:
            return moe_layer(self._hooked, int(proposal["value"]))
        except Exception as error:
            raise traitlets.TraitError(str(error)) from None

    @traitlets.validate("by")
    def _valid_by(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value not in BASES:
            raise traitlets.TraitError(f"by must be one of {BASES}, not {value!r}")
        return value

    @traitlets.validate("selected_expert")
    def _valid_selected_expert(self, proposal: Any) -> int:
        expert = int(proposal["value"])
        if expert != -1 and not 0 <= expert < len(self):
            raise traitlets.TraitError(
                f"selected_expert {expert} is out of range: -1 (none) or 0–{len(self) - 1} (routed experts)"
            )
        return expert

    @traitlets.observe("layer", "by")
    def _on_basis(self, change: Any) -> None:
        if change["name"] == "layer":
            self.selected_expert = -1  # expert e of another layer is another expert
        if self._result is not None:  # after __init__
            self.refresh()

    @traitlets.observe("selected_expert")
    def _on_selected_expert(self, change: Any) -> None:
        self.clicked = change["new"]

    def _select(self, index: int) -> None:
        self.selected_expert = index

    def _update(self) -> None:
        dims, method, seed = self._fit
        self._computing()
        result = expert_map(
            self._hooked,
            self.layer,
            by=cast(Basis, self.by),
            dims=dims,
            method=method,
            routing=self._routing[self.layer],
            seed=seed,
        )
        self._texts_full = [expert_tooltip(result, e) for e in range(result.num_experts)]
        bands = load_band(result.counts, result.load)
        names = [UNUSED, *(name for _, name in LOAD_BANDS)]
        present = [name for name in names if name in bands]
        colours = [BAND_COLOURS[names.index(name)] for name in present]
        with self.hold_sync():
            self._result = result
            self.set_trait("description", result.description)
            self._caption = result.description
            self._send_points(result.positions, bands, colours, names=present)
            self._finish()

    # --- linking ------------------------------------------------------------------------------------

    def link(self, view: traitlets.HasTraits, *, follow_layer: bool = True) -> ExpertRoutingLink:
        """Link to a :class:`RoutingView` (any view with ``layer`` and ``selected_expert`` traits): a click
        on an expert shows this map's layer there with that expert selected; selecting an expert there
        (on this layer) selects it here; with ``follow_layer``, its layer change maps that layer here.
        Returns the link; ``unlink()`` ends it."""
        return ExpertRoutingLink(self, view, follow_layer=follow_layer)


class ExpertRoutingLink:
    """An expert map linked to a routing view (see :meth:`ExpertMapView.link`); ``unlink()`` ends it."""

    def __init__(
        self, expert_map: ExpertMapView, view: traitlets.HasTraits, *, follow_layer: bool = True
    ) -> None:
        missing = [name for name in ("layer", "selected_expert") if not view.has_trait(name)]
        if missing:
            raise TypeError(f"{type(view).__name__} has no {' or '.join(missing)} trait to link to")
        self.map, self.view = expert_map, view
        self._names: Sequence[str] = ("selected_expert", "layer") if follow_layer else ("selected_expert",)
        expert_map.observe(self._from_map, names="selected_expert")
        view.observe(self._from_view, names=list(self._names))
        self._linked = True
        shown: Any = view
        if follow_layer and shown.layer in expert_map.model.moe_layers:
            expert_map.layer = shown.layer

    def _from_map(self, change: Any) -> None:
        expert = change["new"]
        if expert < 0:
            return  # a new layer here clears the selection here only
        view: Any = self.view
        view.layer = self.map.layer
        view.selected_expert = expert

    def _from_view(self, change: Any) -> None:
        view: Any = self.view
        if change["name"] == "layer":
            self.map.layer = view.layer
        elif view.layer == self.map.layer:
            self.map.selected_expert = change["new"]

    def unlink(self) -> None:
        """Stop both directions (idempotent)."""
        if not self._linked:
            return
        self._linked = False
        self.map.unobserve(self._from_map, names="selected_expert")
        self.view.unobserve(self._from_view, names=list(self._names))
