"""``AttentionView``: a head overview, a query × key heatmap and a token view of one model's attention.

The head overview (``data-testid="head-grid"``, ``js/src/lib/overview/``) is one canvas drawn only for
the rows and columns in view (61 × 128 heads scroll inside it): layer numbers on the rows, head numbers
on the columns, each cell the head's thumbnail when cells are large enough, else the colour of the
chosen head score. Its controls: ``overview-score`` (colour / sort by previous-token, first-token,
diagonal or entropy), ``overview-sort`` (sort the heads of each row by that score; each cell then shows
its head number), ``overview-jump`` (jump to layer), ``layer-mean`` (select all heads of the selected
layer); ``head-tooltip`` (layer, head and scores of the hovered cell).

``head-L-H`` stays addressable although the cells are not elements: one absolutely positioned
hit-test element (``data-testid="head-L-H"``) marks each selected head (class ``dsv-on``,
``aria-selected="true"``) and one the focused or hovered cell (class ``dsv-focus`` / ``dsv-hover``);
a cell that is both is one element. A click anywhere on the overview selects the cell under the pointer
(shift/ctrl adds or removes it; a click on a layer number selects the mean of that layer). Browser tests
click any head with ``revealHead(layer, head)`` on the ``head-grid`` element, which scrolls the cell into
view and returns its centre in client coordinates ``{x, y}`` (``tests/browser/conftest.py``
``click_head``). Keys (the overview focused): arrows move the focus cell, PageUp/PageDown by a page of
rows, Home/End to the row's first/last column, Enter/Space select the focused head (shift/ctrl add it).

Turning heads off (``interventions=``, an :class:`~.intervention_state.Interventions`, shared with
the views given the same one): alt-click on a head (or, with the ``ablate-mode`` toggle on, a plain click
or Enter) sends ``_intervene`` ``toggle_head``; a head that is off has a ``head-L-H`` mark with class
``dsv-ablated`` (hatched). ``interventions`` lists what is off: ``intervention-I`` (label as text) with
``intervention-remove-I``, ``interventions-clear``, ``interventions-error`` (a refused change).

The heatmap (``attention-heatmap``, a canvas; rows are queries, columns keys) has token labels on
both axes, ``query-label-I`` in ``query-labels`` and ``key-label-I`` in ``key-labels`` (DOM text, the
full label as the title; thinned to every 2nd, 5th, 10th, … token where they do not fit, the container's
``data-step`` says which), the axis titles ``query-axis-title`` and ``key-axis-title``, ``heatmap-tooltip``
(query → key: weight; kept inside the canvas, so it never covers the legend), ``colour-legend``, and the
zoom controls ``zoom-in`` / ``zoom-out`` (about the centre), ``zoom-level`` (``×1.5``), ``zoom-reset``.
The wheel zooms about the pointer (one notch 15 %), a drag pans; focused, the canvas takes ``+`` / ``-``,
the arrows (pan) and ``0`` (everything). For tests the canvas element has ``cellAtClient(x, y)`` (the
``{q, k}`` under a client point), ``pointAtClient(x, y)`` (the fractional token-space point) and
``zoomLevel()``. ``head-grid-hint`` says how to pick and average heads. Under the tokens:
``direction-toggle`` ("show incoming attention": shade the tokens that attend to the hovered/selected
one instead of those it attends to), ``line-toggle`` and ``line-view`` (the lines view, short texts).

Where the browser shows errors (``data-testid``): ``status`` (the view's status: a failed trace or
edit) and ``heatmap-error`` under the heatmap (a full-resolution window or row that could not be
fetched; the overview stays on screen).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
import traitlets

from ..export.figures import token_heatmap
from ..model import EmptyTextError, ModelInterface, Trace
from .base import bundle
from .buffers import ArrayTrait, encode_float16, encode_uint8, max_pool, normalise_each
from .commands import command
from .intervention_state import Interventions, InterventionsView
from .live_text import TracedTextWidget

#: Largest side of the heatmap sent with each update; longer texts get a max-pooled overview and
#: full-resolution windows on demand (``_fetch_window``) when the user zooms in.
OVERVIEW_SIZE = 512
#: Bytes one update may send at any shape and length (heatmap + thumbnails + layer heads + scores +
#: tokens); the budgets below add up to it with room for the tokens' JSON.
UPDATE_BUDGET = 1024 * 1024
#: Thumbnails of all layers × heads together stay under this many bytes (one byte per bin); at V3
#: counts (7,808 heads) that is 5 × 5 bins, drawn when the overview's cells are large enough.
THUMBNAIL_BUDGET = 192 * 1024
#: Most bins per thumbnail side (``trace.thumbnails`` shrinks them further for short texts).
MAX_THUMBNAIL_BINS = 48
#: Every head of the layer shown (one byte per weight) goes to the browser, which then switches heads
#: without the kernel, when it fits this many bytes and the text has at most ``OVERVIEW_SIZE`` tokens
#: (else a head switch is one round trip for one heatmap). With the heatmap (≤ ``OVERVIEW_SIZE²``), the
#: thumbnails and the scores it keeps an update under ``UPDATE_BUDGET`` with ≥ 128 KiB for the tokens.
LAYER_HEADS_BUDGET = 384 * 1024
#: The head scores sent as ``_head_scores[layer, head, :]``, as the overview names them: the order of
#: ``Trace.HEAD_SCORES`` (``previous_token``, ``first_token``, ``self``, ``entropy``).
SCORE_NAMES = ("previous-token", "first-token", "diagonal", "entropy")


def thumbnail_bins(num_layers: int, num_heads: int) -> int:
    """Bins per thumbnail side so that ``layers × heads × bins²`` bytes fit :data:`THUMBNAIL_BUDGET`."""
    return max(4, min(MAX_THUMBNAIL_BINS, math.isqrt(THUMBNAIL_BUDGET // max(1, num_layers * num_heads))))


def layer_heads_fit(num_heads: int, n: int) -> bool:
    """Whether every head of a layer goes to the browser for ``n`` tokens (:data:`LAYER_HEADS_BUDGET`)."""
    return n <= OVERVIEW_SIZE and num_heads * n * n <= LAYER_HEADS_BUDGET


def mean_of_heads(trace: Trace, layer: int, heads: tuple[int, ...], every_head: bool) -> np.ndarray:
    """Float32 ``[query, key]`` mean of ``heads`` of ``layer``, summed one head at a time. With
    ``every_head`` the layer's pattern of all heads is read (the browser gets them too), else only
    ``heads``' (a layer the forward did not keep computes those alone)."""
    pattern = trace.attention_tensor(layer, None if every_head else heads)
    rows = heads if every_head else range(len(heads))
    total = sum(
        (pattern[row].float() for row in rows),
        start=pattern.new_zeros(pattern.shape[1:], dtype=torch.float32),
    )
    return (total / len(heads)).cpu().numpy()


