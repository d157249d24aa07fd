"""``EmbeddingScatter``: many texts as points of a 2-D/3-D projection of their hidden states, or one
text's tokens through the layers ("token mode"), on a WebGL canvas (``js/src/scatter.ts``).

Browser ids (``data-testid``): ``scatter-caption`` (what the map shows: :func:`map_caption`),
``scatter-legend`` (``legend-I`` per label, buttons that select its points; ``legend-live``, the live
point's diamond, while one is shown), ``select-box`` / ``select-lasso`` (the shift-drag tool, the active
one ``aria-pressed="true"``), ``reset-view``, ``selection-panel`` (hidden when nothing is selected:
``selection-count`` "N selected", ``selection-labels`` the count per label, ``selection-item`` buttons —
the first :data:`LISTED` selected texts, ``data-index`` the point, a click is a click on that point —,
``selection-more``, ``clear-selection``). The root's ``data-camera`` is the camera
(``{cx, cy, scale, width, height}``) and ``data-fit`` ``all`` while the fitted camera shows every point
(the camera refits when the canvas resizes, until the user pans or zooms).

Where the browser shows errors (``data-testid``): ``status`` (a text that failed to place, a click the
kernel could not take, data that cannot be read, ``computing`` while a deferred map is being filled, the
error of a fill that failed) and ``scatter-tooltip`` (``error: …`` instead of a point's text that could
not be fetched). The root (``embedding-scatter``) has ``data-points``: the number of points shown (``0``
until a deferred map is filled).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import plotly.graph_objects as go
import traitlets

from ..analysis.embeddings import Pooling, TokenPaths, embed_texts, hidden_state_index, token_embeddings
from ..analysis.projection import Method, Projection, project, project_token_paths
from ..export.figures import label_colors, scatter_figure, to_html, to_png, token_paths_figure
from ..export.projector import write_projector
from ..model import DeepseekVizError, EmptyTextError, ModelInterface
from .base import bundle
from .buffers import ArrayTrait, encode_float32, encode_uint8
from .commands import command, describe_error
from .live_text import ModelView, require_model
from .status import Status

log = logging.getLogger(__name__)

#: The map's own texts are the author's, not a request: the per-request limit (``max_seconds``) does
#: not cut their embedding (the live text's point comes from its trace, which it does bound).
CORPUS_SECONDS = math.inf
#: Texts are cut to this many characters for tooltips (the full text stays in Python).
TEXT_CHARS = 200
#: Up to this many points, all tooltip texts are sent with the data; above it each is fetched on hover.
INLINE_TEXTS = 20_000
#: The selection panel lists the texts of this many selected points (the rest are counted).
LISTED = 10
#: Label indices cross as one byte per point.
MAX_LABELS = 256

Mode = Literal["texts", "tokens"]
ClickCallback = Callable[[int], None]


def tooltip_text(text: str) -> str:
    """``text`` cut to :data:`TEXT_CHARS` characters (an ellipsis marks the cut)."""
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def categorise(labels: Sequence[Any]) -> tuple[list[str], np.ndarray]:
    """Label names (``str`` of each distinct label, in order of first appearance) and the uint8 index of
    each point's name. More than :data:`MAX_LABELS` distinct labels raise ``ValueError``."""
    names = [str(label) for label in labels]
    order = list(dict.fromkeys(names))
    if len(order) > MAX_LABELS:
        raise ValueError(
            f"{len(order)} distinct labels; the scatter colours at most {MAX_LABELS}. "
            "Group rare labels (e.g. as 'other') first."
        )
    position = {name: i for i, name in enumerate(order)}
    return order, np.fromiter((position[name] for name in names), dtype=np.uint8, count=len(names))


#: How captions name the projection methods.
METHOD_NAMES = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}


