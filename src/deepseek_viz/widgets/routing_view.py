"""``RoutingView``: which routed experts each token of a text went to, layer by layer (MoE models)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import plotly.graph_objects as go
import traitlets

from ..analysis.routing_stats import RoutingStatistics, routing_statistics
from ..export.routing_figures import coactivation_figure, expert_load_figure
from ..model import EmptyTextError, ModelInterface, Token, Trace
from .base import bundle
from .buffers import ArrayTrait, encode_indices, encode_uint8
from .live_text import TracedTextWidget


class RoutingView(TracedTextWidget):
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

    Wire protocol (private traits; arrays are :class:`~.buffers.ArrayTrait` traits, ``None`` when absent):
    ``_tokens`` ``[[text, kind], …]``; ``_experts`` uint16 ``[moe layer, token, k]`` expert ids (row
    ``r`` is MoE layer ``moe_layers[r]``) and ``_weights`` uint8 the same shape (gate weights over
    ``[0, scale]``); ``_corpus_load`` uint8 ``[moe layer, expert]`` shares; ``_data_id`` bumps with
    every new text.
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

    _experts = ArrayTrait().tag(sync=True)
    _weights = ArrayTrait().tag(sync=True)
    _corpus_load = ArrayTrait().tag(sync=True)

    def __init__(
        self,
        model: ModelInterface,
        text: str = "",
        *,
        corpus: Iterable[str] | None = None,
        layer: int | None = None,
        selected_token: int = -1,
    ) -> None:
        self._shown_text: str | None = None  # the text whose data the browser has
        self._corpus_stats: RoutingStatistics | None = None
        super().__init__(model)
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

    def _update(self) -> None:
        """Trace the text and send its routing; errors become ``status`` and keep the previous view."""
        text = self.text
        if self._shown_text == text:
            self._finish()
            return
        self._computing()
        trace: Trace | None = None
        try:
            if self.moe_layers:
                trace = self._hooked.trace(text, layers=[])
                tokens = trace.tokens
            else:
                tokens = self._hooked.tokenize(text)
        except EmptyTextError:
            self._show(None, [], text)
            return
        self._show(trace, tokens, text)

    def _show(self, trace: Trace | None, tokens: list[Token], text: str) -> None:
        with self.hold_sync():
            self._trace, self._shown_text = trace, text
            self._show_tokens(tokens)
            if trace is None:
                self._experts = self._weights = None
            else:
                self._send_routing(trace)
            self._data_id += 1
            self._finish()

    def _send_routing(self, trace: Trace) -> None:
        # every MoE layer's router runs on every token, so each of them has routing
        routings = [routing for layer in self.moe_layers if (routing := trace.routing(layer)) is not None]
        experts = np.stack([routing.experts for routing in routings])
        weights = np.stack([routing.weights for routing in routings])
        self._experts, self._weights = encode_indices(experts), encode_uint8(weights)
