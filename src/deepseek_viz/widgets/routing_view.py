"""``RoutingView``: which routed experts each token of a text went to, layer by layer (MoE models)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import plotly.graph_objects as go
import traitlets

from ..analysis.routing_stats import RoutingStatistics, expert_counts, routing_statistics
from ..export.routing_figures import coactivation_figure, expert_load_figure
from ..model import EmptyTextError, ModelInterface, Token, Trace
from .base import bundle
from .buffers import ArrayTrait, encode_float16, encode_indices, encode_uint8
from .intervention_state import Interventions, InterventionsView
from .live_text import TracedTextWidget


class RoutingView(TracedTextWidget, InterventionsView):
    """The MoE routing of a text: tokens × routed experts per layer, expert load, group-limited routing.

    ``RoutingView(model, text="...", corpus=None)``. Traits readable and settable from Python:

    - ``text``: the traced text (edited live in the widget);
    - ``layer``: the MoE layer shown in the heatmap (one of ``moe_layers``);
    - ``selected_token``: the token whose experts across all layers are listed (``-1``: none);
    - ``selected_expert``: the routed expert of ``layer`` whose tokens are highlighted (``-1``: none).

    Read-only: ``moe_layers``, ``num_experts`` (routed), ``num_shared`` (shared experts every token
    uses), ``top_k`` and ``group_size`` (experts per routing group; 0 when routing is ungrouped).
    A dense model (no MoE layers) shows a "no MoE layers" state and only tokenizes the text.
    ``corpus`` (texts) adds each expert's load over that corpus beside the load for the text.

    Wire protocol (private traits; arrays are :class:`~.buffers.ArrayTrait` traits, ``None`` when absent).
    What is sent follows what is shown, so an update stays small at any shape (V3: 58 MoE layers × 256
    experts, 4,096 tokens: about 200 KB):

    - ``_tokens`` ``[[text, kind], …]``;
    - ``_load`` uint16/uint32 ``[moe layer, expert]``: the non-special tokens of the text routed to each
      expert (row ``r`` is MoE layer ``moe_layers[r]``), the overview;
    - ``_experts`` uint16 ``[token, k]`` expert ids and ``_weights`` float16 ``[token, k]`` gate weights
      of ``_routed_layer`` only (sent again when ``layer`` changes, from the kept trace: no forward);
    - ``_token_experts`` uint16 ``[moe layer, k]`` and ``_token_weights`` float16 of ``selected_token``
      in every MoE layer, token ``_token_at`` (``None`` and -1 with no token selected; sent again, with a new ``_data_id``, when it changes);
    - ``_interventions`` the interventions in force (``interventions=``; every trace runs under them);
    - ``_corpus_load`` uint8 ``[moe layer, expert]`` shares; ``_data_id`` bumps with every new text,
      layer or selected token.

    Browser ids (``data-testid``): ``routing-view`` (root), ``routing-overview`` (the layers × experts
    load canvas; ``overview-tooltip``; ``overview-groups`` with one ``overview-group-G`` label per
    routing group; ``overview-layers`` with ``overview-layer-L`` labels), ``layer-select`` (a select of the
    MoE layers) with ``layer-prev`` / ``layer-next``, ``overview-legend`` (its colour scale,
    ``load-legend-tick`` ×3), ``routing-caption``, ``routing-legend`` (the colours of the layer shown:
    ``weight-legend`` with three ``weight-legend-tick``, ``legend-not-routed``, ``legend-chosen-group``,
    ``legend-turned-off``, ``legend-selected``, ``group-legend``; ``shared-experts``: the shared experts
    in words, since every token uses them they are not drawn), ``routing-scroll`` (the scroller of the
    layer shown, its labels with it: ``expert-axis-title``, ``expert-bars`` with one ``expert-L-E`` load
    bar per expert, ``group-labels`` with ``group-label-G``, ``expert-ticks`` with ``expert-tick-E``
    thinned to fit, ``group-axis-title`` and ``group-ticks`` with ``group-tick-G`` over the strip,
    ``token-axis-title``, ``row-labels`` with ``row-label-T`` token labels, thinned to fit, the selected
    token's always, the full label as its title), ``routing-heatmap`` (tokens × experts of the layer
    shown; ``routing-tooltip``), ``routing-groups`` (tokens × routing groups: the groups each token's
    experts came from), ``interventions`` (the list of what is off; alt-click on
    an expert's bar or column, or a click with ``ablate-mode`` on, turns it off for every token: ``_intervene``
    ``toggle_expert``; its bar gets class ``dsv-ablated`` and its column is hatched), ``token-experts`` (``token-experts-L`` per MoE
    layer for the selected token), ``no-moe``, ``empty-state``.
    """

    _esm = bundle("routing")

    layer = traitlets.Int(0).tag(sync=True)
    selected_expert = traitlets.Int(-1).tag(sync=True)
    family = traitlets.Unicode(read_only=True).tag(sync=True)
    moe_layers = traitlets.List(traitlets.Int(), read_only=True).tag(sync=True)
    num_experts = traitlets.Int(read_only=True).tag(sync=True)
    num_shared = traitlets.Int(read_only=True).tag(sync=True)
    top_k = traitlets.Int(read_only=True).tag(sync=True)
    group_size = traitlets.Int(read_only=True).tag(sync=True)

    _load = ArrayTrait().tag(sync=True)
    _experts = ArrayTrait().tag(sync=True)
    _weights = ArrayTrait().tag(sync=True)
    _routed_layer = traitlets.Int(-1).tag(sync=True)
    _token_experts = ArrayTrait().tag(sync=True)
    _token_weights = ArrayTrait().tag(sync=True)
    _token_at = traitlets.Int(-1).tag(sync=True)
    _corpus_load = ArrayTrait().tag(sync=True)

    def __init__(
        self,
        model: ModelInterface,
        text: str = "",
        *,
        corpus: Iterable[str] | None = None,
        layer: int | None = None,
        selected_token: int = -1,
        interventions: Interventions | None = None,
    ) -> None:
        self._shown_text: tuple[Any, ...] | None = None  # (text, interventions) of the data the browser has
        self._corpus_stats: RoutingStatistics | None = None
        super().__init__(model)
        self._use_interventions(interventions)
        layers = list(model.moe_layers)
        self.set_trait("family", model.family)
        self.set_trait("moe_layers", layers)
        self.set_trait("num_experts", model.num_experts)
        self.set_trait("num_shared", model.num_shared_experts)
        self.set_trait("top_k", model.experts_per_token)
        self.set_trait("group_size", model.routing_group_size)
        if corpus is not None and layers:
            self._corpus_stats = routing_statistics(model, list(corpus))
            self._corpus_load = encode_uint8(self._corpus_stats.load, scale=1.0)
        self._start(text, selected_token, layer=layers[0] if layer is None and layers else (layer or 0))

    @property
    def corpus_statistics(self) -> RoutingStatistics | None:
        """Routing statistics over the ``corpus`` given at creation (``None`` without one)."""
        return self._corpus_stats

    def statistics(self, corpus: bool = False) -> RoutingStatistics:
        """Routing statistics of the text shown, or of the corpus (``corpus=True``)."""
        if corpus:
            if self._corpus_stats is None:
                raise ValueError("this view has no corpus: create it with RoutingView(..., corpus=[...])")
            return self._corpus_stats
        if self._trace is None:
            raise ValueError("no routing to count: the text is empty or the model has no MoE layers")
        return routing_statistics(self._hooked, [self._trace])

    def load_figure(self, corpus: bool = False) -> go.Figure:
        """Plotly heatmap of expert load, MoE layers × experts, for the text (or the corpus)."""
        return expert_load_figure(self.statistics(corpus))

    def coactivation_figure(self, layer: int | None = None, corpus: bool = False) -> go.Figure:
        """Plotly heatmap of how often two experts of ``layer`` (default: the layer shown) share a token."""
        return coactivation_figure(self.statistics(corpus), self.layer if layer is None else layer)

    # --- validation -------------------------------------------------------------------------------

    @traitlets.validate("layer")
    def _valid_layer(self, proposal: Any) -> int:
        layer = int(proposal["value"])
        layers = self.moe_layers
        if not layers:
            return 0
        count = self._hooked.num_layers
        if -count <= layer < count and layer % count in layers:
            return layer % count
        raise traitlets.TraitError(f"layer {layer} is not an MoE layer; the MoE layers are {layers}")

    @traitlets.validate("selected_expert")
    def _valid_selected_expert(self, proposal: Any) -> int:
        expert = int(proposal["value"])
        count = self.num_experts
        if expert != -1 and not 0 <= expert < count:
            raise traitlets.TraitError(
                f"selected_expert {expert} is out of range: -1 (none) or 0–{count - 1} (routed experts)"
            )
        return expert

    # --- updates ------------------------------------------------------------------------------------

    @traitlets.observe("text")
    def _on_text(self, _change: Any) -> None:
        self.refresh()

    @traitlets.observe("layer")
    def _on_layer(self, _change: Any) -> None:
        if self._trace is not None and self._routed_layer != self.layer:
            with self.hold_sync():
                self._send_layer(self._trace)
                self._data_id += 1

    @traitlets.observe("selected_token")
    def _on_selected_token(self, _change: Any) -> None:
        if self._trace is None:
            return
        with self.hold_sync():  # a new _data_id redraws the token's panel in the browser
            self._send_token()
            self._data_id += 1

    def _update(self) -> None:
        """Trace the text and send its routing; errors become ``status`` and keep the previous view."""
        text, active = self.text, self._active
        if self._shown_text == (text, active):
            self._finish()
            return
        self._computing()
        trace: Trace | None = None
        try:
            if self.moe_layers:
                trace = self._hooked.trace(text, layers=[], interventions=active)
                tokens = trace.tokens
            else:
                tokens = self._hooked.tokenize(text)
        except EmptyTextError:
            self._show(None, [], text)
            return
        self._show(trace, tokens, text)

    def _show(self, trace: Trace | None, tokens: list[Token], text: str) -> None:
        with self.hold_sync():
            self._trace, self._shown_text = trace, (text, self._active)
            self._show_tokens(tokens)
            if trace is None:
                self._load = self._experts = self._weights = None
                self._routed_layer = -1
            else:
                self._load = encode_indices(expert_counts(trace, self.moe_layers, self.num_experts))
                self._send_layer(trace)
            self._send_token()
            self._data_id += 1
            self._finish()

    def _send_layer(self, trace: Trace) -> None:
        """The chosen layer's ``[n, k]`` experts and weights (every MoE layer routes every token)."""
        routing = trace.routing(self.layer)
        if routing is None:
            self._experts = self._weights = None
            self._routed_layer = -1
            return
        self._experts = encode_indices(routing.experts)
        self._weights = encode_float16(routing.weights)
        self._routed_layer = self.layer

    def _send_token(self) -> None:
        """The selected token's experts and weights in every MoE layer (``None`` when none is selected)."""
        token, trace = self.selected_token, self._trace
        if trace is None or not 0 <= token < len(trace.tokens):
            self._token_experts = self._token_weights = None
            self._token_at = -1
            return
        routings = [routing for layer in self.moe_layers if (routing := trace.routing(layer)) is not None]
        self._token_experts = encode_indices(np.stack([r.experts[token] for r in routings]))
        self._token_weights = encode_float16(np.stack([r.weights[token] for r in routings]))
        self._token_at = token
