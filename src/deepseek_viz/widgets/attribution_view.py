"""``AttributionView``: a text shaded by each method's token scores, one aligned row per method.

Where the browser shows errors (``data-testid``): ``status`` (the view's status: a failed explanation
or edit) and ``sampling-error`` beside the ``run-sampling`` button (a SHAP/LIME run that failed, e.g.
out of memory; the button works again). While a SHAP/LIME run goes: ``sampling-progress`` (a
``role="progressbar"``) and ``cancel-sampling`` beside the button; ``sampling-note`` says a run was
cancelled. The target: ``target-choice`` (a select) and ``target-continuation`` (a text box), ``target-error``.
"""

from __future__ import annotations

import inspect
import logging
import math
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import traitlets

from ..analysis.attribution import (
    METHOD_NAMES,
    AttributionCancelled,
    Continuation,
    Explanation,
    NextToken,
    Target,
    explain,
    global_importance,
)
from ..analysis.attribution.explain import normalize_methods
from ..analysis.attribution.targets import next_token_candidates
from ..analysis.causal import Effect, intervention_effect
from ..export.attribution_figures import global_bar_chart
from ..export.figures import token_heatmap
from ..model import DeepseekVizError, EmptyTextError, ModelInterface
from ..model.tokens import readable_texts
from .background import Job, Throttle
from .base import bundle
from .buffers import ArrayTrait, encode_float32
from .commands import command, describe_error
from .intervention_state import Interventions, InterventionsView
from .live_text import LiveTextWidget, display_tokens
from .status import Status

if TYPE_CHECKING:
    import plotly.graph_objects as go

log = logging.getLogger(__name__)

#: Keyword arguments of :func:`explain` a view passes on (sample counts, baseline, seed, …).
EXPLAIN_SETTINGS = frozenset(
    name
    for name, parameter in inspect.signature(explain).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in {"progress", "cancel", "on_progress"}
)
#: Most progress updates a second a SHAP/LIME run sends.
PROGRESS_PER_SECOND = 5
#: How many of the model's next tokens the target choice offers.
CANDIDATES = 5


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


def target_spec(model: ModelInterface, target: Target | None) -> dict[str, Any]:
    """The target as the browser's choice shows it: ``{"kind": "next"}`` (the model's own next token),
    ``{"kind": "token", "token": id, "text": …}``, ``{"kind": "continuation", "text": …}`` or
    ``{"kind": "other"}`` (another target, set from Python)."""
    if target is None or target == NextToken():
        return {"kind": "next"}
    if isinstance(target, NextToken) and target.score == "logprob" and target.token is not None:
        token = target.token
        if isinstance(token, str):
            ids = model.encode(token)
            if len(ids) != 1:
                return {"kind": "other"}
            token = ids[0]
        text = readable_texts([model.decode([int(token)])], [int(token)], model.token_strings)[0]
        return {"kind": "token", "token": int(token), "text": text}
    if isinstance(target, Continuation):
        return {"kind": "continuation", "text": target.text}
    return {"kind": "other"}


class _Sampling(Job):
    """One SHAP/LIME run: what it explains, fixed when it starts (the text, target, interventions)."""

    def __init__(self, label: str, text: str, target: Target | None, active: tuple[Any, ...]) -> None:
        super().__init__(f"{label} run")
        self.label, self.text, self.target, self.active = label, text, target, active
        self.throttle = Throttle(PROGRESS_PER_SECOND)


