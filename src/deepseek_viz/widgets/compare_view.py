"""``Compare``: two runs side by side with their differences (``analysis/comparison.py``): two texts on
one model, one text on two models that share a tokenizer (a base model and its distill), or one model
with and without interventions (``interventions_b``).

Browser ids (``data-testid``): ``compare-view`` (root; ``data-theme`` ``light``/``dark`` as last drawn),
``status``, ``text-input-a`` / ``text-input-b`` (the two editable texts), ``compare-caption``,
``layer-select``, ``head-select``, ``compare-tokens`` (one column ``position-I`` per position, positions
aligned by index: ``token-a-I`` over ``token-b-I``, then ``routing-cell-I`` (how many of its experts
changed in ``layer``) and, once computed, ``attr-a-I``, ``attr-b-I``, ``attr-diff-I``; a position whose
tokens differ has ``data-differs="true"``; positions past the shorter run are dimmed, not compared),
``routing-tooltip`` (the experts in a and in b of the hovered position), ``routing-note`` (a dense
layer or model), ``pattern-a``, ``pattern-b`` and ``difference-heatmap`` (canvases, one pixel per cell:
run a's and run b's pattern of the chosen head, and ``b − a`` in a diverging scale whose zero is the
theme's neutral), ``heatmap-tooltip`` (query, key, a, b and b − a of the hovered cell),
``prediction-changes`` (one ``prediction-I`` line per position: top token a → b and the signed change
of a's top token's probability; ``data-changed`` where the top token differs), ``lens-agreement``
(canvas, layer × position: where the runs' logit lens parts), ``lens-tooltip``, ``run-attributions``
(the button), ``attribution-error`` (beside it), ``attribution-caption``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import traitlets

from ..analysis.attribution import NextToken, explain
from ..analysis.comparison import Comparison, compare
from ..model import EmptyTextError, Intervention, ModelInterface
from ..model.tokens import readable_texts
from .base import bundle
from .buffers import ArrayTrait, encode_float16, encode_float32, encode_indices, encode_uint8, max_pool
from .commands import Reply, command
from .live_text import ModelView, display_tokens, require_model, token_index

#: Largest side of each heatmap sent; longer runs are pooled in square blocks (the patterns by their
#: max, the difference by its value of largest magnitude). Three heatmaps of 256² stay under 256 KiB.
HEATMAP_SIZE = 256
#: Positions of the logit-lens agreement window (around the selected position, else the last ones).
LENS_WINDOW = 64


def pool_signed(matrix: np.ndarray, max_size: int) -> np.ndarray:
    """Shrink a 2-D signed ``matrix`` as :func:`max_pool` does, each block keeping its value of largest
    magnitude (with its sign), so one sharp change stays visible and keeps its direction."""
    high, _ = max_pool(matrix, max_size)
    low, _ = max_pool(-matrix, max_size)
    return np.where(high >= low, high, -low)


def describe_interventions(interventions: Sequence[Intervention]) -> str:
    """A short caption of the interventions a run went under, e.g. ``"HeadAblation L1 heads 0, 2"``."""
    parts = []
    for intervention in interventions:
        text = f"{type(intervention).__name__} L{getattr(intervention, 'layer', '?')}"
        for name in ("heads", "experts"):
            values = getattr(intervention, name, None)
            if values is not None:
                text += f" {name} {', '.join(map(str, values))}"
        parts.append(text)
    return "; ".join(parts)


def lens_window(positions: int, focus: int) -> range:
    """The compared positions whose lens agreement is sent: :data:`LENS_WINDOW` of them around
    ``focus`` (``-1``: ending at the last)."""
    width = min(LENS_WINDOW, positions)
    centre = positions - 1 if focus < 0 else focus
    start = max(0, min(centre - width // 2 if focus >= 0 else positions - width, positions - width))
    return range(start, start + width)


class Compare(ModelView):
    """Two traces side by side with their differences.

    ``Compare(model_a, text_a, model_b=None, text_b=None, *, interventions_b=None, layer=0, head=0)``:
    run a is ``text_a`` on ``model_a``; run b is ``text_b`` (default: ``text_a``) on ``model_b`` (default:
    ``model_a``) under ``interventions_b`` (default: none). Positions are compared by index, up to the
    shorter run. Two models must share a tokenizer: else ``status`` is the error of
    :func:`~deepseek_viz.analysis.comparison.compare` and nothing is drawn.

    Traits readable and settable from Python (a change recomputes): ``text_a``, ``text_b``, ``layer``
    (attention and routing; negative from the end), ``head``, ``selected_token`` (a compared position,
    ``-1``: none; centres the lens window). Out-of-range values raise :class:`traitlets.TraitError`.
    Read-only: ``num_layers`` / ``num_heads`` (the smaller of the two models'), ``moe_layers`` (MoE in
    both runs). :attr:`comparison` is the :class:`~deepseek_viz.analysis.comparison.Comparison` shown.

    What each change costs: a new text traces that run (cached by the model); a layer or head switch
    reads that head from the kept traces (a layer the forward did not keep is computed alone from its
    input); the logit lens is read for :data:`LENS_WINDOW` positions only; attributions
    (input × gradient of a's top next token, in both runs) only when asked (:meth:`attribute`, the
    ``run-attributions`` button), and are dropped when a text changes.

    Wire protocol (private traits; arrays are :class:`~.buffers.ArrayTrait` traits, ``None`` when absent):
    ``_tokens_a`` / ``_tokens_b`` ``[[text, kind], …]``; ``_differs`` uint16 ``[position]`` (1 where the
    tokens differ); ``_pattern_a`` / ``_pattern_b`` uint8 ``[query, key]`` on one scale (``_colour_max``,
    the largest weight from the second query on); ``_difference`` float16 ``[query, key]`` ``b − a``;
    all three pooled in blocks of ``_block`` positions when longer than :data:`HEATMAP_SIZE`;
    ``_routing_changes`` uint16 ``[position]`` and ``_experts_a`` / ``_experts_b`` uint16
    ``[position, k]`` of ``_routed_layer`` (``-1`` and ``None`` with ``_routing_note`` saying why:
    a dense layer or model); ``_top_a`` / ``_top_b`` the top next token's text per position (a piece
    of a character as its bytes) and ``_prob_a`` / ``_prob_b`` float16 its probability,
    ``_prob_change`` float16 ``[position]`` (b − a of a's top token's probability); ``_lens_agree`` uint8 ``[layer + 1, position]`` (1: the lens's top-1
    agrees) for positions ``_lens_start`` …; ``_attr_a`` / ``_attr_b`` float32 ``[position]`` and
    ``_attr_caption``; ``_caption``; ``_data_id`` bumps with every new data.

    ``_attribute`` command ``{data_id}`` → ``{stale}`` (the attributions arrive as traits).
    """

    _esm = bundle("compare")

    text_a = traitlets.Unicode("").tag(sync=True)
    text_b = traitlets.Unicode("").tag(sync=True)
    layer = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(0).tag(sync=True)
    selected_token = traitlets.Int(-1).tag(sync=True)
    num_layers = traitlets.Int(read_only=True).tag(sync=True)
    num_heads = traitlets.Int(read_only=True).tag(sync=True)
    moe_layers = traitlets.List(traitlets.Int(), read_only=True).tag(sync=True)

    _caption = traitlets.Unicode("").tag(sync=True)
    _tokens_a: traitlets.List[list[Any]] = traitlets.List().tag(sync=True)
    _tokens_b: traitlets.List[list[Any]] = traitlets.List().tag(sync=True)
    _differs = ArrayTrait().tag(sync=True)
    _pattern_a = ArrayTrait().tag(sync=True)
    _pattern_b = ArrayTrait().tag(sync=True)
    _difference = ArrayTrait().tag(sync=True)
    _block = traitlets.Int(1).tag(sync=True)
    _colour_max = traitlets.Float(1.0).tag(sync=True)
    _routing_changes = ArrayTrait().tag(sync=True)
    _experts_a = ArrayTrait().tag(sync=True)
    _experts_b = ArrayTrait().tag(sync=True)
    _routed_layer = traitlets.Int(-1).tag(sync=True)
    _routing_note = traitlets.Unicode("").tag(sync=True)
    _top_a = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _top_b = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _prob_a = ArrayTrait().tag(sync=True)
    _prob_b = ArrayTrait().tag(sync=True)
    _prob_change = ArrayTrait().tag(sync=True)
    _lens_agree = ArrayTrait().tag(sync=True)
    _lens_start = traitlets.Int(0).tag(sync=True)
    _attr_a = ArrayTrait().tag(sync=True)
    _attr_b = ArrayTrait().tag(sync=True)
    _attr_caption = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        model_a: ModelInterface,
        text_a: str = "",
        model_b: ModelInterface | None = None,
        text_b: str | None = None,
        *,
        interventions_b: Sequence[Intervention] | None = None,
        layer: int = 0,
        head: int = 0,
        selected_token: int = -1,
    ) -> None:
        self._model_b = require_model(model_b) if model_b is not None else None
        self._interventions = tuple(interventions_b or ())
        self._comparison: Comparison | None = None
        self._texts: tuple[str, str] | None = None  # the texts of the comparison kept
        self._started = False  # no refresh per trait while the constructor sets them
        super().__init__(model_a)
        second = self._model_b or model_a
        self.set_trait("num_layers", min(model_a.num_layers, second.num_layers))
        self.set_trait("num_heads", min(model_a.num_heads, second.num_heads))
        self.set_trait("moe_layers", sorted(set(model_a.moe_layers) & set(second.moe_layers)))
        with self.hold_trait_notifications():
            self.text_a = text_a
            self.text_b = text_a if text_b is None else text_b
            self.layer, self.head = layer, head
        self._started = True
        self.refresh()
        if selected_token != -1:
            self.selected_token = selected_token

    @property
    def model_b(self) -> ModelInterface:
        """The model of run b (``model_a`` unless another was given)."""
        return self._model_b or self._hooked

    @property
    def interventions_b(self) -> tuple[Intervention, ...]:
        """The interventions run b goes under."""
        return self._interventions

    @property
    def comparison(self) -> Comparison | None:
        """The comparison shown (``None`` before the first one, for an empty text, or after an error)."""
        return self._comparison

    # --- validation -------------------------------------------------------------------------------

    @traitlets.validate("layer")
    def _valid_layer(self, proposal: Any) -> int:
        layer, count = int(proposal["value"]), self.num_layers
        if not -count <= layer < count:
            raise traitlets.TraitError(
                f"layer {layer} is out of range: the runs have {count} layers (0–{count - 1})"
            )
        return layer % count

    @traitlets.validate("head")
    def _valid_head(self, proposal: Any) -> int:
        head, count = int(proposal["value"]), self.num_heads
        if not 0 <= head < count:
            raise traitlets.TraitError(
                f"head {head} is out of range: each layer has {count} heads (0–{count - 1})"
            )
        return head

    @traitlets.validate("selected_token")
    def _valid_selected_token(self, proposal: Any) -> int:
        return token_index(proposal["value"], self._comparison.positions if self._comparison else 0)

    # --- updates ------------------------------------------------------------------------------------

    @traitlets.observe("text_a", "text_b", "layer", "head", "selected_token")
    def _on_change(self, _change: Any) -> None:
        if self._started:
            self.refresh()

    def _update(self) -> None:
        texts = (self.text_a, self.text_b)
        self._computing()
        if texts != self._texts or self._comparison is None:
            self._comparison, self._texts = None, None
            try:
                comparison = compare(
                    self._hooked,
                    texts[0],
                    texts[1],
                    model_b=self._model_b,
                    interventions_b=self._interventions,
                )
            except EmptyTextError:
                self._clear()
                self._texts = texts
                self._finish()
                return
            except Exception:
                self._clear()  # draw nothing wrong: e.g. two tokenizers that differ
                raise
            self._comparison, self._texts = comparison, texts
            self._send_texts(comparison)
            if self.selected_token >= comparison.positions:
                self.selected_token = -1  # observed: that refresh sends the view
                return
        assert self._comparison is not None
        with self.hold_sync():
            self._send_view(self._comparison)
            self._data_id += 1
            self._finish()

    def _clear(self) -> None:
        with self.hold_sync():
            self._tokens_a, self._tokens_b, self._top_a, self._top_b = [], [], [], []
            for name in (
                "_differs", "_pattern_a", "_pattern_b", "_difference", "_routing_changes", "_experts_a",
                "_experts_b", "_prob_a", "_prob_b", "_prob_change", "_lens_agree", "_attr_a", "_attr_b",
            ):  # fmt: skip
                setattr(self, name, None)
            self._routed_layer, self._routing_note, self._caption, self._attr_caption = -1, "", "", ""
            self._data_id += 1

    def _send_texts(self, comparison: Comparison) -> None:
        """What changes only with the texts: tokens, predictions, the caption; attributions dropped."""
        a, b, n = comparison.a, comparison.b, comparison.positions
        with self.hold_sync():
            self._tokens_a, self._tokens_b = display_tokens(a.tokens), display_tokens(b.tokens)
            self._differs = encode_indices(
                np.isin(np.arange(n), comparison.differing_tokens()).astype(np.uint16)
            )
            first, second = a.top_predictions(1, range(n)), b.top_predictions(1, range(n))
            self._top_a, self._top_b = (
                readable_texts([p[0].text for p in top], [p[0].token_id for p in top], model.token_strings)
                for top, model in ((first, self._hooked), (second, self.model_b))
            )
            self._prob_a = encode_float16(np.array([p[0].prob for p in first], dtype=np.float32))
            self._prob_b = encode_float16(np.array([p[0].prob for p in second], dtype=np.float32))
            self._prob_change = encode_float16(comparison.prediction_changes(k=5)[1])
            self._attr_a = self._attr_b = None
            self._attr_caption = ""
            self._caption = self._describe_runs()

    def _describe_runs(self) -> str:
        b = self.model_b.name if self._model_b is not None else "same model"
        if self._interventions:
            b += f" under {describe_interventions(self._interventions)}"
        return f"a: {self._hooked.name} · b: {b}"

    def _send_view(self, comparison: Comparison) -> None:
        """What follows the layer, head and selected position: the patterns, routing and lens window."""
        layer, head, n = self.layer, self.head, comparison.positions
        first = comparison.a.attention_tensor(layer, [head])[0, :n, :n].float().cpu().numpy()
        difference = comparison.attention_difference(layer, head)
        second = first + difference
        top = max(float(first[1:].max()) if n > 1 else 1.0, float(second[1:].max()) if n > 1 else 1.0)
        pooled_a, block = max_pool(first, HEATMAP_SIZE)
        pooled_b, _ = max_pool(second, HEATMAP_SIZE)
        self._pattern_a, self._pattern_b = encode_uint8(pooled_a, top), encode_uint8(pooled_b, top)
        self._difference = encode_float16(pool_signed(difference, HEATMAP_SIZE))
        self._block, self._colour_max = block, top if math.isfinite(top) and top > 0 else 1.0
        self._send_routing(comparison, layer)
        window = lens_window(n, self.selected_token)
        self._lens_agree = encode_uint8(comparison.lens_agreement(window).astype(np.float32), 1.0)
        self._lens_start = window.start

    def _send_routing(self, comparison: Comparison, layer: int) -> None:
        if not self.moe_layers:
            note = (
                "dense model: no experts to compare"
                if not self._hooked.moe_layers
                else ("run b's model is dense: no experts to compare")
            )
            self._experts_a = self._experts_b = self._routing_changes = None
            self._routed_layer, self._routing_note = -1, note
            return
        if layer not in self.moe_layers:
            self._experts_a = self._experts_b = self._routing_changes = None
            self._routed_layer = -1
            self._routing_note = (
                f"layer {layer} is dense: no experts (MoE layers: {', '.join(map(str, self.moe_layers))})"
            )
            return
        n = comparison.positions
        routing_a, routing_b = comparison.a.routing(layer), comparison.b.routing(layer)
        assert routing_a is not None and routing_b is not None
        self._routing_changes = encode_indices(comparison.routing_changes(layer))
        self._experts_a, self._experts_b = (
            encode_indices(routing_a.experts[:n]),
            encode_indices(routing_b.experts[:n]),
        )
        self._routed_layer, self._routing_note = layer, ""

    # --- attributions -------------------------------------------------------------------------------

    def attribute(self) -> tuple[np.ndarray, np.ndarray]:
        """Input × gradient of run a's top next token, in run a and in run b (under its interventions),
        float64 ``[tokens]`` each; sent to the browser beside the difference. :class:`ValueError` when
        the view shows no comparison."""
        comparison = self._comparison
        if comparison is None:
            raise ValueError("nothing to attribute: the view shows no comparison")
        target = NextToken(comparison.a.top_predictions(1, [len(comparison.a.tokens) - 1])[0][0].token_id)
        first = explain(self._hooked, comparison.a.text, target, "input_x_gradient", faithfulness=False)
        with self.model_b.intervene(*self._interventions):
            second = explain(self.model_b, comparison.b.text, target, "input_x_gradient", faithfulness=False)
        scores = first["input_x_gradient"], second["input_x_gradient"]
        with self.hold_sync():
            self._attr_a, self._attr_b = encode_float32(scores[0]), encode_float32(scores[1])
            self._attr_caption = f"input × gradient of {first.target}"
            self._data_id += 1
        return scores

    @command
    def _attribute(self, msg: Any, _buffers: list[bytes]) -> Reply:
        """``{data_id}`` from the button: compute the attributions if ``data_id`` still names the data
        shown (else ``{stale: true}``); an error answers ``{error}``, shown beside the button."""
        if msg.get("data_id") != self._data_id:
            return {"stale": True}, []
        self.attribute()
        return {"stale": False, "data_id": self._data_id}, []
