"""``explain(model, text, target, methods)``: run the attribution methods and measure their faithfulness.

Results are cached per model (weakly: the cache goes with the model) by text, target, method, the
settings that change that method's numbers and the interventions in force; ``cache=False`` recomputes, :func:`clear_cache` empties.
Changing a model's weights in place does not invalidate its cache.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...model import ModelInterface
from .explanation import Explanation, Faithfulness
from .faithfulness import DeletionCurve, additivity, completeness, deletion_curve, random_deletion_curve
from .gradients import Attribution, input_x_gradient, integrated_gradients
from .sampling import SHAP_ALGORITHMS, lime_weights, shap_values
from .scoring import Baseline, CancelFlag, ProgressCallback, Scorer, baseline_vector
from .targets import NextToken, Target

METHODS = ("shap", "lime", "input_x_gradient", "integrated_gradients")
ALIASES = {
    "ig": "integrated_gradients",
    "integrated_gradient": "integrated_gradients",
    "ixg": "input_x_gradient",
    "input_x_grad": "input_x_gradient",
    "inputxgradient": "input_x_gradient",
    "kernel_shap": "shap",
}
CACHE_SIZE = 256

_cache: weakref.WeakKeyDictionary[ModelInterface, OrderedDict[tuple[Any, ...], Any]] = (
    weakref.WeakKeyDictionary()
)


def clear_cache(model: ModelInterface | None = None) -> None:
    """Forget cached attributions of ``model`` (of every model when ``None``)."""
    if model is None:
        _cache.clear()
    else:
        _cache.pop(model, None)


def _cached(
    model: ModelInterface, key: tuple[Any, ...], use: bool, compute: Callable[[], Any]
) -> tuple[Any, bool]:
    store = _cache.setdefault(model, OrderedDict())
    if use and key in store:
        store.move_to_end(key)
        return store[key], True
    value = compute()
    store[key] = value
    while len(store) > CACHE_SIZE:
        store.popitem(last=False)
    return value, False


def normalize_methods(methods: str | Sequence[str]) -> tuple[str, ...]:
    """Canonical method names (aliases such as ``"ig"`` accepted), without duplicates."""
    names = [methods] if isinstance(methods, str) else list(methods)
    out: list[str] = []
    for name in names:
        canonical = ALIASES.get(name.lower(), name.lower())
        if canonical not in METHODS:
            raise ValueError(f"unknown attribution method {name!r}; choose from {', '.join(METHODS)}")
        if canonical not in out:
            out.append(canonical)
    if not out:
        raise ValueError("no attribution method given")
    return tuple(out)


def explain(
    model: ModelInterface,
    text: str,
    target: Target | None = None,
    methods: str | Sequence[str] = METHODS,
    *,
    baseline: Baseline = "pad",
    shap_max_evals: int | None = None,
    shap_algorithm: str = "permutation",
    lime_samples: int = 500,
    lime_kernel_width: float = 25.0,
    ig_steps: int = 50,
    ig_method: str = "gausslegendre",
    batch_size: int = 16,
    faithfulness: bool = True,
    deletion_steps: int | None = None,
    seed: int = 0,
    progress: bool = False,
    cache: bool = True,
    truncate: bool = False,
    cancel: CancelFlag | None = None,
    on_progress: ProgressCallback | None = None,
) -> Explanation:
    """Attribute ``target`` (default :class:`NextToken`: the model's own next-token prediction) to the
    tokens of ``text`` with each of ``methods``.

    Tokens are the trace's (``model.trace(text).tokens``, BOS first); BOS is never perturbed and scores
    0 (flagged in ``explanation.special``). A token is removed by replacing its input embedding with
    ``baseline`` (``"pad"``: the pad token's embedding; ``"zero"``; ``"mean"``: the mean embedding; or a
    token id) — for SHAP, LIME, the deletion curves and as the integrated-gradients baseline alike, so
    SHAP's base value and IG's ``f(baseline)`` are the same number.

    Sample counts: ``shap_max_evals`` (default two antithetic permutations, ``2·(2m+1)`` evaluations for
    ``m`` tokens), ``lime_samples``, ``ig_steps``; ``batch_size`` inputs per forward pass. ``seed`` makes
    SHAP, LIME and the random deletion reference deterministic. ``progress=True`` shows tqdm bars.
    ``faithfulness=False`` skips the deletion curves (sum checks are free and always reported).

    ``cancel`` (e.g. a :class:`threading.Event`) is checked before every batch of model evaluations:
    once set, the run raises :class:`~.scoring.AttributionCancelled` (nothing half-done is cached).
    ``on_progress(what, done, total)`` is told the evaluations of SHAP, LIME and integrated gradients as
    they are scored (``what``: ``"SHAP"``, ``"LIME"``, ``"integrated gradients"``).

    Gradients through DeepSeek's MoE layers follow the selected experts' gate weights, not the top-k
    choice itself (see :mod:`.gradients`).
    """
    chosen = normalize_methods(methods)
    if shap_algorithm not in SHAP_ALGORITHMS:
        raise ValueError(f"shap_algorithm must be one of {SHAP_ALGORITHMS}, not {shap_algorithm!r}")
    target = NextToken() if target is None else target
    if not isinstance(target, Target):
        raise TypeError(
            f"target must be a Target (NextToken, Continuation, Verbalizer), not {type(target).__name__}"
        )
    tokens = model.tokenize(text, truncate=truncate)
    special = np.array([t.special for t in tokens], dtype=bool)
    if special.all():
        raise ValueError("the text has no tokens to attribute (only special tokens)")
    with model.time_limit():  # one deadline for all methods (ModelInterface.max_seconds)
        bound = target.bind(model, tokens)
        vector, baseline_text = baseline_vector(model, baseline)
        scorer = Scorer(bound, special, vector, batch_size=batch_size, cancel=cancel, on_progress=on_progress)
        common = (text, len(tokens), target, baseline, model.interventions)
        (f_x, f_b), _ = _cached(
            model, (*common, "values"), cache, lambda: (scorer.value(True), scorer.value(False))
        )
        texts = [t.text for t in tokens]

        runners: dict[str, tuple[tuple[Any, ...], Callable[[], Attribution]]] = {
            "shap": (
                (shap_max_evals, shap_algorithm, seed),
                lambda: shap_values(scorer, shap_max_evals, shap_algorithm, seed, progress, texts),
            ),
            "lime": (
                (lime_samples, lime_kernel_width, seed),
                lambda: lime_weights(scorer, texts, lime_samples, seed, lime_kernel_width, progress),
            ),
            "input_x_gradient": ((), lambda: input_x_gradient(scorer)),
            "integrated_gradients": (
                (ig_steps, ig_method),
                lambda: integrated_gradients(scorer, ig_steps, ig_method, progress),
            ),
        }
        scores: dict[str, np.ndarray] = {}
        timings: dict[str, float] = {}
        evaluations: dict[str, int] = {}
        details: dict[str, dict[str, Any]] = {}
        objects: dict[str, Any] = {}  # the libraries' own results (LIME's explanation), kept as made
        curves: dict[str, DeletionCurve] = {}
        served: list[str] = []
        for method in chosen:
            settings, run = runners[method]

            def timed(run: Callable[[], Attribution] = run) -> tuple[Attribution, float, int]:
                before, start = scorer.evaluations, time.perf_counter()
                result = run()
                return result, time.perf_counter() - start, scorer.evaluations - before

            (result, seconds, count), hit = _cached(model, (*common, method, settings), cache, timed)
            scores[method], timings[method], evaluations[method] = result.scores.copy(), seconds, count
            details[method] = dict(result.details)
            if result.library_object is not None:
                objects[method] = result.library_object
            if hit:
                served.append(method)
            if faithfulness:

                def curve(values: np.ndarray = result.scores, name: str = method) -> DeletionCurve:
                    return deletion_curve(scorer, values, name, deletion_steps)

                curves[method], _ = _cached(
                    model, (*common, method, settings, "deletion", deletion_steps), cache, curve
                )
        random_curve = None
        if faithfulness:
            random_curve, _ = _cached(
                model,
                (*common, "random_deletion", deletion_steps, seed),
                cache,
                lambda: random_deletion_curve(scorer, deletion_steps, seed=seed),
            )

        checks = {m: completeness(m, s, f_x, f_b) for m, s in scores.items()}
        shap_check = (
            additivity("shap", scores["shap"], details["shap"]["base_value"], f_x)
            if "shap" in scores
            else None
        )
        report = Faithfulness(
            completeness=checks,
            additivity=shap_check,
            deletion=curves,
            random_deletion=random_curve,
            ig_convergence_delta=details.get("integrated_gradients", {}).get("convergence_delta"),
            lime_fit=details.get("lime", {}).get("score"),
        )
        return Explanation(
            text=text,
            tokens=list(tokens),
            special=special,
            methods=chosen,
            scores=scores,
            target=bound.description,
            target_spec=target,
            value=f_x,
            baseline_value=f_b,
            baseline=baseline_text,
            faithfulness=report,
            timings=timings,
            evaluations=evaluations,
            details=details,
            settings={
                "baseline": baseline,
                "shap_max_evals": shap_max_evals,
                "shap_algorithm": shap_algorithm,
                "lime_samples": lime_samples,
                "lime_kernel_width": lime_kernel_width,
                "ig_steps": ig_steps,
                "ig_method": ig_method,
                "batch_size": batch_size,
                "deletion_steps": deletion_steps,
                "seed": seed,
            },
            cached=tuple(served),
            library_objects=objects,
        )
