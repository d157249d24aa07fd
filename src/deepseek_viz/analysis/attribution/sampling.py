"""Sampling attributions: SHAP (``shap.Explainer``) and LIME (``LimeTextExplainer``) over the trace's tokens.

Both see the same features — the non-special traced tokens — and remove a token the same way: its
embedding is replaced by the baseline (see :mod:`.scoring`), so positions never shift.

* SHAP: a custom masker hands the model keep-masks over the tokens; ``algorithm="permutation"``
  (default; antithetic permutations, additive by construction, ``max_evals ≥ 2·m + 1``) or
  ``"partition"`` (Owen values over a balanced tree of adjacent tokens, the shape shap uses for text).
* LIME: the explainer is given the text cut at the trace's token boundaries (``split_expression``
  returns the token texts, ``bow=False`` so every position is its own feature); each perturbed string
  it produces is read back, segment by segment, into the keep-mask it stands for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .gradients import Attribution
from .library_objects import lime_explanation
from .scoring import Scorer

SHAP_ALGORITHMS = ("permutation", "partition")


def _balanced_tree(m: int) -> np.ndarray:
    """A scipy-style linkage that merges adjacent tokens pairwise, bottom up (shape ``[m-1, 4]``)."""
    clusters = [(i, 1) for i in range(m)]  # (cluster id, size)
    rows: list[list[float]] = []
    next_id = m
    height = 1.0
    while len(clusters) > 1:
        merged = []
        for i in range(0, len(clusters) - 1, 2):
            (a, size_a), (b, size_b) = clusters[i], clusters[i + 1]
            rows.append([a, b, height, size_a + size_b])
            merged.append((next_id, size_a + size_b))
            next_id += 1
        if len(clusters) % 2:
            merged.append(clusters[-1])
        clusters = merged
        height += 1.0
    return np.array(rows, dtype=float).reshape(-1, 4)


def _masker(m: int, clustering: np.ndarray | None) -> Any:
    import shap

    class KeepMasker(shap.maskers.Masker):
        """Turns shap's mask over the tokens into the keep-mask the scorer reads."""

        def __init__(self) -> None:
            self.shape = (1, m)
            self.clustering = clustering

        def __call__(self, mask: Any, *args: Any) -> Any:
            return (np.asarray(mask, dtype=bool).reshape(1, m).copy(),)

    return KeepMasker()


