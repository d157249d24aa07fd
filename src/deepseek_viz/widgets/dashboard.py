"""``Dashboard``: one text box driving every view of a model (attention, routing, predictions,
attributions, embedding map), with the selected token, layer and text shared between them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets
import traitlets

from ..analysis.projection import Method
from ..data import sample_texts
from ..export.standalone import save_html
from ..model import ModelInterface
from .attention_view import AttentionView, thumbnail_bins
from .attribution_view import AttributionView
from .base import StrictKeywords, bundle
from .embedding_scatter import EmbeddingScatter
from .generation_view import GenerationView
from .intervention_state import Interventions
from .linking import TraitLink
from .live_text import LiveTextWidget, ModelView, TracedTextWidget, require_model
from .prediction_view import PredictionView
from .routing_view import RoutingView
from .status import Status

DEFAULT_TEXT = "Quarterly revenue rose 12% to $4.2 billion, beating analyst estimates."
#: The attribution view's settings in a dashboard, unless given. It re-explains on every edit, so only
#: input × gradient (one backward pass) is live; integrated gradients, SHAP and LIME, with the deletion
#: curves of every row, run when its button is clicked.
LIVE_ATTRIBUTION: dict[str, Any] = {
    "methods": ("input_x_gradient",),
    "sampling_methods": ("integrated_gradients", "shap", "lime"),
    "live_faithfulness": False,
    "deletion_steps": 8,
}


class TextBox(LiveTextWidget):
    """The dashboard's one text box: an edit in the browser (or ``text`` set from Python) calls the
    dashboard's handler, which updates every view and returns the status shown under the box.

    ``max_chars`` (``0``: no limit) refuses longer texts with an error before any model work; the box
    shows a character count against it. ``model_name`` is shown beside the count; ``placeholder`` in the
    empty box.
    """

    _esm = bundle("text_box")

    max_chars = traitlets.Int(0).tag(sync=True)
    model_name = traitlets.Unicode("").tag(sync=True)
    placeholder = traitlets.Unicode("Type or paste a text: every view below follows it").tag(sync=True)

    def __init__(self, model: ModelInterface, text: str = "", *, max_chars: int = 0) -> None:
        self._handler: Callable[[str], Status] | None = None
        super().__init__(model, text=text, max_chars=max_chars, model_name=describe_model(model))

    def on_text(self, handler: Callable[[str], Status], status: Status | None = None) -> None:
        """Call ``handler(text)`` for every new text from now on; it returns the status to show. Shows
        ``status`` (default ``ready``) until then, e.g. that of what the handler's views show now."""
        self._handler = handler
        self._finish(status)

    @traitlets.observe("text")
    def _on_text(self, _change: Any) -> None:
        self.refresh()

    def _update(self) -> None:
        text = self.text
        if self.max_chars and len(text) > self.max_chars:
            self._finish(
                Status.error(
                    f"the text has {len(text):,} characters; this dashboard takes at most "
                    f"{self.max_chars:,}. Shorten it — the views still show the previous text."
                )
            )
            return
        if self._handler is None:
            self._finish()
            return
        self._computing()
        self._finish(self._handler(text))


def describe_model(model: ModelInterface) -> str:
    """One line naming the model: ``"bundled · deepseek_v3 · 4 layers × 6 heads · MoE layers 1–3"``."""
    parts = [model.name, model.family, f"{model.num_layers} layers × {model.num_heads} heads"]
    if model.moe_layers:
        parts.append(f"MoE layers {', '.join(map(str, model.moe_layers))}")
    return " · ".join(parts)


def combine_statuses(statuses: Mapping[str, Status]) -> Status:
    """One status for the dashboard: ``ready``, or an error with each distinct message once (the views
    that gave it named when the views failed in different ways)."""
    failed: dict[str, list[str]] = {}
    for name, status in statuses.items():
        if status.failed:
            failed.setdefault(status.message, []).append(name)
    if not failed:
        return Status.ready()
    if len(failed) == 1:
        return Status.error(next(iter(failed)))
    return Status.error("; ".join(f"{message} ({', '.join(names)})" for message, names in failed.items()))


