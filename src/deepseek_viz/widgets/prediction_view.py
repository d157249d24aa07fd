"""``PredictionView``: next-token predictions per position and the logit lens (layers × positions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import traitlets

from ..export.figures import token_heatmap
from ..model import EmptyTextError, LogitLens, ModelInterface, Trace
from ..model.tokens import VocabStrings, readable_texts
from .base import bundle
from .buffers import ArrayTrait, EncodedArray, encode_float16, encode_indices
from .commands import Reply, command
from .intervention_state import Interventions, InterventionsView
from .live_text import TracedTextWidget

#: Most candidates per cell a view may ask for (bytes sent grow with it).
MAX_K = 20
#: Positions of one lens window (fewer where rows × k would exceed :data:`LENS_CELL_BUDGET`).
LENS_COLUMNS = 32
#: Most ``[row, position, rank]`` values one lens window sends: 16,384 × (2–4 bytes id + 2 bytes
#: probability) plus their distinct texts stays far below 1 MiB at any shape.
LENS_CELL_BUDGET = 16_384


def string_table(lens: LogitLens, vocab: VocabStrings | None = None) -> tuple[list[str], np.ndarray]:
    """The distinct token texts of ``lens`` (pieces of characters as their bytes, given ``vocab``) and,
    for each ``[layer, position, rank]``, its index there."""
    ids = lens.token_ids
    unique, first, inverse = np.unique(ids.ravel(), return_index=True, return_inverse=True)
    flat = [text for layer in lens.texts for position in layer for text in position]
    strings = readable_texts([flat[int(i)] for i in first], [int(i) for i in unique], vocab)
    return strings, inverse.reshape(ids.shape)


def window_columns(rows: int, k: int) -> int:
    """Positions per lens window for ``rows`` lens rows and top-``k``: :data:`LENS_COLUMNS`, or fewer so
    one window holds at most :data:`LENS_CELL_BUDGET` values."""
    return max(1, min(LENS_COLUMNS, LENS_CELL_BUDGET // max(1, rows * k)))


def encode_lens(
    lens: LogitLens, vocab: VocabStrings | None = None
) -> tuple[list[str], EncodedArray, EncodedArray]:
    """``(strings, ids, probs)`` of a lens window as sent: the distinct texts (a piece of a multi-byte
    character as its bytes, "<0xE4>", given ``vocab``), uint16/uint32 indices into them and float16
    probabilities (a probability of 0.13% arrives as 0.13%, not as 0), both ``[row, position, k]``."""
    strings, indices = string_table(lens, vocab)
    return strings, encode_indices(indices), encode_float16(lens.probs)


class PredictionView(TracedTextWidget, InterventionsView):
    """What the model predicts next at every position, and how that prediction forms layer by layer.

    ``PredictionView(model, text="...", k=5)``. Traits readable and settable from Python:

    - ``text``: the traced text (edited live in the widget);
    - ``selected_token``: the position whose top-``k`` next tokens are listed (``-1``: the last);
    - ``k``: candidates kept per position and layer (1–20).

    The logit lens applies the final norm and unembedding to every layer's residual stream
    (:meth:`Trace.logit_lens`, top-``k`` only); its last row is the model's own next-token distribution.
    It is computed only for the positions in view: a window of up to 32 positions × every layer is sent
    with each new text (around the selected position, else the end of the text), and the browser
    fetches the other windows with the ``_lens_window`` command as the user scrolls. Errors (e.g. a text
    over ``max_tokens``) set ``status`` and keep the previous view; an empty text shows an empty state.

    Wire protocol (private traits; arrays are :class:`~.buffers.ArrayTrait` traits, ``None`` when absent):
    ``_tokens`` ``[[text, kind], …]``; ``_strings`` the distinct predicted token texts of the window (a
    token that is a piece of a multi-byte character, "�" decoded alone, as its bytes: "<0xE4>"; the
    same in ``_predictions``, ``_change`` and the command's ``strings``);
    ``_lens_ids`` uint16/uint32 ``[layer + 1, position, k]`` indices into ``_strings`` and
    ``_lens_probs`` float16 probabilities of the same shape, for positions ``_lens_start`` … (all
    ``num_layers + 1`` rows, embeddings first); ``_predictions`` ``[[text, prob], …]`` the model's
    top-``k`` after position ``_predictions_at`` (the selected one, else the last, from
    :meth:`Trace.top_predictions`); ``_data_id`` bumps with every new trace or ``k``. Under
    ``interventions=`` (an :class:`~.intervention_state.Interventions`; its change re-traces) everything
    shown is the intervened run, ``_interventions`` lists what is in force and ``_change`` is
    :meth:`prediction_change` at ``_predictions_at`` (``None`` with none in force).

    ``_lens_window`` command: ``{data_id, start, count}`` → ``{data_id, start, strings, ids, probs}``
    (``ids``/``probs`` the headers of the two reply buffers, as the traits above) for positions
    ``start`` … ``start + count`` (clamped to the text and to :func:`window_columns`).

    Browser ids (``data-testid``): ``prediction-view`` (root), ``logit-lens`` (the lens grid:
    ``lens-scroll`` its scroller, bounded in height, ``lens-corner`` what the axes are, ``lens-position-P``
    column heads (position and token; a click selects), ``lens-row-R`` row names, ``lens-R-P`` cells,
    each with its top token and, in an element of its own, its probability, coloured on the theme's heat
    scale; a click, or Enter/Space on the focused cell, arrow keys moving it, sets ``selected_token``),
    ``lens-legend`` (the colour scale), ``lens-tooltip`` (the cell's top-``k``), ``lens-error``,
    ``predictions`` (top-``k`` of the hovered, selected or last position: ``prediction-I`` the token,
    ``prediction-prob-I`` its probability), ``prediction-change`` (before →
    after: ``change-main`` "flu 0.41 → 0.12 (−0.29)", ``change-now`` the new top token where it changed),
    ``interventions`` (the list, as in the attention view), ``empty-state``.
    """

    _esm = bundle("predictions")

    k = traitlets.Int(5).tag(sync=True)
    num_layers = traitlets.Int(read_only=True).tag(sync=True)

    _strings = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _lens_ids = ArrayTrait().tag(sync=True)
    _lens_probs = ArrayTrait().tag(sync=True)
    _lens_start = traitlets.Int(0).tag(sync=True)
    _predictions: traitlets.List[list[Any]] = traitlets.List().tag(sync=True)
    _predictions_at = traitlets.Int(-1).tag(sync=True)
    _change: traitlets.Any = traitlets.Any(None).tag(sync=True)  # prediction_change(): a dict or None

    def __init__(
        self,
        model: ModelInterface,
        text: str = "",
        *,
        k: int = 5,
        selected_token: int = -1,
        interventions: Interventions | None = None,
    ) -> None:
        self._lens: LogitLens | None = None
        self._shown: tuple[Any, ...] | None = None  # (text, k, interventions) of the data the browser has
        super().__init__(model)
        self._use_interventions(interventions)
        self.set_trait("num_layers", model.num_layers)
        self._start(text, selected_token, k=k)

    @property
    def lens(self) -> LogitLens | None:
        """The logit-lens window sent with the text shown (``None`` when there is none)."""
        return self._lens

    @property
    def window_columns(self) -> int:
        """Positions per lens window at this model's layer count and ``k``."""
        return window_columns(self.num_layers + 1, self.k)

    @traitlets.validate("k")
    def _valid_k(self, proposal: Any) -> int:
        k = int(proposal["value"])
        if not 1 <= k <= MAX_K:
            raise traitlets.TraitError(f"k must be between 1 and {MAX_K}, not {k}")
        return k

    @traitlets.observe("text", "k")
    def _on_change(self, _change: Any) -> None:
        self.refresh()

    @traitlets.observe("selected_token")
    def _on_selected_token(self, _change: Any) -> None:
        if self._trace is not None:
            self._send_predictions(self._trace)

    def _focus(self, n: int) -> int:
        return self.selected_token if 0 <= self.selected_token < n else n - 1

    def lens_window(self, start: int, count: int | None = None) -> LogitLens:
        """The logit lens of the text shown for positions ``start`` … ``start + count`` (default and at
        most :attr:`window_columns`; clamped to the text), every layer. :class:`ValueError` when the
        view shows no text."""
        trace = self._trace
        if trace is None:
            raise ValueError("the view shows no predictions: its text is empty")
        n = len(trace.tokens)
        width = self.window_columns if count is None else max(1, min(int(count), self.window_columns))
        start = max(0, min(int(start), n - 1))
        return trace.logit_lens(self.k, positions=range(start, min(n, start + width)))

    def _update(self) -> None:
        """Trace, read the lens window in view and send it; errors become ``status`` and keep the
        previous view."""
        key = (self.text, self.k, self._active)
        if key == self._shown:
            self._finish()
            return
        self._computing()
        try:
            trace = self._hooked.trace(self.text, layers=[], interventions=key[2])
        except EmptyTextError:
            self._publish(None, None, key)
            return
        n, width = len(trace.tokens), self.window_columns
        start = max(0, min(self._focus(n) - width // 2, n - width))
        lens = trace.logit_lens(self.k, positions=range(start, min(n, start + width)))
        self._publish(trace, lens, key)

    def _publish(self, trace: Trace | None, lens: LogitLens | None, key: tuple[Any, ...]) -> None:
        with self.hold_sync():
            self._trace, self._lens, self._shown = trace, lens, key
            self._show_tokens(trace.tokens if trace else [])
            if lens is None:
                self._strings, self._lens_ids, self._lens_probs = [], None, None
                self._lens_start = 0
            else:
                self._strings, self._lens_ids, self._lens_probs = encode_lens(lens, self._vocab)
                self._lens_start = lens.positions[0]
            if trace is None:
                self._predictions, self._predictions_at, self._change = [], -1, None
            else:
                self._send_predictions(trace)
            self._data_id += 1
            self._finish()

    def _send_predictions(self, trace: Trace) -> None:
        position = self._focus(len(trace.tokens))
        [predictions] = trace.top_predictions(self.k, positions=[position])
        with self.hold_sync():
            texts = readable_texts(
                [p.text for p in predictions], [p.token_id for p in predictions], self._vocab
            )
            self._predictions = [[text, p.prob] for text, p in zip(texts, predictions, strict=True)]
            self._predictions_at = position
            self._change = self.prediction_change(position) if self._shown_under else None

    def _vocab(self, ids: Sequence[int]) -> list[str]:
        return self._hooked.token_strings(ids)

    @property
    def _shown_under(self) -> tuple[Any, ...]:
        """The interventions the trace shown ran under."""
        return self._shown[2] if self._shown else ()

    def prediction_change(self, position: int | None = None) -> dict[str, Any] | None:
        """Before → after at ``position`` (default: the selected one, else the last) of the text shown,
        ``None`` when it runs under no interventions: ``{at, before: [text, prob], after: [text, prob],
        then, bound}``, ``before`` the original run's top next token (``model.trace(text)``, cached),
        ``after`` the intervened run's, ``then`` the probability of ``before``'s token in the
        intervened run (``None`` when it is not among the intervened top :data:`MAX_K`; ``bound``, the
        last of those, is then above it)."""
        trace = self._trace
        if trace is None or not self._shown_under:
            return None
        at = self._focus(len(trace.tokens)) if position is None else int(position)
        original = self._hooked.trace(trace.text, layers=[])
        [[first, *_]] = original.top_predictions(1, positions=[at])
        [now] = trace.top_predictions(MAX_K, positions=[at])
        then = next((p.prob for p in now if p.token_id == first.token_id), None)
        before, after = readable_texts(
            [first.text, now[0].text], [first.token_id, now[0].token_id], self._vocab
        )
        return {
            "at": at,
            "before": [before, first.prob],
            "after": [after, now[0].prob],
            "then": then,
            "bound": now[-1].prob,
        }

    @command
    def _lens_window(self, msg: Any, _buffers: list[bytes]) -> Reply:
        """``{data_id, start, count}`` → the lens window there (see the class docstring); a request for
        data older than what is shown answers ``{data_id, stale: true}``."""
        data_id = int(msg["data_id"])
        if data_id != self._data_id:
            return {"data_id": self._data_id, "stale": True}, []
        lens = self.lens_window(int(msg["start"]), int(msg.get("count", LENS_COLUMNS)))
        strings, ids, probs = encode_lens(lens, self._vocab)
        reply = {
            "data_id": data_id,
            "start": lens.positions[0],
            "strings": strings,
            "ids": ids.header(),
            "probs": probs.header(),
        }
        return reply, [ids.data, probs.data]

    def figure(self) -> go.Figure:
        """Plotly heatmap of the logit-lens window shown: the top-1 probability read from each layer
        (rows, embeddings first, as in the widget) after each position of the window, the predicted
        token written in each cell as the view writes it (a piece of a character as its bytes). :class:`ValueError` when the view shows no predictions (empty text)."""
        lens, trace = self._lens, self._trace
        if lens is None or trace is None:
            raise ValueError("the view shows no predictions: its text is empty")
        rows = lens.probs.shape[0]
        strings, indices = string_table(
            lens, self._vocab
        )  # a piece of a character as its bytes, as in the view
        names = ["embed", *(f"L{row - 1}" for row in range(1, rows - 1)), f"L{rows - 2} (out)"]
        return token_heatmap(
            lens.probs[:, :, 0],
            x_labels=[trace.tokens[p].text for p in lens.positions],
            y_labels=names,
            title="Logit lens: top next token read from each layer",
            x_title="after token",
            y_title="layer",
            colorscale="Viridis",
            zmin=0.0,
            zmax=1.0,
            colorbar_title="top-1 probability",
            cell_text=[list(row) for row in np.asarray(strings, dtype=object)[indices[:, :, 0]]],
        )