def colour_max(matrix: np.ndarray) -> float:
    """The weight drawn brightest: the largest from the second query on (the first query can only
    attend to itself, with weight 1)."""
    return float(matrix[1:].max()) if len(matrix) > 1 else 1.0


class AttentionView(TracedTextWidget, InterventionsView):
    """Explore one model's attention on a text: pick heads in the grid, read the heatmap, hover tokens.

    ``AttentionView(model, text="...")``. Traits readable and settable from Python, synced both ways:

    - ``text``: the traced text (editing it in the widget re-traces after a short pause);
    - ``layer``: the layer shown (negative values count from the end);
    - ``heads``: the selected heads of that layer, averaged (all heads = "mean of layer");
    - ``selected_token``: the query token highlighted (``-1``: none).

    ``status`` is a :class:`~deepseek_viz.widgets.status.Status` (shown ``ready``, ``computing`` or
    ``error: …``). A failed trace (e.g. a text over the model's ``max_tokens``) sets the error and keeps
    the previous view; an empty text shows an empty state. Out-of-range ``layer``/``heads``/``selected_token`` raise :class:`traitlets.TraitError`.

    Wire protocol (private traits; arrays are :class:`~.buffers.ArrayTrait` traits): ``_tokens``
    ``[[text, kind], …]``; ``_heatmap`` uint8 ``[query, key]``, the averaged selection (max-pooled to at
    most ``OVERVIEW_SIZE`` per side in blocks of ``_heatmap_block`` tokens), drawn with ``_colour_max`` as
    the brightest weight; ``_thumbnails`` uint8 ``[layer, head, bins, bins]`` each normalised to its max;
    ``_head_scores`` float16 ``[layer, head, 4]`` (:data:`SCORE_NAMES`: previous-token, first-token,
    diagonal, entropy; ``trace.head_scores``), which the overview colours and sorts by;
    ``_layer_heads`` uint8 ``[head, n, n]``, every head of layer ``_layer_heads_layer``, when it fits
    ``LAYER_HEADS_BUDGET`` (else ``None``): the browser then draws the mean of ``heads`` itself, and a
    change of ``heads`` (from either side) only updates the matrix kept here; ``_data_id`` bumps with
    every new heatmap; ``_seq`` is the newest browser edit answered. One update stays under
    ``UPDATE_BUDGET`` (1 MiB) at every shape up to 4,096 tokens.

    What each change costs: a new text traces ``trace(text, layers=[layer], thumbnails=bins)`` and
    sends tokens, thumbnails, scores, heatmap (and layer heads where they fit); a layer switch runs no
    forward: the trace computes that layer's pattern by running the one decoder layer on its stored
    input (:meth:`~deepseek_viz.Trace.attention`), and the view sends the heatmap and layer heads (the
    browser keeps the overview, tokens and scores it has); a head switch sends nothing when the layer's
    heads are in the browser, else one heatmap.
    The browser sends edits with the ``_edit`` command ``{text, seq}`` and asks for full-resolution
    parts of the heatmap with ``_fetch_window``. Every trace runs under ``interventions.items``
    (``_interventions`` lists them; ``_intervene`` changes them, :class:`~.intervention_state.InterventionsView`).
    """

    _esm = bundle("attention")

    layer = traitlets.Int(0).tag(sync=True)
    heads = traitlets.List(traitlets.Int(), default_value=[0]).tag(sync=True)
    num_layers = traitlets.Int(read_only=True).tag(sync=True)
    num_heads = traitlets.Int(read_only=True).tag(sync=True)

    _heatmap = ArrayTrait().tag(sync=True)
    _heatmap_block = traitlets.Int(1).tag(sync=True)
    _colour_max = traitlets.Float(1.0).tag(sync=True)
    _thumbnails = ArrayTrait().tag(sync=True)
    _head_scores = ArrayTrait().tag(sync=True)
    _layer_heads = ArrayTrait().tag(sync=True)
    _layer_heads_layer = traitlets.Int(-1).tag(sync=True)

    def __init__(
        self,
        model: ModelInterface,
        text: str = "",
        *,
        layer: int = 0,
        heads: list[int] | None = None,
        selected_token: int = -1,
        interventions: Interventions | None = None,
    ) -> None:
        self._trace_key: tuple[Any, ...] | None = None
        self._matrix: np.ndarray | None = None  # mean of the selected heads, float32 [query, key]
        self._matrix_key: tuple[Any, ...] | None = None
        super().__init__(model)
        self._use_interventions(interventions)
        self._bins = thumbnail_bins(model.num_layers, model.num_heads)
        self.set_trait("num_layers", model.num_layers)
        self.set_trait("num_heads", model.num_heads)
        self._start(text, selected_token, layer=layer, heads=[0] if heads is None else list(heads))

    # --- validation -------------------------------------------------------------------------------

    @traitlets.validate("layer")
    def _valid_layer(self, proposal: Any) -> int:
        layer = int(proposal["value"])
        count = self._hooked.num_layers
        if not -count <= layer < count:
            raise traitlets.TraitError(
                f"layer {layer} is out of range: the model has {count} layers (0–{count - 1})"
            )
        return layer % count

    @traitlets.validate("heads")
    def _valid_heads(self, proposal: Any) -> list[int]:
        heads = sorted({int(head) for head in proposal["value"]})
        count = self._hooked.num_heads
        if not heads:
            raise traitlets.TraitError("select at least one head (all heads give the mean of the layer)")
        wrong = [head for head in heads if not 0 <= head < count]
        if wrong:
            raise traitlets.TraitError(
                f"heads {wrong} are out of range: each layer has {count} heads (0–{count - 1})"
            )
        return heads

    # --- updates ------------------------------------------------------------------------------------

    @traitlets.observe("text", "layer", "heads")
    def _on_selection(self, _change: Any) -> None:
        self.refresh()

    def _update(self) -> None:
        """Trace and send what changed since the last update; errors become ``status``."""
        text, layer, heads, active = self.text, self.layer, tuple(self.heads), self._active
        if (text, layer, heads, active) == self._matrix_key:
            self._finish()
            return
        same_trace = (text, layer, active) == self._trace_key
        new_text = (
            self._trace is None
            or self._trace_key is None
            or (text, active) != (self._trace.text, self._trace_key[2])
        )
        try:
            if not same_trace:
                self._computing()
            if new_text:
                every_head = layer_heads_fit(self.num_heads, len(self._hooked.tokenize(text)))
                # the forward keeps the layer's pattern only when the browser gets all of its heads; else
                # the trace computes the heads shown from the layer's input
                trace = self._hooked.trace(
                    text, layers=[layer] if every_head else [], thumbnails=self._bins, interventions=active
                )
            else:  # a head or layer switch: the trace has it, or computes that one layer from its input
                assert self._trace is not None
                trace = self._trace
            every_head = layer_heads_fit(self.num_heads, len(trace.tokens))
            matrix = mean_of_heads(trace, layer, heads, every_head)
            scores = trace.head_scores if new_text else None
        except EmptyTextError:
            self._show_empty()
            return
        self._matrix, self._matrix_key = matrix, (text, layer, heads, active)
        if same_trace and self._layer_heads is not None:
            self._finish()  # the browser draws this mean itself, from _layer_heads
            return
        self._trace, self._trace_key = trace, (text, layer, active)
        pooled, block = max_pool(matrix, OVERVIEW_SIZE)
        heatmap = encode_uint8(pooled)
        with self.hold_sync():
            if new_text:
                self._show_tokens(trace.tokens)
                thumbnails = trace.thumbnails
                assert thumbnails is not None and scores is not None
                self._thumbnails = encode_uint8(normalise_each(thumbnails), scale=1.0)
                self._head_scores = encode_float16(scores)
            self._heatmap, self._heatmap_block, self._colour_max = heatmap, block, colour_max(matrix)
            # every head on one scale (each head's largest weight is the first query's 1 anyway)
            self._layer_heads = encode_uint8(trace.attention(layer)) if every_head else None
            self._layer_heads_layer = layer
            self._data_id += 1
            self._finish()

    def _show_empty(self) -> None:
        with self.hold_sync():
            self._trace = self._trace_key = self._matrix = None
            self._matrix_key = ("", self.layer, tuple(self.heads), self._active)
            self._show_tokens([])
            self._heatmap = self._thumbnails = self._head_scores = self._layer_heads = None
            self._data_id += 1
            self._finish()

    @command
    def _fetch_window(self, msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """Full-resolution rows ``q0:q1`` × keys ``k0:k1`` of the shown heatmap (at most ``OVERVIEW_SIZE²``
        cells: a zoomed-in window, or one token's whole row or column), quantised on their own max, if
        ``data_id`` still names the data shown; else ``{"stale": true}``."""
        matrix = self._matrix
        if matrix is None or msg.get("data_id") != self._data_id:
            return {"stale": True}, []
        n = matrix.shape[0]
        q0, k0 = (min(max(int(msg[name]), 0), n - 1) for name in ("q0", "k0"))
        k1 = min(max(int(msg["k1"]), k0 + 1), n)
        q1 = min(max(int(msg["q1"]), q0 + 1), n, q0 + max(1, OVERVIEW_SIZE**2 // (k1 - k0)))
        window = encode_uint8(matrix[q0:q1, k0:k1])
        return {"stale": False, "data_id": self._data_id, "q0": q0, "k0": k0, **window.header()}, [
            window.data
        ]

    def figure(self) -> go.Figure:
        """Plotly heatmap of the matrix shown (mean of the selected heads), query × key, tokens on the
        axes; a text over ``OVERVIEW_SIZE`` tokens is max-pooled into blocks, as in the widget.
        :class:`ValueError` when the view shows no attention (empty text)."""
        if self._matrix is None or self._trace is None or self._matrix_key is None:
            raise ValueError("the view shows no attention: its text is empty")
        _, layer, heads, _active = self._matrix_key
        pooled, block = max_pool(self._matrix, OVERVIEW_SIZE)
        texts = [token.text for token in self._trace.tokens]
        labels = (
            texts
            if block == 1
            else [f"{i}–{min(i + block, len(texts)) - 1}" for i in range(0, len(texts), block)]
        )
        pooling = f", max of {block} × {block} blocks" if block > 1 else ""
        return token_heatmap(
            pooled,
            x_labels=labels,
            y_labels=labels,
            title=f"Attention, {describe_heads(layer, heads, self.num_heads)}{pooling}",
            x_title="key",
            y_title="query",
            colorscale="Viridis",
            zmin=0.0,
            zmax=colour_max(self._matrix),
            colorbar_title="weight",
        )


def describe_heads(layer: int, heads: tuple[int, ...], num_heads: int) -> str:
    """The widget's heatmap caption, e.g. ``"layer 2 · head 1"`` or ``"layer 0 · mean of all 4 heads"``."""
    if len(heads) == 1:
        return f"layer {layer} · head {heads[0]}"
    if len(heads) == num_heads:
        return f"layer {layer} · mean of all {num_heads} heads"
    return f"layer {layer} · mean of heads {', '.join(map(str, heads))}"