def _panel(title: str, view: ipywidgets.Widget, flex: str, min_width: str = "0") -> ipywidgets.VBox:
    """``view`` under its title, growing by ``flex``; narrower than ``min_width`` it wraps to a row of
    its own (a row of panels wraps)."""
    view.layout = ipywidgets.Layout(width="100%")
    heading = ipywidgets.Label(title, layout=ipywidgets.Layout(margin="0"))
    heading.add_class("dsv-panel-title")
    return ipywidgets.VBox([heading, view], layout=ipywidgets.Layout(flex=flex, min_width=min_width))


class Dashboard(StrictKeywords, ipywidgets.VBox):
    """Every view of one model on one text: type once, see attention, expert routing, next-token
    predictions with the logit lens, token attributions and where the text lands among others.

    ``Dashboard(model, texts=None, labels=None, *, text=..., layer=0, max_chars=0, method="pca",
    attribution=None, generate=False, max_new_tokens=64, max_new_tokens_limit=None)``:

    - ``texts``/``labels``: the texts of the embedding map (default: the package's 240 labelled finance,
      medical and fortune samples, English and Chinese); clicking a point loads its text everywhere;
    - ``layer``: the attention layer shown first (the routing view follows it on MoE layers);
    - ``max_chars``: longest text accepted from the box (``0``: no limit; the model's ``max_tokens``
      applies either way);
    - ``method``: projection of the map (``"pca"``, ``"umap"``, ``"tsne"``);
    - ``attribution``: keyword arguments of :class:`AttributionView` (``methods``,
      ``sampling_methods``, ``shap_max_evals``, ``lime_samples``, ``ig_steps``, …) over
      :data:`LIVE_ATTRIBUTION`;
    - ``generate``: add a :class:`GenerationView` (``generation``; prompt: ``text``) with
      ``max_new_tokens`` and ``max_new_tokens_limit``: when a generation ends (or is stopped), every
      view shows its text, read as the model wrote it (the generated trace, from the model's cache), and
      a token selected in the generation view is selected in every view (and back); the attributions
      then explain a generated token given everything before it.

    The text views are drawn from the constructor's trace; the embedding map is created empty (its
    status ``computing``) and filled in a background thread (:meth:`EmbeddingScatter.fill`) whose
    batches are model requests of their own, each under ``model.max_seconds``: edits and clicks run
    between them, and the map's points, its live point and click-to-load arrive when it is ready. The
    samples' embeddings are cached per model object (a second dashboard of the same model reuses them,
    :func:`~deepseek_viz.analysis.embeddings.embed_texts`). A fill that fails shows its error in the
    map's status only; the other views keep working. :meth:`wait_for_map` waits for it.

    Alt-clicking a head (attention) or an expert (routing) turns it off in the attention, routing and
    prediction views at once (one :class:`Interventions`, :attr:`interventions`); the predictions then
    show the original run's top token against the intervened one, and each view lists what is off.

    The views are attributes (``text_box``, ``attention``, ``routing`` — ``None`` for a dense model —,
    ``predictions``, ``attribution``, ``scatter``, ``generation`` — ``None`` unless ``generate`` —);
    ``text`` and ``selected_token`` read and set the shared values; :meth:`save_html` writes a snapshot that opens offline, and each view's ``figure()``
    (``load_figure()`` for routing) gives a plotly figure for ``dv.save_figure``. One edit updates the
    views in turn from one trace (the model's cache answers all of them), within one
    :meth:`ModelInterface.time_limit`; a view that fails keeps its previous data and the box shows the
    error (:attr:`status`, a :class:`~deepseek_viz.widgets.status.Status`; :meth:`statuses` per view).
    """

    def __init__(
        self,
        model: ModelInterface,
        texts: Sequence[str] | None = None,
        labels: Sequence[Any] | None = None,
        *,
        text: str = DEFAULT_TEXT,
        layer: int = 0,
        max_chars: int = 0,
        method: Method = "pca",
        attribution: Mapping[str, Any] | None = None,
        generate: bool = False,
        max_new_tokens: int = 64,
        max_new_tokens_limit: int | None = None,
    ) -> None:
        model = require_model(model)
        if texts is None:
            if labels is not None:
                raise ValueError("labels were given without texts: pass the texts they label")
            texts, labels = sample_texts()
        self.model = model
        self.text_box = TextBox(model, text, max_chars=max_chars)
        self._interventions = Interventions(model)
        shared = self._interventions
        self.attention = AttentionView(model, text, layer=layer, interventions=shared)
        self.routing = RoutingView(model, text, interventions=shared) if model.moe_layers else None
        self.predictions = PredictionView(model, text, interventions=shared)
        self.attribution = AttributionView(
            model, text, interventions=shared, **{**LIVE_ATTRIBUTION, **(attribution or {})}
        )
        self.scatter = EmbeddingScatter(model, texts, labels, method=method, progress=False, defer=True)
        self.generation = (
            GenerationView(
                model,
                text,
                max_new_tokens=max_new_tokens,
                max_new_tokens_limit=max_new_tokens_limit,
                thumbnails=thumbnail_bins(model.num_layers, model.num_heads),
                interventions=shared,
            )
            if generate
            else None
        )
        self._views: dict[str, LiveTextWidget] = {"attention": self.attention}
        if self.routing is not None:
            self._views["routing"] = self.routing
        self._views.update(predictions=self.predictions, attribution=self.attribution)
        for view in self._views.values():
            view.show_editor = False
        traced = [view for view in self._views.values() if isinstance(view, TracedTextWidget)]
        self._links = [TraitLink(self.attention, view, ["selected_token"]) for view in traced[1:]]
        if self.routing is not None:
            self.attention.observe(self._attention_layer, names="layer")
            self.routing.observe(self._routing_layer, names="layer")
            self._attention_layer({"new": self.attention.layer})
        if self.generation is not None:
            self.generation.observe(self._generated, names="generating")
            self.generation.observe(self._generated_token, names="selected_token")
            self.attention.observe(self._attention_token, names="selected_token")
        self.scatter.on_click(self._load_point)
        self.scatter.place(text)  # placed once the map is filled
        self.text_box.on_text(self._show_text, combine_statuses(self._text_statuses()))
        # after the views' own observers (registered first): each has refreshed once
        shared.observe(self._intervened, names="items")

        attention = _panel(
            "Attention — pick heads in the grid, click a token", self.attention, "3 1 0%", "600px"
        )
        top = [
            attention,
            _panel("Embedding map — click a point to load its text", self.scatter, "2 1 0%", "340px"),
        ]
        middle = [_panel("Next-token predictions and logit lens", self.predictions, "1 1 0%", "420px")]
        if self.routing is not None:
            middle.insert(0, _panel("MoE expert routing", self.routing, "1 1 0%", "420px"))
        row = ipywidgets.Layout(width="100%", grid_gap="12px", flex_flow="row wrap")
        generation = (
            []
            if self.generation is None
            else [
                _panel(
                    "Generate — the model writes; the views follow its text when it stops",
                    self.generation,
                    "1 1 auto",
                )
            ]
        )
        super().__init__(
            [
                self.text_box,
                *generation,
                ipywidgets.HBox(top, layout=row),
                ipywidgets.HBox(middle, layout=row),
                _panel("Token attributions", self.attribution, "1 1 auto"),
            ],
            layout=ipywidgets.Layout(width="100%", grid_gap="12px"),
        )
        self.add_class("dsv-dashboard")
        self.scatter.fill(background=True)

    # --- shared values ----------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The text every view shows; setting it updates them all (as an edit in the box does)."""
        return str(self.text_box.text)

    @text.setter
    def text(self, value: str) -> None:
        if value == self.text_box.text:
            self.text_box.refresh()  # again, e.g. after a time-out
        else:
            self.text_box.text = value

    @property
    def selected_token(self) -> int:
        """The token selected in every view (``-1``: none)."""
        return int(self.attention.selected_token)

    @selected_token.setter
    def selected_token(self, index: int) -> None:
        self.attention.selected_token = index

    @property
    def interventions(self) -> Interventions:
        """The heads and experts turned off in the attention, routing and prediction views (one state
        for all of them, the attributions and the generation too: ``dash.interventions.toggle_head(2, 3)``,
        ``.clear()``)."""
        return self._interventions

    @property
    def status(self) -> Status:
        """The box's status: ``ready``, ``computing`` or an error (with the message shown)."""
        return self.text_box.status

    def statuses(self) -> dict[str, Status]:
        """Each view's own status, by name (``attention``, ``routing``, ``predictions``, ``attribution``,
        ``scatter``)."""
        views: dict[str, ModelView] = {**self._views, "scatter": self.scatter}
        return {name: view.status for name, view in views.items()}

    def wait_for_map(self, timeout: float | None = None) -> bool:
        """Wait (at most ``timeout`` seconds) for the embedding map to be filled; whether it is (``False``
        after a fill that failed: ``statuses()["scatter"]`` says why; ``scatter.fill()`` retries)."""
        return self.scatter.wait(timeout)

    def save_html(self, path: str | Path, title: str = "deepseek-viz dashboard") -> Path:
        """Write the dashboard as it is now to one HTML file that opens offline, with no server
        (:func:`~deepseek_viz.export.standalone.save_html`): the views draw and respond to hovering and
        clicking; editing needs the live dashboard. Waits for the embedding map first."""
        self.wait_for_map()
        return save_html(self, path, title)

    def _text_statuses(self) -> dict[str, Status]:
        """:meth:`statuses` that say something about the text shown: the map's only once it is filled
        (before that it is ``computing``, or its fill's error, which no edit changes)."""
        statuses = self.statuses()
        if not self.scatter.filled:
            del statuses["scatter"]
        return statuses

    # --- updates ----------------------------------------------------------------------------------

    def _show_text(self, text: str) -> Status:
        """Give ``text`` to every view, all within one time limit; the combined status (the map's only
        where the text was traced and so placed on it). Views never raise: a failure is their status."""
        self.attribution.cancel_sampling()  # a SHAP/LIME run of the old text holds the model: stop it first
        with self.model.time_limit():
            for view in self._views.values():
                if view.text == text:
                    view.refresh()  # a view whose last try at this text failed still holds it
                else:
                    view.text = text
            placed = not self.attention.status.failed
            if placed:
                self.scatter.place(text)
        statuses = self._text_statuses()
        if not placed:
            statuses.pop("scatter", None)  # the map still shows the last text placed: its status is not news
        return combine_statuses(statuses)

    def _intervened(self, _change: Any) -> None:
        """The interventions changed (the views have refreshed): the box shows their combined status."""
        self.text_box._finish(combine_statuses(self._text_statuses()))

    def _load_point(self, index: int) -> None:
        self.text = self.scatter.texts[index]

    def _shows_generation(self) -> bool:
        """Whether the views show the generation view's finished trace (its tokens are theirs)."""
        trace = self.generation.trace if self.generation is not None else None
        return trace is not None and self.text == trace.text

    def _generated(self, change: Mapping[str, Any]) -> None:
        """A generation ended: every view shows its text (the model's cache holds its trace)."""
        assert self.generation is not None
        if not change["new"] and self.generation.trace is not None:
            self.text = self.generation.trace.text

    def _generated_token(self, change: Mapping[str, Any]) -> None:
        """A token selected in the generation view: selected in every view, and a generated one
        explained by the attributions given everything before it."""
        if not self._shows_generation():
            return
        assert self.generation is not None and self.generation.trace is not None
        index, trace = change["new"], self.generation.trace
        self.attention.selected_token = index
        if index >= trace.prompt_length:
            token = trace.tokens[index]
            self.attribution.explain_token(trace.text[: token.start], token.id)

    def _attention_token(self, change: Mapping[str, Any]) -> None:
        if self._shows_generation():
            assert self.generation is not None
            self.generation.selected_token = change["new"]

    def _attention_layer(self, change: Mapping[str, Any]) -> None:
        assert self.routing is not None
        if change["new"] in self.routing.moe_layers:
            self.routing.layer = change["new"]

    def _routing_layer(self, change: Mapping[str, Any]) -> None:
        self.attention.layer = change["new"]