def shap_values(
    scorer: Scorer,
    max_evals: int | None = None,
    algorithm: str = "permutation",
    seed: int = 0,
    progress: bool = False,
    token_names: Sequence[str] | None = None,
) -> Attribution:
    """SHAP values of the tokens; ``details`` holds shap's ``base_value`` (= ``f(baseline)``) and ``max_evals``.

    ``max_evals`` defaults to two antithetic permutations, ``2 · (2m + 1)`` model evaluations for ``m``
    tokens (the permutation algorithm needs at least ``2m + 1``). shap seeds numpy's global generator;
    its state is restored afterwards.
    """
    import shap

    if algorithm not in SHAP_ALGORITHMS:
        raise ValueError(f"shap algorithm must be one of {SHAP_ALGORITHMS}, not {algorithm!r}")
    m = scorer.num_features
    minimum = 2 * m + 1
    evals = 2 * minimum if max_evals is None else max_evals
    if algorithm == "permutation" and evals < minimum:
        raise ValueError(
            f"shap_max_evals={evals} is too few for {m} tokens: the permutation algorithm needs ≥ {minimum}"
        )
    clustering = _balanced_tree(m) if algorithm == "partition" and m > 1 else None
    if algorithm == "partition" and m == 1:
        algorithm = "permutation"

    def model(keep: np.ndarray) -> np.ndarray:
        return scorer.score_keep(np.asarray(keep, dtype=bool))

    names = [token_names[int(i)] for i in scorer.features] if token_names is not None else None
    state = np.random.get_state()
    try:
        explainer = shap.Explainer(
            model, _masker(m, clustering), algorithm=algorithm, seed=seed, feature_names=names
        )
        planned = evals if algorithm == "partition" else (evals // minimum) * minimum
        with scorer.progress("SHAP", planned, progress):
            result = explainer(np.ones((1, m)), max_evals=evals, batch_size=scorer.batch_size, silent=True)
    finally:
        np.random.set_state(state)
    scores = np.zeros(len(scorer.special))
    scores[scorer.features] = np.asarray(result.values, dtype=float).reshape(-1)[:m]
    base = float(np.asarray(result.base_values, dtype=float).reshape(-1)[0])
    return Attribution(scores, {"base_value": base, "max_evals": evals, "algorithm": algorithm})


def _sentinel(text: str) -> str:
    """A private-use character that does not occur in ``text`` (LIME's mask string)."""
    for code in range(0xE000, 0xF8FF):
        if chr(code) not in text:
            return chr(code)
    raise ValueError("no free private-use character to mask with")  # pragma: no cover


def lime_weights(
    scorer: Scorer,
    token_texts: Sequence[str],
    samples: int = 500,
    seed: int = 0,
    kernel_width: float = 25.0,
    progress: bool = False,
) -> Attribution:
    """LIME weights of the tokens (a weighted ridge fit on ``samples`` random removals).

    ``details`` holds the surrogate's ``intercept``, its weighted R² (``score``, how well a linear model
    of token presence fits the target locally) and ``local_prediction`` (the surrogate at the input);
    ``library_object`` lime's own explanation of the run (:func:`.library_objects.lime_explanation`).
    """
    from lime.lime_text import LimeTextExplainer

    if samples < 2:
        raise ValueError(f"lime_samples must be at least 2, not {samples}")
    # every feature gets a non-empty segment, so reading a perturbed string back is unambiguous
    segments = [token_texts[int(i)] or "\u2205" for i in scorer.features]
    raw = "".join(segments)
    mask = _sentinel(raw)
    m = len(segments)

    def read_back(perturbed: str) -> np.ndarray:
        keep = np.ones(m, dtype=bool)
        at = 0
        for j, segment in enumerate(segments):
            if perturbed.startswith(mask, at):
                keep[j] = False
                at += len(mask)
            elif perturbed.startswith(segment, at):
                at += len(segment)
            else:  # pragma: no cover - would mean LIME changed how it removes words
                raise RuntimeError(f"could not read LIME's perturbed text back at token {j}")
        return keep

    seen: list[float] = []  # the range of the sampled targets, for lime's predicted-value bar

    def classifier(texts: list[str]) -> np.ndarray:
        keep = np.stack([read_back(t) for t in texts])
        values = scorer.score_keep(keep)
        seen.extend((float(values.min()), float(values.max())))
        return values[:, None]

    explainer = LimeTextExplainer(
        kernel_width=kernel_width,
        split_expression=lambda _text: list(segments),
        bow=False,
        mask_string=mask,
        feature_selection="none",
        random_state=seed,
        class_names=["target"],
    )
    with scorer.progress("LIME", samples, progress):
        result = explainer.explain_instance(raw, classifier, labels=(0,), num_features=m, num_samples=samples)
    weights = np.zeros(m)
    for feature, weight in result.local_exp[0]:
        weights[int(feature)] = weight
    scores = np.zeros(len(scorer.special))
    scores[scorer.features] = weights
    # LIME's first sample is the unperturbed text, so yss[0] is f(x)
    value = float(np.asarray(result.predict_proba).reshape(-1)[0])
    lime_object = lime_explanation(result, value, min(seen, default=value), max(seen, default=value))
    return Attribution(
        scores,
        {
            "intercept": float(np.asarray(result.intercept[0])),
            "score": float(result.score),
            "local_prediction": float(np.asarray(result.local_pred).reshape(-1)[0]),
            "samples": samples,
        },
        lime_object,
    )
