"""Faithfulness, measured rather than assumed: sum checks and deletion curves.

* :class:`SumCheck` — do the scores add up to what they should? Integrated gradients' completeness
  (``Σ scores`` vs ``f(x) − f(baseline)``) and SHAP's additivity (``Σ values + base value`` vs ``f(x)``)
  are promised by the methods; for input × gradient and LIME the same figure is informative only.
* :class:`DeletionCurve` — mask tokens in order of decreasing score and record the target; a faithful
  ranking makes it fall fast (small area). A random order gives the reference to beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .scoring import Scorer


@dataclass(frozen=True)
class SumCheck:
    """``total`` (what the scores add up to) against ``expected`` (what they should add up to)."""

    method: str
    total: float
    expected: float
    description: str

    @property
    def error(self) -> float:
        """``total − expected``."""
        return self.total - self.expected

    @property
    def relative_error(self) -> float:
        """``|error|`` relative to ``|expected|`` (or to 1 when that is tiny)."""
        return abs(self.error) / max(abs(self.expected), 1e-6)

    def ok(self, rtol: float = 0.05, atol: float = 1e-3) -> bool:
        """Whether ``|error| ≤ atol + rtol · |expected|``."""
        return abs(self.error) <= atol + rtol * abs(self.expected)

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers, ready for JSON."""
        return {
            "method": self.method,
            "total": self.total,
            "expected": self.expected,
            "error": self.error,
            "relative_error": self.relative_error,
            "description": self.description,
        }


def completeness(method: str, scores: np.ndarray, f_x: float, f_baseline: float) -> SumCheck:
    """``Σ scores`` vs ``f(x) − f(baseline)`` (integrated gradients' completeness axiom)."""
    return SumCheck(method, float(np.sum(scores)), f_x - f_baseline, "Σ scores vs f(x) − f(baseline)")


def additivity(method: str, scores: np.ndarray, base_value: float, f_x: float) -> SumCheck:
    """``Σ values + base value`` vs ``f(x)`` (SHAP's local accuracy)."""
    return SumCheck(method, float(np.sum(scores)) + base_value, f_x, "Σ SHAP values + base value vs f(x)")


@dataclass(frozen=True, eq=False)
class DeletionCurve:
    """The target as the top-ranked tokens are masked: ``values[i]`` after masking ``removed[i]`` tokens.

    ``auc``: area under ``values`` over the fraction removed (0…1, trapezoid rule).
    ``normalized_auc``: the same area after rescaling so the unmasked text is 1 and the fully masked
    text 0 — about 0 when the first token removed takes the whole effect, about 0.5 for an even decline.
    Lower is more faithful; compare with the random order's curve (``Faithfulness.random_deletion``).
    """

    method: str
    removed: np.ndarray
    values: np.ndarray

    @property
    def fractions(self) -> np.ndarray:
        """Fraction of the tokens masked at each point."""
        total = self.removed[-1] if len(self.removed) and self.removed[-1] > 0 else 1
        return self.removed / total

    @property
    def auc(self) -> float:
        """Area under the raw curve."""
        return _area(self.fractions, self.values)

    @property
    def normalized_auc(self) -> float:
        """Area under the curve rescaled from ``f(x) → 1`` to ``f(baseline) → 0``; nan when that span is
        under a tenth of the curve's own range (the rescaling would then magnify noise)."""
        span = self.values[0] - self.values[-1]
        if abs(span) <= 1e-12 or abs(span) < 0.1 * float(np.ptp(self.values)):
            return float("nan")
        return _area(self.fractions, (self.values - self.values[-1]) / span)

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers, ready for JSON."""
        return {
            "method": self.method,
            "removed": self.removed.tolist(),
            "values": self.values.tolist(),
            "auc": self.auc,
            "normalized_auc": self.normalized_auc,
        }


def _area(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2:
        return float(y[0]) if len(y) else float("nan")
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def deletion_steps(m: int, steps: int | None) -> np.ndarray:
    """How many tokens are masked at each point: ``0 … m`` in ``steps`` even steps (default ``min(m, 16)``)."""
    count = min(m, 16) if steps is None else max(1, min(m, steps))
    return np.unique(np.round(np.linspace(0, m, count + 1)).astype(int))


def deletion_curve(
    scorer: Scorer, scores: np.ndarray, method: str, steps: int | None = None
) -> DeletionCurve:
    """Mask the features in order of decreasing score (ties: earlier token first) and score each stage."""
    order = np.argsort(-scores[scorer.features], kind="stable")
    return _curve(scorer, order, method, steps)


def random_deletion_curve(
    scorer: Scorer, steps: int | None = None, repeats: int = 3, seed: int = 0
) -> DeletionCurve:
    """The mean deletion curve of ``repeats`` random orders (the reference a ranking should beat)."""
    rng = np.random.default_rng(seed)
    curves = [_curve(scorer, rng.permutation(scorer.num_features), "random", steps) for _ in range(repeats)]
    return DeletionCurve("random", curves[0].removed, np.mean([c.values for c in curves], axis=0))


def _curve(scorer: Scorer, order: np.ndarray, method: str, steps: int | None) -> DeletionCurve:
    removed = deletion_steps(scorer.num_features, steps)
    keep = np.ones((len(removed), scorer.num_features), dtype=bool)
    for row, count in enumerate(removed):
        keep[row, order[:count]] = False
    return DeletionCurve(method, removed, scorer.score_keep(keep))