def map_caption(
    method: str, dims: int, n: int, *, layer: int, num_layers: int, pooling: str = "mean", tokens: int = 0
) -> str:
    """The sentence above a map saying what it shows, worded like the expert map's: the points and the
    hidden state that placed them (layer ``0`` … ``num_layers``, and pooling), the method and dimension,
    what the colours are. ``tokens`` > 0: token mode (one text's ``tokens`` tokens at every layer)."""
    how = f"{METHOD_NAMES.get(method, method)} to {dims}-D"
    if tokens:
        return (
            f"One text's {tokens} tokens at every layer ({n} points; 0 = embeddings … {num_layers}); "
            f"{how}; colour: layer."
        )
    last = pooling != "mean"
    if layer == 0:
        state = "the last token's embedding" if last else "their mean-pooled token embeddings"
    else:
        state = f"layer {layer}'s " + (
            "hidden state at the last token" if last else "mean-pooled hidden state"
        )
        if layer == num_layers:
            state += " (the last layer, after the final norm)"
    return f"{n} texts placed by {state}; {how}; colour: label."


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings; for one text's tokens use EmbeddingScatter.tokens")
    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty: give the texts to embed (a list of strings)")
    wrong = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if wrong:
        raise TypeError(f"texts[{wrong[0]}] is a {type(texts[wrong[0]]).__name__}, not a str")
    return texts


