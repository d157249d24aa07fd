"""Global token importance over a dataset: per-text attributions aggregated per token string."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...model import ModelInterface
from .explain import explain, normalize_methods
from .targets import Target

Aggregate = Literal["mean_abs", "mean", "sum_abs"]


@dataclass(frozen=True, eq=False)
class GlobalImportance:
    """Token strings with their aggregated score, most important first.

    ``values[i]`` aggregates every occurrence of ``tokens[i]`` over the texts (``aggregate``:
    ``"mean_abs"`` — mean |score|, ``"mean"`` — signed mean, ``"sum_abs"`` — total |score|);
    ``counts[i]`` is how many occurrences went in. Special tokens are left out.
    ``deepseek_viz.export.attribution_figures.global_bar_chart`` draws it.
    """

    tokens: list[str]
    values: np.ndarray
    counts: np.ndarray
    method: str
    aggregate: str
    target: str
    num_texts: int

    def top(self, k: int = 20) -> list[tuple[str, float, int]]:
        """The ``k`` first rows as ``(token, value, count)``."""
        return [
            (t, float(v), int(c))
            for t, v, c in zip(self.tokens[:k], self.values[:k], self.counts[:k], strict=True)
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "tokens": list(self.tokens),
            "values": self.values.tolist(),
            "counts": self.counts.tolist(),
            "method": self.method,
            "aggregate": self.aggregate,
            "target": self.target,
            "num_texts": self.num_texts,
        }


def _key(text: str, strip: bool, lower: bool) -> str:
    if strip:
        text = text.strip() or text
    return text.lower() if lower else text


def global_importance(
    model: ModelInterface,
    texts: Iterable[str],
    target: Target | Sequence[Target] | None = None,
    method: str = "integrated_gradients",
    *,
    aggregate: Aggregate = "mean_abs",
    strip: bool = True,
    lower: bool = False,
    min_count: int = 1,
    **settings: Any,
) -> GlobalImportance:
    """Explain each text with ``method`` and aggregate the scores per token string.

    ``target`` is one target for every text (e.g. a :class:`Verbalizer`) or one per text.
    Token strings are grouped after ``strip`` (so ``" rose"`` and ``"rose"`` meet; whitespace-only
    tokens keep their text) and optionally ``lower``. Tokens seen fewer than ``min_count`` times are
    dropped. Other keyword arguments go to :func:`explain` (deletion curves are skipped unless
    ``faithfulness=True`` is passed).
    """
    (name,) = normalize_methods(method)
    if aggregate not in ("mean_abs", "mean", "sum_abs"):
        raise ValueError(f"aggregate must be 'mean_abs', 'mean' or 'sum_abs', not {aggregate!r}")
    texts = list(texts)
    targets: list[Target | None]
    if target is None or isinstance(target, Target):
        targets = [target] * len(texts)
    else:
        targets = list(target)
        if len(targets) != len(texts):
            raise ValueError(f"{len(targets)} targets for {len(texts)} texts")
    settings.setdefault("faithfulness", False)
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    descriptions: set[str] = set()
    for text, each in zip(texts, targets, strict=True):
        explanation = explain(model, text, each, methods=(name,), **settings)
        descriptions.add(explanation.target)
        for token, score in zip(explanation.tokens, explanation.scores[name], strict=True):
            if token.special:
                continue
            key = _key(token.text, strip, lower)
            totals[key] = totals.get(key, 0.0) + (float(score) if aggregate == "mean" else abs(float(score)))
            counts[key] = counts.get(key, 0) + 1
    keys = [k for k in totals if counts[k] >= min_count]
    values = np.array([totals[k] / counts[k] if aggregate != "sum_abs" else totals[k] for k in keys])
    order = np.argsort(-(np.abs(values) if aggregate == "mean" else values), kind="stable")
    return GlobalImportance(
        tokens=[keys[i] for i in order],
        values=values[order] if len(keys) else np.zeros(0),
        counts=np.array([counts[keys[i]] for i in order], dtype=int),
        method=name,
        aggregate=aggregate,
        target=_describe(descriptions, target),
        num_texts=len(texts),
    )


def _describe(descriptions: set[str], target: Target | Sequence[Target] | None) -> str:
    if len(descriptions) == 1:
        return next(iter(descriptions))
    if target is None:
        return "the model's top next token of each text"
    return repr(target) if isinstance(target, Target) else "one target per text"