class AttributionView(LiveTextWidget, InterventionsView):
    """Which tokens of a text push a target up or down, by several attribution methods side by side.

    ``AttributionView(model, text, target=None, methods=(...), sampling_methods=(...), **settings)``:

    - ``target``: what is explained (default :class:`NextToken`: the model's own next-token
      prediction; or ``Continuation(" rose")``, ``Verbalizer(...)``); settable later from Python.
    - ``methods``: computed live, every time the text changes (gradients: cheap);
    - ``sampling_methods``: SHAP/LIME, slow, computed only when the ``run-sampling`` button is clicked
      (in a thread of its own: the kernel keeps answering; :meth:`start_sampling`) or
      :meth:`run_sampling` is called (in the caller's thread), and shown until the text, target or
      methods change. While a run goes, ``status`` is ``computing`` with its progress (e.g. ``SHAP
      120/500 evaluations``, at most :data:`PROGRESS_PER_SECOND` updates a second); Cancel
      (:meth:`cancel_sampling`) stops it between two batches and keeps the rows shown, ``status``
      ``ready``; a new text, target, methods or interventions stop it too (it would be stale);
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

    The target can be chosen in the browser too: the model's next token (default), one of its
    :data:`CANDIDATES` most probable next tokens (``NextToken(token=id)``) or a continuation typed in
    (``Continuation(text)``).

    Wire protocol (private traits): ``_tokens`` ``[[text, kind], …]``; ``_scores`` float32
    ``[method, token]`` (an :class:`~.buffers.ArrayTrait`, ``None`` when absent), row ``r`` being the
    method ``_score_methods[r]``;
    ``_labels`` the methods' display names; ``_caption`` the target line; ``_faithfulness`` (see
    :func:`faithfulness_summary`); ``_data_id`` bumps with every new matrix; ``_progress`` the SHAP/LIME
    run going, ``{label, done, total}`` (``total`` 0 before its first count; ``{}``: none);
    ``_sampling_note`` (e.g. ``"SHAP, LIME run cancelled"``) and ``_sampling_error`` (a failed run's
    message), both ``""`` until a run ends so; ``_candidates`` ``[[token id, text, prob], …]`` the model's
    most probable next tokens after the text; ``_target_spec`` the target (:func:`target_spec`).
    Commands: ``_edit`` (live text); ``_run_sampling`` ``{data_id}`` starts a run in the background and
    answers at once ``{stale: False, started: True}`` (``{stale: True}`` when ``data_id`` no longer names
    the data shown); ``_cancel_sampling`` ``{}`` (``{cancelled: bool}``); ``_set_target`` ``{kind:
    "next"}`` / ``{kind: "token", token}`` / ``{kind: "continuation", text}`` sets ``target``.
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
    _progress = traitlets.Dict().tag(sync=True)
    _sampling_note = traitlets.Unicode("").tag(sync=True)
    _sampling_error = traitlets.Unicode("").tag(sync=True)
    _candidates: traitlets.List[list[Any]] = traitlets.List().tag(sync=True)
    _target_spec = traitlets.Dict({"kind": "next"}).tag(sync=True)

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
        self._job: _Sampling | None = None  # the SHAP/LIME run going
        self._last_job: _Sampling | None = None
        self._sampling_lock = threading.RLock()  # guards _job and what a run publishes
        self._candidates_of: str | None = None  # the text _candidates are of
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
    def _on_change(self, change: Any) -> None:
        if change["name"] == "target":
            self._target_spec = target_spec(self._hooked, self.target)
        if not self._held:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the live rows (a SHAP/LIME run going is stopped first: it would be stale)."""
        self._drop_sampling()
        super().refresh()

    def _update(self) -> None:
        """Explain the text with the live methods (dropping any sampling rows); errors become ``status``."""
        self._computing()
        result, effect = self._explain(
            self.methods, self.text, self.target, self._active, self._live_faithfulness
        )
        self._show(result, effect)

    # --- sampling (SHAP, LIME) ----------------------------------------------------------------------

    def run_sampling(self) -> None:
        """Add the ``sampling_methods`` rows for the text shown, in the caller's thread (what the
        ``run-sampling`` button does in a thread of its own: :meth:`start_sampling`)."""
        job = self._begin_sampling()
        if job is not None:
            self._sample(job, background=False)

    def start_sampling(self) -> bool:
        """Start adding the ``sampling_methods`` rows in a thread of its own (a run going is replaced);
        whether one started (not for an empty text or without sampling methods). See :meth:`wait_sampling`."""
        job = self._begin_sampling()
        if job is None:
            return False
        job.start(lambda _job: self._sample(job, background=True))
        return True

    def cancel_sampling(self) -> bool:
        """Stop the SHAP/LIME run going (between two batches, well within a second): the rows shown
        stay, ``status`` is ``ready`` and ``_sampling_note`` says it was cancelled. Whether one was going."""
        with self._sampling_lock:
            job = self._drop_sampling()
            if job is None:
                return False
            with self.hold_sync():
                self._sampling_note = f"{job.label} run cancelled"
                self._finish()
        return True

    @property
    def sampling(self) -> bool:
        """Whether a SHAP/LIME run is going."""
        return self._job is not None

    def wait_sampling(self, timeout: float | None = None) -> bool:
        """Wait at most ``timeout`` seconds for the last background run's thread (also a cancelled
        one's); whether it has ended."""
        job = self._last_job
        return job is None or job.wait(timeout)

    def _labels_of(self, methods: Sequence[str]) -> str:
        return ", ".join(METHOD_NAMES.get(method, method) for method in methods)

    def _drop_sampling(self) -> _Sampling | None:
        """Cancel the run going, if any (it stops at its next batch and publishes nothing); it, or None."""
        with self._sampling_lock:
            job, self._job = self._job, None
            if job is not None:
                job.cancel.set()
                self._progress = {}
            return job

    def _begin_sampling(self) -> _Sampling | None:
        if self._explanation is None or not self.sampling_methods:
            return None
        self._drop_sampling()
        job = _Sampling(self._labels_of(self.sampling_methods), self.text, self.target, self._active)
        with self._sampling_lock:
            self._job = self._last_job = job
            with self.hold_sync():
                self._progress = {"label": job.label, "done": 0, "total": 0}
                self._sampling_note = self._sampling_error = ""
                self.set_trait("status", Status("computing", f"{job.label}: starting"))
        return job

    def _report(self, job: _Sampling, what: str, done: int, total: int) -> None:
        """A run's progress: ``done`` of ``total`` evaluations of ``what`` (throttled)."""
        if not job.throttle.ready():
            return
        with self._sampling_lock:
            if self._job is not job:
                return
            with self.hold_sync():
                self._progress = {"label": what, "done": done, "total": total}
                self.set_trait("status", Status("computing", f"{what} {done}/{total} evaluations"))

    def _sample(self, job: _Sampling, background: bool) -> None:
        """Run ``job`` and publish what it gives, if it is still the view's run."""
        try:
            result, effect = self._explain(
                [*self.methods, *self.sampling_methods],
                job.text,
                job.target,
                job.active,
                cancel=job.cancel,
                on_progress=lambda what, done, total: self._report(job, what, done, total),
            )
        except AttributionCancelled:
            return  # whoever cancelled it has published the view's state
        except Exception as error:  # a thread's failure has nobody to raise to: it is the view's status
            if not background:
                with self._sampling_lock:
                    if self._job is job:
                        self._job, self._progress = None, {}
                raise
            log.exception("deepseek-viz: AttributionView's sampling run failed")
            result, effect = Status.error(describe_error(error)), None
        with self._sampling_lock:
            if self._job is not job:
                return  # cancelled or replaced after its last batch
            self._job = None
            with self.hold_sync():
                self._progress = {}
                if isinstance(result, Status):
                    self._sampling_error = result.message
                self._show(result, effect)

    @command
    def _run_sampling(self, msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """``{data_id}`` from the button: start the sampling methods in the background if ``data_id`` is
        still the data shown. The reply comes at once; a run that fails (e.g. out of memory) sets
        ``_sampling_error``, shown beside the button."""
        if msg.get("data_id") != self._data_id:
            return {"stale": True}, []
        return {"stale": False, "started": self.start_sampling()}, []

    @command
    def _cancel_sampling(self, _msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """Cancel: stop the run going (:meth:`cancel_sampling`)."""
        return {"cancelled": self.cancel_sampling()}, []

    @command
    def _set_target(self, msg: Any, _buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """``{kind: "next" | "token" | "continuation", token, text}`` from the target choice; an empty
        continuation answers ``{"error": …}``."""
        kind = msg.get("kind")
        if kind == "next":
            self.target = None
        elif kind == "token":
            self.target = NextToken(token=int(msg["token"]))
        elif kind == "continuation":
            text = str(msg.get("text", ""))
            if not text.strip() or not self._hooked.encode(text):
                return {"error": "type a continuation to explain, e.g. ' rose'"}, []
            self.target = Continuation(text)
        else:
            raise ValueError(f"unknown target kind {kind!r}: 'next', 'token' or 'continuation'")
        return {"target": self._target_spec}, []

    # --- explaining ---------------------------------------------------------------------------------

    def _explain(
        self,
        methods: Sequence[str],
        text: str,
        target: Target | None,
        active: Sequence[Any],
        faithfulness: bool = True,
        **run: Any,
    ) -> tuple[Explanation | Status | None, Effect | None]:
        """The explanation of ``text`` (and the target's change under the interventions ``active``),
        ``None`` for an empty text, or an error status (``faithfulness=False``: without the deletion
        curves, unless the settings ask for them). ``run``: ``cancel`` and ``on_progress`` of :func:`explain`."""
        settings = {"faithfulness": faithfulness, **self._settings, **run}
        try:
            if not active:
                return explain(self._hooked, text, target, methods, **settings), None
            tokens = self._hooked.tokenize(text, truncate=bool(settings.get("truncate", False)))
            pinned = (target or NextToken()).pinned(self._hooked, tokens)
            effect = intervention_effect(self._hooked, text, active, pinned)
            with self._hooked.intervene(*active):
                return explain(self._hooked, text, pinned, methods, **settings), effect
        except EmptyTextError:
            return None, None
        except (DeepseekVizError, ValueError) as error:  # e.g. a target the text cannot have
            return Status.error(str(error)), None

    def _next_tokens(self, explanation: Explanation) -> list[list[Any]]:
        """The target choice's candidates for the explanation's text (computed once per text)."""
        if self._candidates_of == explanation.text:
            return self._candidates
        try:
            found = next_token_candidates(self._hooked, explanation.tokens, CANDIDATES)
        except (DeepseekVizError, ValueError):  # only a choice: the view works without it
            found = []
        self._candidates_of = explanation.text
        return [[c.token, c.text, c.prob] for c in found]

    def _show(self, explanation: Explanation | Status | None, effect: Effect | None = None) -> None:
        """Publish ``explanation`` (or the empty state for ``None``); an error status keeps the view."""
        if isinstance(explanation, Status):
            self._finish(explanation)
            return
        candidates = self._next_tokens(explanation) if explanation is not None else []
        with self.hold_sync():
            self._explanation = explanation
            self._effect = effect
            if explanation is None:
                self._tokens, self._scores, self._score_methods = [], None, []
                self._caption, self._faithfulness = "", {}
                self._candidates, self._candidates_of = [], None
            else:
                self._tokens = display_tokens(explanation.tokens)
                self._scores = encode_float32(explanation.score_matrix())
                self._score_methods = list(explanation.methods)
                self._caption = describe_target(explanation)
                self._candidates = candidates
                if effect is not None:
                    self._caption += (
                        f" · original {effect.before:.4g} → {effect.after:.4g} ({effect.change:+.3g}) "
                        "with interventions"
                    )
                self._faithfulness = faithfulness_summary(explanation)
            self._sampling_note = self._sampling_error = ""  # about rows no longer shown
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
