"""``AttributionView``: a text shaded by each method's token scores, one aligned row per method.

Where the browser shows errors (``data-testid``): ``status`` (the view's status: a failed explanation
or edit) and ``sampling-error`` beside the ``run-sampling`` button (a SHAP/LIME run that failed, e.g.
out of memory; the button works again).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import traitlets

from ..analysis.attribution import METHOD_NAMES, Explanation, NextToken, Target, explain, global_importance
from ..analysis.attribution.explain import normalize_methods
from ..analysis.causal import Effect, intervention_effect
from ..export.attribution_figures import global_bar_chart
from ..export.figures import token_heatmap
from ..model import DeepseekVizError, EmptyTextError, ModelInterface
from .base import bundle
from .buffers import ArrayTrait, encode_float32
from .commands import command
from .intervention_state import Interventions, InterventionsView
from .live_text import LiveTextWidget, display_tokens
from .status import Status

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: Keyword arguments of :func:`explain` a view passes on (sample counts, baseline, seed, …).
EXPLAIN_SETTINGS = frozenset(
    name
    for name, parameter in inspect.signature(explain).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "progress"
)


def _number(value: float | None) -> float | None:
    """``value`` as a JSON-safe float (``None`` for a missing, infinite or NaN figure)."""
    return float(value) if value is not None and math.isfinite(value) else None


def faithfulness_summary(explanation: Explanation) -> dict[str, Any]:
    """The faithfulness figures the view shows, as JSON-safe scalars (no curves).

    ``methods[m]``: ``sum_gap`` (``Σ scores − (f(x) − f(baseline))``; the completeness gap, a promise
    of integrated gradients), ``relative_gap``, ``deletion_auc`` and ``normalized_auc`` (lower is more
    faithful). ``additivity_gap``: SHAP's ``Σ values + base − f(x)``; ``random_auc`` /
    ``random_normalized_auc``: the random-order reference; ``lime_fit``: LIME's surrogate R².
    """
    report = explanation.faithfulness
    methods: dict[str, dict[str, float | None]] = {}
    for method in explanation.methods:
        check, curve = report.completeness.get(method), report.deletion.get(method)
        methods[method] = {
            "sum_gap": _number(check.error if check else None),
            "relative_gap": _number(check.relative_error if check else None),
            "deletion_auc": _number(curve.auc if curve else None),
            "normalized_auc": _number(curve.normalized_auc if curve else None),
        }
    reference = report.random_deletion
    return {
        "methods": methods,
        "additivity_gap": _number(report.additivity.error if report.additivity else None),
        "random_auc": _number(reference.auc if reference else None),
        "random_normalized_auc": _number(reference.normalized_auc if reference else None),
        "lime_fit": _number(report.lime_fit),
    }


def describe_target(explanation: Explanation) -> str:
    """One line saying what is explained and its value, e.g. ``log p(' the' | text) — … = -2.31``."""
    return (
        f"Explaining {explanation.target} = {explanation.value:.4g} "
        f"(every token masked: {explanation.baseline_value:.4g})"
    )


class AttributionView(LiveTextWidget, InterventionsView):
    """Which tokens of a text push a target up or down, by several attribution methods side by side.

    ``AttributionView(model, text, target=None, methods=(...), sampling_methods=(...), **settings)``:

    - ``target``: what is explained (default :class:`NextToken`: the model's own next-token
      prediction; or ``Continuation(" rose")``, ``Verbalizer(...)``); settable later from Python.
    - ``methods``: computed live, every time the text changes (gradients: cheap);
    - ``sampling_methods``: SHAP/LIME, slow, computed only when the ``run-sampling`` button is clicked
      (or :meth:`run_sampling` is called) and shown until the text, target or methods change;
    - ``live_faithfulness=False`` leaves the deletion curves (several forward passes per method) out
      of the live rows; the ``run-sampling`` button computes them for every row;
    - ``settings``: keyword arguments of :func:`explain` (``ig_steps``, ``shap_max_evals``,
      ``lime_samples``, ``baseline``, ``deletion_steps``, ``seed``, …).

    ``interventions=`` (an :class:`~.intervention_state.Interventions`, shared with other views, as in a
    Dashboard): the attributions are those of the intervened run, of the target fixed on the original
    run (its top token or label, :meth:`Target.pinned`), and the caption gives the target's value on the
    original run → with the interventions, with the signed change.

    ``explanation`` holds the :class:`Explanation` shown (scores, target, faithfulness, timings).
    ``status`` is a :class:`~deepseek_viz.widgets.status.Status` (shown ``ready``, ``computing`` or
    ``error: …``); an error (e.g. a text over the model's ``max_tokens``) keeps the previous rows, an
    empty text shows an empty state.

    Wire protocol (private traits): ``_tokens`` ``[[text, kind], …]``; ``_scores`` float32
    ``[method, token]`` (an :class:`~.buffers.ArrayTrait`, ``None`` when absent), row ``r`` being the
    method ``_score_methods[r]``;
    ``_labels`` the methods' display names; ``_caption`` the target line; ``_faithfulness`` (see
    :func:`faithfulness_summary`); ``_data_id`` bumps with every new matrix. Commands: ``_edit`` (live
    text) and ``_run_sampling`` ``{data_id}`` (dropped as stale when ``data_id`` no longer names the data
    shown; a failed run answers with its error, which the browser shows in ``sampling-error`` beside the
    ``run-sampling`` button).
    """

    _esm = bundle("attribution")
    #: The ``settings`` it takes: those it passes on to :func:`explain`.
    extra_keywords = EXPLAIN_SETTINGS

    #: What is explained (None: NextToken()). The class is named by string: mypy rejects abstract classes.
    target = traitlets.Instance("deepseek_viz.analysis.attribution.targets.Target", allow_none=True)
    methods = traitlets.List(traitlets.Unicode()).tag(sync=True)
    sampling_methods = traitlets.List(traitlets.Unicode()).tag(sync=True)

    _scores = ArrayTrait().tag(sync=True)
    _score_methods = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _caption = traitlets.Unicode("").tag(sync=True)
    _faithfulness = traitlets.Dict().tag(sync=True)
    #: Display names of the methods (rows, button).
    _labels = traitlets.Dict(METHOD_NAMES).tag(sync=True)

    def __init__(
        self,
        model: ModelInterface,
        text: str = "",
        target: Target | None = None,
        methods: Sequence[str] = ("input_x_gradient", "integrated_gradients"),
        sampling_methods: Sequence[str] = ("shap", "lime"),
        *,
        live_faithfulness: bool = True,
        interventions: Interventions | None = None,
        **settings: Any,
    ) -> None:
        self._settings = settings
        self._live_faithfulness = live_faithfulness
        self._explanation: Explanation | None = None
        self._held = False  # text and target changing together: one update after both
        self._effect: Effect | None = None  # the target before → after the interventions, when in force
        super().__init__(model)
        self._use_interventions(interventions)
        self._start(text, target=target, methods=list(methods), sampling_methods=list(sampling_methods))

    @property
    def explanation(self) -> Explanation | None:
        """The explanation shown (``None`` for an empty text or before the first success)."""
        return self._explanation

    def global_chart(self, texts: Iterable[str], method: str | None = None, top_k: int = 20) -> go.Figure:
        """A plotly bar chart of global token importance over ``texts`` for this view's target and
        settings (``method``: default the last of ``methods``), via :func:`global_importance`."""
        chosen = self.methods[-1] if method is None else method
        importance = global_importance(self._hooked, texts, self.target, chosen, **self._settings)
        return global_bar_chart(importance, top_k=top_k)

    # --- validation -------------------------------------------------------------------------------

    @traitlets.validate("methods", "sampling_methods")
    def _valid_methods(self, proposal: Any) -> list[str]:
        if not proposal["value"] and proposal["trait"].name == "sampling_methods":
            return []  # no button
        try:
            return list(normalize_methods(proposal["value"]))
        except ValueError as error:
            raise traitlets.TraitError(str(error)) from None

    # --- updates ------------------------------------------------------------------------------------

    def explain_token(self, text: str, token: int) -> None:
        """Explain the model's log-probability of ``token`` (an id) after ``text``, in one update (the
        view's ``text`` and ``target`` both change): what a Dashboard shows for a generated token."""
        self._held = True
        try:
            self.text, self.target = text, NextToken(token=token)
        finally:
            self._held = False
        self.refresh()

    @traitlets.observe("text", "target", "methods", "sampling_methods")
    def _on_change(self, _change: Any) -> None:
        if not self._held:
            self.refresh()

    def _update(self) -> None:
        """Explain the text with the live methods (dropping any sampling rows); errors become ``status``."""
        self._show(self._explain(self.methods, faithfulness=self._live_faithfulness))

    def run_sampling(self) -> None:
        """Add the ``sampling_methods`` rows for the text shown (what the ``run-sampling`` button does)."""
        if self._explanation is None or not self.sampling_methods:
            return
        self._show(self._explain([*self.methods, *self.sampling_methods]))

    @command
    def _run_sampling(self, msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """``{data_id}`` from the button: run the sampling methods if ``data_id`` is still the data shown.
        A run that fails (e.g. out of memory) answers ``{"error": …}``, shown beside the button."""
        if msg.get("data_id") != self._data_id:
            return {"stale": True}, []
        self.run_sampling()
        if self.status.failed:
            return {"error": self.status.message}, []
        return {"stale": False, "data_id": self._data_id}, []

    def _explain(self, methods: Sequence[str], faithfulness: bool = True) -> Explanation | Status | None:
        """The explanation of the current text, ``None`` for an empty text, or an error status
        (``faithfulness=False``: without the deletion curves, unless the settings ask for them)."""
        self._computing()
        settings = {"faithfulness": faithfulness, **self._settings}
        active = self._active
        self._effect = None
        try:
            if not active:
                return explain(self._hooked, self.text, self.target, methods, **settings)
            tokens = self._hooked.tokenize(self.text, truncate=bool(settings.get("truncate", False)))
            target = (self.target or NextToken()).pinned(self._hooked, tokens)
            self._effect = intervention_effect(self._hooked, self.text, active, target)
            with self._hooked.intervene(*active):
                return explain(self._hooked, self.text, target, methods, **settings)
        except EmptyTextError:
            return None
        except (DeepseekVizError, ValueError) as error:  # e.g. a target the text cannot have
            return Status.error(str(error))

    def _show(self, explanation: Explanation | Status | None) -> None:
        """Publish ``explanation`` (or the empty state for ``None``); an error status keeps the view."""
        if isinstance(explanation, Status):
            self._finish(explanation)
            return
        with self.hold_sync():
            self._explanation = explanation
            if explanation is None:
                self._tokens, self._scores, self._score_methods = [], None, []
                self._caption, self._faithfulness = "", {}
            else:
                self._tokens = display_tokens(explanation.tokens)
                self._scores = encode_float32(explanation.score_matrix())
                self._score_methods = list(explanation.methods)
                self._caption = describe_target(explanation)
                effect = self._effect
                if effect is not None:
                    self._caption += (
                        f" · original {effect.before:.4g} → {effect.after:.4g} ({effect.change:+.3g}) "
                        "with interventions"
                    )
                self._faithfulness = faithfulness_summary(explanation)
            self._data_id += 1
            self._finish()

    def figure(self) -> go.Figure:
        """Plotly diverging heatmap of the scores shown, method × token, each row scaled to its own
        largest |score| (as in the widget; red raises the target, blue lowers it), titled with the
        target. :class:`ValueError` when the view shows no attributions (empty text)."""
        explanation = self._explanation
        if explanation is None:
            raise ValueError("the view shows no attributions: its text is empty")
        return token_heatmap(
            explanation.score_matrix(normalize=True),
            x_labels=explanation.token_texts,
            y_labels=[METHOD_NAMES.get(method, method) for method in explanation.methods],
            title=describe_target(explanation),
            x_title="token",
            y_title="method",
            colorscale="RdBu_r",
            zmin=-1.0,
            zmax=1.0,
            colorbar_title="score / max |score|",
        )
