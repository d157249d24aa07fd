"""The result of :func:`explain`: per-token scores of each method, the target, faithfulness, timings.

This is the data object the attribution view renders: :meth:`Explanation.to_dict` gives plain JSON
values and :meth:`Explanation.score_matrix` a float32 ``[method, token]`` array for a binary buffer;
``deepseek_viz.export.attribution_figures.token_bar_chart`` draws it. :meth:`Explanation.to_shap` and
:attr:`Explanation.lime` hand it to shap's and lime's own plots (:mod:`.library_objects`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ...model import Token
from .faithfulness import DeletionCurve, SumCheck
from .library_objects import shap_explanation

if TYPE_CHECKING:
    from .targets import Target

#: Display names of the methods (the attribution view's row labels, figure legends).
METHOD_NAMES = {
    "shap": "SHAP",
    "lime": "LIME",
    "input_x_gradient": "input × gradient",
    "integrated_gradients": "integrated gradients",
}


@dataclass(frozen=True, eq=False)
class Faithfulness:
    """How far each method's scores can be trusted, measured on this text.

    ``completeness[m]``: ``Σ scores`` vs ``f(x) − f(baseline)`` for every method (a promise of
    integrated gradients and — for the permutation algorithm — of SHAP; informative for the others).
    ``additivity``: SHAP's ``Σ values + base value`` vs ``f(x)``. ``deletion[m]``: the deletion curve
    of method ``m``; ``random_deletion``: the mean curve of random orders. ``ig_convergence_delta``:
    captum's own delta. ``lime_fit``: the weighted R² of LIME's linear surrogate.
    """

    completeness: dict[str, SumCheck] = field(default_factory=dict)
    additivity: SumCheck | None = None
    deletion: dict[str, DeletionCurve] = field(default_factory=dict)
    random_deletion: DeletionCurve | None = None
    ig_convergence_delta: float | None = None
    lime_fit: float | None = None

    @property
    def ig_completeness(self) -> SumCheck | None:
        """Integrated gradients' completeness check, if that method ran."""
        return self.completeness.get("integrated_gradients")

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers, ready for JSON."""
        return {
            "completeness": {m: c.to_dict() for m, c in self.completeness.items()},
            "additivity": None if self.additivity is None else self.additivity.to_dict(),
            "deletion": {m: c.to_dict() for m, c in self.deletion.items()},
            "random_deletion": None if self.random_deletion is None else self.random_deletion.to_dict(),
            "ig_convergence_delta": self.ig_convergence_delta,
            "lime_fit": self.lime_fit,
        }

    def summary(self) -> list[str]:
        """One line per figure, for a text report."""
        lines = []
        if self.ig_completeness is not None:
            c = self.ig_completeness
            lines.append(
                f"IG completeness: Σ={c.total:.4g} vs f(x)−f(b)={c.expected:.4g} "
                f"(rel. error {c.relative_error:.2%}; captum delta {self.ig_convergence_delta:.3g})"
            )
        if self.additivity is not None:
            a = self.additivity
            lines.append(
                f"SHAP additivity: Σ+base={a.total:.4g} vs f(x)={a.expected:.4g} (error {a.error:.2g})"
            )
        if self.lime_fit is not None:
            lines.append(f"LIME surrogate R²: {self.lime_fit:.3f}")
        reference = self.random_deletion
        for method, curve in self.deletion.items():
            line = f"deletion AUC ({method}): {curve.auc:.4g}, normalised {curve.normalized_auc:.3f}"
            if reference is not None:
                line += f" (random order: {reference.auc:.4g}, {reference.normalized_auc:.3f})"
            lines.append(line)
        return lines


@dataclass(frozen=True, eq=False)
class Explanation:
    """Attributions of one target on one text, one score per traced token and method.

    ``tokens`` are the trace's tokens (BOS first). Special tokens are never perturbed: their score is
    0 in every method and ``special`` flags them. ``scores[m]`` is float64 ``[n]``; positive scores
    push the target up. ``value`` is ``f(x)``, ``baseline_value`` ``f`` with every non-special token
    masked (replaced by ``baseline``). ``timings[m]`` is the seconds method ``m`` took when it was
    computed (``cached`` lists the methods served from the cache); ``evaluations[m]`` the model inputs
    it scored. ``library_objects`` holds what an attribution library made during the run and is kept
    as it came (LIME's explanation, see :attr:`lime`); :meth:`to_shap` builds shap's object on demand.
    """

    text: str
    tokens: list[Token]
    special: np.ndarray
    methods: tuple[str, ...]
    scores: dict[str, np.ndarray]
    target: str
    target_spec: Target
    value: float
    baseline_value: float
    baseline: str
    faithfulness: Faithfulness
    timings: dict[str, float]
    evaluations: dict[str, int]
    details: dict[str, dict[str, Any]]
    settings: dict[str, Any]
    cached: tuple[str, ...] = ()
    library_objects: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, method: str) -> np.ndarray:
        return self.scores[method]

    @property
    def token_texts(self) -> list[str]:
        """Each token's source text (the vocabulary string for special tokens)."""
        return [t.text for t in self.tokens]

    def ranking(self, method: str) -> np.ndarray:
        """Indices of the non-special tokens, highest score first (ties: earlier token first)."""
        features = np.flatnonzero(~self.special)
        return features[np.argsort(-self.scores[method][features], kind="stable")]

    def top(self, method: str, k: int = 5) -> list[tuple[Token, float]]:
        """The ``k`` highest-scoring tokens of ``method`` with their scores."""
        return [(self.tokens[i], float(self.scores[method][i])) for i in self.ranking(method)[:k]]

    def normalized(self, method: str) -> np.ndarray:
        """``scores[method] / max |score|`` (all zeros if every score is 0), comparable across methods."""
        scores = self.scores[method]
        peak = float(np.max(np.abs(scores))) if scores.size else 0.0
        return scores / peak if peak > 0 else np.zeros_like(scores)

    def score_matrix(self, normalize: bool = False) -> np.ndarray:
        """float32 ``[method, token]`` in the order of ``methods`` (for a binary buffer)."""
        rows = [self.normalized(m) if normalize else self.scores[m] for m in self.methods]
        return np.asarray(rows, dtype=np.float32).reshape(len(self.methods), len(self.tokens))

    def to_shap(self, method: str = "shap", special: bool = False) -> Any:
        """``method``'s scores as a one-dimensional ``shap.Explanation``, for ``shap.plots.text``,
        ``shap.plots.waterfall`` and ``shap.plots.bar`` unchanged.

        ``values``: the token scores; ``base_values``: :attr:`baseline_value`, the target with every
        token masked (``f(baseline)``, SHAP's base value); ``data``: the token strings;
        ``display_data``: one-line quoted labels (what waterfall and bar print); ``feature_names``:
        ``"token {i}"``, ``i`` the position in the trace. Special tokens (BOS) are left out unless
        ``special`` — they are never perturbed and score 0, so leaving them out changes no sum (the
        attribution view and ``token_bar_chart`` show them, scoring 0; ``special=True`` keeps them too).

        Any method can be handed over, but only SHAP's values are Shapley values: for ``"shap"``,
        ``Σ values + base_values = f(x)`` (:attr:`value`) holds up to the run's float error;
        integrated gradients get close to it (completeness; see :attr:`faithfulness`); input ×
        gradient and LIME promise no such sum (LIME's own offset is its ``intercept``, in
        ``details["lime"]``).
        """
        if method not in self.scores:
            raise ValueError(
                f"{method!r} did not run for this explanation (it has {', '.join(self.methods)}); "
                f"explain(..., methods=[..., {method!r}]) to add it"
            )
        keep = np.ones(len(self.tokens), dtype=bool) if special else ~self.special
        positions = np.flatnonzero(keep)
        return shap_explanation(
            self.scores[method][positions],
            self.baseline_value,
            [self.tokens[i].text for i in positions],
            positions.tolist(),
        )

    @property
    def lime(self) -> Any:
        """lime's own explanation of the LIME run (``lime.explanation.Explanation``, regression form):
        ``as_list()`` gives ``(token text, weight)`` pairs — the same weights as ``scores["lime"]``, by
        decreasing |weight|, special tokens not among the features — and ``as_html()`` /
        ``show_in_notebook()`` work offline and show any token text literally."""
        try:
            return self.library_objects["lime"]
        except KeyError:
            raise AttributeError(
                "LIME did not run for this explanation; explain(..., methods=[..., 'lime']) to keep its object"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON values (token texts stay text; the view must set them as textContent)."""
        return {
            "text": self.text,
            "tokens": [
                {"id": t.id, "text": t.text, "start": t.start, "end": t.end, "special": t.special}
                for t in self.tokens
            ],
            "methods": list(self.methods),
            "scores": {m: self.scores[m].tolist() for m in self.methods},
            "target": self.target,
            "value": self.value,
            "baseline_value": self.baseline_value,
            "baseline": self.baseline,
            "faithfulness": self.faithfulness.to_dict(),
            "timings": dict(self.timings),
            "evaluations": dict(self.evaluations),
            "details": {m: dict(d) for m, d in self.details.items()},
            "settings": dict(self.settings),
            "cached": list(self.cached),
        }

    def __repr__(self) -> str:
        lines = [f"Explanation of {self.target} = {self.value:.4g} on {len(self.tokens)} tokens"]
        for method in self.methods:
            best = ", ".join(f"{t.text!r} {s:+.3g}" for t, s in self.top(method, 3))
            lines.append(f"  {method:<22} {self.timings.get(method, float('nan')):7.2f}s  top: {best}")
        lines.extend("  " + line for line in self.faithfulness.summary())
        return "\n".join(lines)
