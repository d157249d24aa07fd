"""``PredictionView``: next-token predictions per position and the logit lens (layers × positions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import traitlets

from ..export.figures import token_heatmap
from ..model import EmptyTextError, LogitLens, ModelInterface, Trace
from .base import bundle
from .buffers import ArrayTrait, encode_indices, encode_uint8
from .live_text import TracedTextWidget

#: Most candidates per cell a view may ask for (bytes sent grow with it).
MAX_K = 20


def string_table(lens: LogitLens) -> tuple[list[str], np.ndarray]:
    """The distinct token texts of ``lens`` and, for each ``[layer, position, rank]``, its index there."""
    ids = lens.token_ids
    _, first, inverse = np.unique(ids.ravel(), return_index=True, return_inverse=True)
    flat = [text for layer in lens.texts for position in layer for text in position]
    return [flat[int(i)] for i in first], inverse.reshape(ids.shape)


class PredictionView(TracedTextWidget):
    """What the model predicts next at every position, and how that prediction forms layer by layer.

    ``PredictionView(model, text="...", k=5)``. Traits readable and settable from Python:

    - ``text``: the traced text (edited live in the widget);
    - ``selected_token``: the position whose top-``k`` next tokens are listed (``-1``: the last);
    - ``k``: candidates kept per position and layer (1–20).

    The logit lens applies the final norm and unembedding to every layer's residual stream
    (:meth:`Trace.logit_lens`); its last row is the model's own next-token distribution, so it also
    gives the top-``k`` predictions. Errors (e.g. a text over ``max_tokens``) set ``status`` and keep
    the previous view; an empty text shows an empty state.

    Wire protocol (private traits; arrays are :class:`~.buffers.ArrayTrait` traits, ``None`` when absent):
    ``_tokens`` ``[[text, kind], …]``; ``_strings`` the distinct predicted token texts; ``_lens_ids``
    uint16/uint32 ``[layer + 1, position, k]`` indices into ``_strings`` and ``_lens_probs`` uint8
    probabilities of the same shape (scale 1); ``_data_id`` bumps with every new trace.
    """

    _esm = bundle("predictions")

    k = traitlets.Int(5).tag(sync=True)
    num_layers = traitlets.Int(read_only=True).tag(sync=True)

    _strings = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _lens_ids = ArrayTrait().tag(sync=True)
    _lens_probs = ArrayTrait().tag(sync=True)

    def __init__(
        self, model: ModelInterface, text: str = "", *, k: int = 5, selected_token: int = -1
    ) -> None:
        self._lens: LogitLens | None = None
        self._shown: tuple[str, int] | None = None  # (text, k) of the data the browser has
        super().__init__(model)
        self.set_trait("num_layers", model.num_layers)
        self._start(text, selected_token, k=k)

    @property
    def lens(self) -> LogitLens | None:
        """The logit lens shown now (``None`` when there is none)."""
        return self._lens

    @traitlets.validate("k")
    def _valid_k(self, proposal: Any) -> int:
        k = int(proposal["value"])
        if not 1 <= k <= MAX_K:
            raise traitlets.TraitError(f"k must be between 1 and {MAX_K}, not {k}")
        return k

    @traitlets.observe("text", "k")
    def _on_change(self, _change: Any) -> None:
        self.refresh()

    def _update(self) -> None:
        """Trace, read the logit lens and send it; errors become ``status`` and keep the previous view."""
        key = (self.text, self.k)
        if key == self._shown:
            self._finish()
            return
        self._computing()
        try:
            trace = self._hooked.trace(self.text, layers=[])
            lens = trace.logit_lens(self.k)
        except EmptyTextError:
            self._publish(None, None, key)
            return
        self._publish(trace, lens, key)

    def _publish(self, trace: Trace | None, lens: LogitLens | None, key: tuple[str, int]) -> None:
        with self.hold_sync():
            self._trace, self._lens, self._shown = trace, lens, key
            self._show_tokens(trace.tokens if trace else [])
            if lens is None:
                self._strings, self._lens_ids, self._lens_probs = [], None, None
            else:
                self._strings, indices = string_table(lens)
                self._lens_ids, self._lens_probs = (
                    encode_indices(indices),
                    encode_uint8(lens.probs, scale=1.0),
                )
            self._data_id += 1
            self._finish()

    def figure(self) -> go.Figure:
        """Plotly heatmap of the logit lens shown: the top-1 probability read from each layer (rows,
        embeddings first, as in the widget) after each position, the predicted token written in each
        cell. :class:`ValueError` when the view shows no predictions (empty text)."""
        lens, trace = self._lens, self._trace
        if lens is None or trace is None:
            raise ValueError("the view shows no predictions: its text is empty")
        rows = lens.probs.shape[0]
        names = ["embed", *(f"L{row - 1}" for row in range(1, rows - 1)), f"L{rows - 2} (out)"]
        return token_heatmap(
            lens.probs[:, :, 0],
            x_labels=[token.text for token in trace.tokens],
            y_labels=names,
            title="Logit lens: top next token read from each layer",
            x_title="after token",
            y_title="layer",
            colorscale="Viridis",
            zmin=0.0,
            zmax=1.0,
            colorbar_title="top-1 probability",
            cell_text=[[position[0] for position in layer] for layer in lens.texts],
        )