class PointsView(ModelView):
    """What the scatter's browser side (``js/src/scatter.ts``) draws, for any points: the synced traits,
    their validation, clicks and tooltip texts. :class:`EmbeddingScatter` (texts, tokens) and
    :class:`~deepseek_viz.widgets.expert_map_view.ExpertMapView` (experts) fill it with
    :meth:`_send_points`; ``_texts_full`` holds each point's full text."""

    _esm = bundle("scatter")

    selected = traitlets.List(traitlets.Int()).tag(sync=True)
    clicked = traitlets.Int(-1).tag(sync=True)
    clicked_text = traitlets.Unicode("", read_only=True).tag(sync=True)
    live_point = traitlets.List(traitlets.Float(), read_only=True).tag(sync=True)
    live_text = traitlets.Unicode("", read_only=True).tag(sync=True)
    mode = traitlets.Unicode("texts", read_only=True).tag(sync=True)

    _coords = ArrayTrait().tag(sync=True)
    _labels = ArrayTrait().tag(sync=True)
    _label_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _colours = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _texts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _paths = traitlets.Dict().tag(sync=True)
    _caption = traitlets.Unicode("").tag(sync=True)  # a line above the points ("" for none)

    _texts_full: list[str]
    _callbacks: list[ClickCallback]

    def _send_points(
        self,
        coords: np.ndarray,
        point_labels: Sequence[Any],
        colours: Sequence[str] | None = None,
        *,
        names: Sequence[str] | None = None,
    ) -> None:
        """Send ``coords`` ``[n, 2|3]`` with one label per point and the tooltip texts of ``_texts_full``;
        bumps ``_data_id``. The legend lists the labels in order of first appearance, or ``names`` (every
        label must be one of them); ``colours`` has one CSS colour per legend entry (default: the
        exported figures' palette)."""
        if names is None:
            names, index = categorise(point_labels)
        else:
            names = list(names)
            position = {name: i for i, name in enumerate(names)}
            index = np.fromiter((position[str(label)] for label in point_labels), np.uint8, len(point_labels))
        if colours is not None and len(colours) < len(names):
            raise ValueError(f"{len(colours)} colours for {len(names)} labels")
        # float32: 4 bytes per value keeps deep zooms exact where float16 would snap points to a grid
        encoded = encode_float32(np.asarray(coords, dtype=np.float32))
        label_index = encode_uint8(index, scale=255.0)  # exact: byte == label index
        n = len(self._texts_full)
        with self.hold_sync():
            self._coords, self._labels = encoded, label_index
            self._label_names = names
            self._colours = list(colours[: len(names)]) if colours is not None else label_colors(len(names))
            self._texts = [tooltip_text(text) for text in self._texts_full] if n <= INLINE_TEXTS else []
            self._data_id += 1

    def __len__(self) -> int:
        return len(self._texts_full)

    # --- validation ---------------------------------------------------------------------------------

    @traitlets.validate("selected")
    def _valid_selected(self, proposal: Any) -> list[int]:
        indices = sorted({int(i) for i in proposal["value"]})
        if indices and (indices[0] < 0 or indices[-1] >= len(self)):
            wrong = [i for i in indices if not 0 <= i < len(self)]
            raise traitlets.TraitError(f"selected {wrong[:5]} out of range: there are {len(self)} points")
        return indices

    @traitlets.validate("clicked")
    def _valid_clicked(self, proposal: Any) -> int:
        index = int(proposal["value"])
        if index != -1 and not 0 <= index < len(self):
            raise traitlets.TraitError(f"clicked {index} is out of range: -1 (none) or 0–{len(self) - 1}")
        return index

    @traitlets.observe("clicked")
    def _on_clicked(self, change: Any) -> None:
        index = change["new"]
        self.set_trait("clicked_text", self._texts_full[index] if index >= 0 else "")
        if index >= 0:
            self._notify_click(index)

    # --- clicks ------------------------------------------------------------------------------------

    def on_click(self, callback: ClickCallback, remove: bool = False) -> None:
        """Call ``callback(index)`` on every click on a point in the browser (and when ``clicked`` is
        set from Python); ``remove=True`` unregisters it."""
        if remove:
            self._callbacks = [c for c in self._callbacks if c != callback]
        else:
            self._callbacks.append(callback)

    def _notify_click(self, index: int) -> None:
        for callback in list(self._callbacks):
            callback(index)

    # --- browser commands --------------------------------------------------------------------------

    @command
    def _click(self, msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """``{index}``: a click on a point. Repeated clicks on the clicked point notify again."""
        index = int(msg["index"])
        if index == self.clicked:
            self._notify_click(index)
        else:
            self.clicked = index
        return {"index": index}, []

    @command
    def _fetch_text(self, msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """``{index}`` → the tooltip text of one point (for sets too large to send every text)."""
        index = int(msg["index"])
        if not 0 <= index < len(self):
            return {"index": index, "text": ""}, []
        return {"index": index, "text": tooltip_text(self._texts_full[index])}, []


class EmbeddingScatter(PointsView):
    """Texts as points: each text's hidden state at ``layer`` (pooled over its tokens), projected to
    ``dims`` (2 or 3) dimensions with ``method`` (``"umap"``, ``"pca"`` or ``"tsne"``), coloured by label.

    ``EmbeddingScatter(model, texts, labels=None, layer=-1, pooling="mean", method="umap", dims=2)``;
    :meth:`tokens` shows one text's tokens at every layer instead.

    ``defer=True`` returns at once with no points (``status`` ``computing``, :attr:`filled` false):
    :meth:`fill` embeds and projects the texts then, in the calling thread or (``background=True``) in
    a thread of its own whose batches are model requests of their own, so edits of other views run
    between them (:func:`~deepseek_viz.analysis.embeddings.embed_texts` ``interleave``). A fill that
    fails shows its error in ``status`` (call :meth:`fill` again to retry); texts given to
    :meth:`place` meanwhile are placed once the points are there. :meth:`wait` waits for a fill. In the browser: drag pans (3-D:
    rotates), the wheel zooms, shift-drag selects (box or lasso), a click picks a point, hovering shows
    its text and label, the legend selects a label's points; the selection panel under the map counts
    the selected points per label and lists the first texts (a click on one is a click on its point:
    it loads the text into a linked view). The caption above the map (:attr:`description`) says what
    it shows.

    Traits synced with the browser:

    - ``selected``: indices of the selected points (set either side; sorted, duplicates dropped);
    - ``clicked``: the point clicked last (``-1``: none) and ``clicked_text`` its full text;
    - ``live_point``: where the text of a linked view (:meth:`link`) or of :meth:`place` lands, ``[]``
      for none, with ``live_text``; ``status``: ``ready`` or an error (a text that fails to place; a
      failed click or tooltip fetch is shown in the browser's status line or tooltip).

    Wire protocol (private traits): ``_coords`` float32 ``[n, dims]`` and ``_labels`` uint8 ``[n]``, one
    label index per point (both :class:`~.buffers.ArrayTrait` traits; ``_label_names`` and ``_colours``
    per label, the colours of the exported figures),
    ``_texts`` tooltip texts cut to :data:`TEXT_CHARS` characters when there are at most
    :data:`INLINE_TEXTS` points (else the ``_fetch_text`` command answers one at a time), ``_paths``
    ``{layers, tokens}`` in token mode, ``_caption`` the caption (:attr:`description`), ``_data_id``
    bumped with new data. Clicks arrive through the
    ``_click`` command, so clicking the same point twice reaches :meth:`on_click` callbacks twice.
    """

    _vectors: np.ndarray | None
    _projection: Projection | None

    def __init__(
        self,
        model: ModelInterface,
        texts: Sequence[str] | str,
        labels: Sequence[Any] | None = None,
        layer: int = -1,
        pooling: Pooling = "mean",
        method: Method = "umap",
        dims: int = 2,
        *,
        mode: Mode = "texts",
        seed: int | None = 0,
        progress: bool = True,
        project_options: Mapping[str, Any] | None = None,
        defer: bool = False,
    ) -> None:
        require_model(model)  # before the work below
        self._layer = layer
        self._pooling = pooling
        self._fit = (method, dims, seed, dict(project_options or {}))
        self._progress = progress
        self._callbacks: list[ClickCallback] = []
        self._token_paths: TokenPaths | None = None
        self._placed = ""  # the text last given to place()
        self._point: np.ndarray | None = None  # where it landed
        self._vectors = self._projection = None
        self._filling: threading.Thread | None = None
        self._filled = threading.Event()
        if mode == "texts":
            self._texts_full = _check_texts(texts)
            if labels is not None and len(labels) != len(self._texts_full):
                raise ValueError(
                    f"{len(labels)} labels for {len(self._texts_full)} texts: give one label per text"
                )
            self._label_values = None if labels is None else list(labels)
            if not defer:
                self._vectors = embed_texts(
                    model, self._texts_full, layer, pooling, progress=progress, seconds=CORPUS_SECONDS
                )
                self._projection = project(self._vectors, method, dims, seed, **self._fit[3])
        elif mode == "tokens":
            if not isinstance(texts, str):
                raise TypeError("token mode shows the tokens of one text: pass a str")
            if labels is not None:
                raise ValueError("token mode colours points by layer; it takes no labels")
            if defer:
                raise ValueError("token mode embeds one text: it has nothing to defer (defer=False)")
            paths = self._token_paths = token_embeddings(model, texts)
            self._texts_full = paths.point_labels()
            self._label_values = [f"layer {layer}" for layer in paths.point_layer.tolist()]
            self._vectors = paths.flat()
            self._projection = project_token_paths(paths, method, dims, seed, **self._fit[3])
        else:
            raise ValueError(f"mode must be 'texts' or 'tokens', not {mode!r}")
        super().__init__(model)
        self.set_trait("mode", mode)
        method, dims = self._fit[0], self._fit[1]
        if self._token_paths is not None:
            self._caption = map_caption(
                method,
                dims,
                len(self._texts_full),
                layer=0,
                num_layers=model.num_layers,
                tokens=self._token_paths.num_tokens,
            )
        else:
            index = hidden_state_index(model, layer)
            self._caption = map_caption(
                method, dims, len(self._texts_full), layer=index, num_layers=model.num_layers, pooling=pooling
            )
        if self._projection is None:
            self._computing()
        else:
            self._show_points()

    def _show_points(self) -> None:
        """Send the points (the projection made) and mark the map filled."""
        assert self._projection is not None
        point_labels: Sequence[Any] = self._label_values or [""] * len(self._texts_full)
        with self.hold_sync():
            if self._token_paths is not None:
                layers, tokens = self._token_paths.num_layers + 1, self._token_paths.num_tokens
                self._paths = {"layers": layers, "tokens": tokens}
            self._send_points(self._projection.coords, point_labels)
        self._filled.set()

    # --- filling a deferred map ----------------------------------------------------------------------

    @property
    def filled(self) -> bool:
        """Whether the points are there (always, unless created with ``defer=True`` and not yet filled)."""
        return self._filled.is_set()

    def fill(self, *, background: bool = False) -> threading.Thread | None:
        """Embed and project the texts of a deferred map and show them, then place the text last given to
        :meth:`place`. Errors become ``status`` (never raised); the map stays empty and ``fill()`` may be
        called again. ``background=True`` runs in a daemon thread (returned; :meth:`wait` waits for it),
        each batch a model request of its own. Does nothing for a filled map, or while a fill runs."""
        if self.filled or (self._filling is not None and self._filling.is_alive()):
            return self._filling if background else None
        self._computing()
        if not background:
            self._fill()
            return None
        self._filling = threading.Thread(target=self._fill, name="deepseek-viz map", daemon=True)
        self._filling.start()
        return self._filling

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a fill running in the background (at most ``timeout`` seconds); whether the map is
        filled (``False`` after a fill that failed: see ``status``)."""
        thread = self._filling
        if thread is not None:
            thread.join(timeout)
        return self.filled

    def _fill(self) -> None:
        model = self._hooked
        method, dims, seed, options = self._fit
        try:
            vectors = embed_texts(
                model,
                self._texts_full,
                self._layer,
                self._pooling,
                progress=self._progress,
                interleave=True,
                seconds=CORPUS_SECONDS,
            )
            projection = project(vectors, method, dims, seed, **options)
        except Exception as error:  # a thread's failure has nobody to raise to: it is the map's status
            if not isinstance(error, DeepseekVizError):
                log.exception("deepseek-viz: the embedding map could not be filled")
            self._finish(Status.error(f"the map could not be filled: {describe_error(error)}"))
            return
        with model.time_limit():  # the lock place() takes: the live point is placed on the new points
            self._vectors, self._projection = vectors, projection
            self._show_points()
            self.refresh()

    def _require_filled(self, what: str) -> None:
        if not self.filled:
            state = "its fill failed: " + self.status.message if self.status.failed else "it is being filled"
            raise RuntimeError(f"the map has no {what} yet: {state} (scatter.wait(), or scatter.fill())")

    @classmethod
    def tokens(
        cls,
        model: ModelInterface,
        text: str,
        method: Method = "pca",
        dims: int = 2,
        *,
        seed: int | None = 0,
        project_options: Mapping[str, Any] | None = None,
    ) -> EmbeddingScatter:
        """Token mode: every token of ``text`` at every layer (embeddings = layer 0), one colour per
        layer, a line tracing each token through the layers (see ``project_token_paths``)."""
        return cls(
            model, text, method=method, dims=dims, mode="tokens", seed=seed, project_options=project_options
        )

    # --- what it shows ------------------------------------------------------------------------------

    @property
    def description(self) -> str:
        """What the map shows, as its caption says: method, dimension, layer and pooling, point count."""
        return self._caption

    @property
    def texts(self) -> list[str]:
        """The full text of each point (token mode: a description like ``"L2 · 'flu' (#5)"``)."""
        return list(self._texts_full)

    @property
    def labels(self) -> list[Any] | None:
        """The label of each point as given (token mode: ``"layer L"``), or ``None``."""
        return None if self._label_values is None else list(self._label_values)

    @property
    def vectors(self) -> np.ndarray:
        """The vectors projected, float32 ``[n, d_model]`` (token mode: layer-major, like ``paths.flat()``).
        A deferred map not yet filled raises :class:`RuntimeError`."""
        self._require_filled("vectors")
        assert self._vectors is not None
        return self._vectors

    @property
    def projection(self) -> Projection:
        """The fitted projection; ``projection.coords`` are the points shown. A deferred map not yet
        filled raises :class:`RuntimeError`."""
        self._require_filled("projection")
        assert self._projection is not None
        return self._projection

    @property
    def token_paths(self) -> TokenPaths | None:
        """Token mode: the tokens through the layers; ``None`` for texts."""
        return self._token_paths

    # --- the live point -----------------------------------------------------------------

    def place(self, text: str) -> np.ndarray | None:
        """Show ``text`` as the live point: embedded like the texts (same layer and pooling) and placed with
        the fitted projection's ``transform`` (t-SNE: by its nearest fitted neighbours). Returns its
        coordinates, or ``None`` when ``text`` has no tokens (the live point is removed) or fails (the
        error goes to ``status`` and the previous live point stays). A deferred map not yet filled
        keeps ``text`` and places it once filled (``None`` now)."""
        self._require_texts("place a text")
        with self._hooked.time_limit():  # one placement at a time, also against a fill in the background
            self._placed, self._point = text, None
            self.refresh()
            return self._point

    def _update(self) -> None:
        """Place the text last given to :meth:`place` (errors become ``status``, see :meth:`refresh`);
        nothing before a deferred map is filled (its status stays ``computing`` or the fill's error)."""
        if self._projection is None:
            return
        text, point = self._placed, None
        if text.strip():
            try:
                vector = embed_texts(self._hooked, [text], self._layer, self._pooling, progress=False)
                point = self._projection.transform(vector, approximate=True)[0]
            except EmptyTextError:
                point = None
        with self.hold_sync():
            self._point = point
            self.set_trait("live_text", text if point is not None else "")
            self.set_trait("live_point", [] if point is None else [float(v) for v in point])
            self._finish()

    def link(self, view: traitlets.HasTraits) -> TextViewLink:
        """Link to a view with a ``text`` trait (e.g. ``AttentionView``): a click on a point loads its text
        into ``view``, and ``view``'s text (edited live) is shown as the live point. Returns the link;
        ``unlink()`` ends it."""
        return TextViewLink(self, view)

    def _require_texts(self, action: str) -> None:
        if self.mode != "texts":
            raise TypeError(f"cannot {action} in token mode: the points are one text's tokens, not texts")

    # --- exports -----------------------------------------------------------------------------------

    def figure(self, title: str | None = None) -> go.Figure:
        """The same points as a plotly figure (token mode: with the token paths)."""
        if self._token_paths is not None:
            return token_paths_figure(self._token_paths, self.projection, title=title)
        return scatter_figure(self.projection, self._label_values, self._texts_full, title=title)

    def to_html(self, path: str | Path, title: str | None = None) -> Path:
        """Write :meth:`figure` as a self-contained HTML file (opens offline)."""
        return to_html(self.figure(title), path)

    def to_png(self, path: str | Path, title: str | None = None, **options: Any) -> str:
        """Write :meth:`figure` as a PNG; ``options`` go to ``export.figures.to_png`` (width, height, scale,
        engine). Returns the engine that drew it."""
        return to_png(self.figure(title), path, **options)

    def to_projector(self, folder: str | Path) -> Path:
        """Write the vectors (not the 2-D points: the projector projects them itself) with each point's text
        and label as TensorBoard Embedding Projector files in ``folder``."""
        metadata: dict[str, list[Any]] = {"text": self._texts_full}
        if self._label_values is not None:
            metadata["label"] = self._label_values
        return write_projector(folder, self.vectors, metadata)


class TextViewLink:
    """A scatter linked to a view with a ``text`` trait: clicks load texts into the view, the view's text
    is the scatter's live point. ``unlink()`` ends both directions and removes the live point."""

    def __init__(self, scatter: EmbeddingScatter, view: traitlets.HasTraits) -> None:
        if not view.has_trait("text"):
            raise TypeError(f"{type(view).__name__} has no 'text' trait to link to")
        scatter._require_texts("link to a text view")
        self.scatter = scatter
        self.view: Any = cast(Any, view)  # any HasTraits with a ``text`` trait
        view.observe(self._on_text, names="text")
        scatter.on_click(self._on_click)
        self._linked = True
        scatter.place(str(self.view.text))

    def _on_text(self, change: Any) -> None:
        self.scatter.place(change["new"])

    def _on_click(self, index: int) -> None:
        self.view.text = self.scatter.texts[index]

    def unlink(self) -> None:
        """Stop following the view and stop loading clicked texts into it (idempotent)."""
        if not self._linked:
            return
        self._linked = False
        self.view.unobserve(self._on_text, names="text")
        self.scatter.on_click(self._on_click, remove=True)
        self.scatter.place("")
