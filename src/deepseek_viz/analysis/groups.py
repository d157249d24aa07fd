"""Group comparison: a target's value and its attributions per label group of a labelled set of texts.

The seed's finance-risk and bias use: finance headlines labelled ``"positive"`` / ``"negative"``,
medical sentences labelled by condition, or sentences that differ in one demographic word. Each text is
explained once by :func:`~deepseek_viz.explain` (one method, no deletion curves); per group the result
holds the target's value on each text (mean, standard deviation, every value) and the attributions
aggregated per token string (mean score over the occurrences of each token text in the group's texts,
with counts), and, over the groups, the tokens seen in several groups whose mean score differs most.

Pick a target that reads the *same* scalar on every text, e.g. ``Verbalizer("{text}\\nSentiment:",
(" positive", " negative"), label=" positive")``: without ``label`` a verbalizer explains each text's
own top label (and ``NextToken()`` each text's own top token), so the values would not be comparable;
:func:`group_comparison` warns when the texts' targets differ.
``deepseek_viz.export.group_figures.group_figure`` draws the result.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model import Intervention, ModelInterface
from .attribution.explain import explain, normalize_methods
from .attribution.targets import NextToken, Target

#: The most texts one comparison explains unless ``max_texts`` says otherwise.
MAX_TEXTS = 500
#: Method names accepted here on top of :func:`explain`'s (``"gradient"``: input × gradient).
METHOD_ALIASES = {
    "gradient": "input_x_gradient",
    "gradients": "input_x_gradient",
    "gradient_x_input": "input_x_gradient",
}


@dataclass(frozen=True, eq=False)
class Group:
    """One label group: its texts' target values and their attributions aggregated per token string.

    ``indices`` are the group's texts' positions in the input; ``values[i]`` the target on text
    ``indices[i]``. ``std`` is the sample standard deviation (``ddof=1``; 0 for one text).
    ``tokens`` / ``means`` / ``counts``: every token string seen in the group (special tokens left
    out), its mean score over its occurrences and how many there were, largest ``|mean|`` first.
    """

    name: str
    indices: np.ndarray
    values: np.ndarray
    tokens: list[str]
    means: np.ndarray
    counts: np.ndarray

    @property
    def count(self) -> int:
        """How many texts the group has."""
        return len(self.indices)

    @property
    def mean(self) -> float:
        """The mean target value over the group's texts."""
        return float(self.values.mean())

    @property
    def std(self) -> float:
        """The sample standard deviation of the group's target values (0 for a single text)."""
        return float(self.values.std(ddof=1)) if self.count > 1 else 0.0

    def top(self, k: int = 20) -> list[tuple[str, float, int]]:
        """The ``k`` token strings of largest ``|mean|`` as ``(token, mean, count)``."""
        return [
            (t, float(m), int(c))
            for t, m, c in zip(self.tokens[:k], self.means[:k], self.counts[:k], strict=True)
        ]

    def token_mean(self, token: str) -> float:
        """The group's mean score of ``token`` (NaN if the group never has it)."""
        return float(self.means[self.tokens.index(token)]) if token in self.tokens else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (token strings stay text)."""
        return {
            "name": self.name,
            "count": self.count,
            "indices": self.indices.tolist(),
            "values": self.values.tolist(),
            "mean": self.mean,
            "std": self.std,
            "tokens": list(self.tokens),
            "means": self.means.tolist(),
            "counts": self.counts.tolist(),
        }


@dataclass(frozen=True, eq=False)
class GroupComparison:
    """A target and its attributions per label group, side by side.

    ``groups`` in the order given (``groups=``) or of first appearance. ``values[i]`` is the target on
    ``texts[i]`` and ``targets[i]`` what it read there (the bound target's description);
    ``num_targets`` counts the different scalars read (a ``NextToken()`` reads each text's own top
    token: two byte tokens may both print as ``'�'``, so they are told apart by id).
    ``tokens`` are the ``top`` token strings of largest ``|mean|`` in any group; ``means[t, g]`` is group
    ``g``'s mean score of ``tokens[t]`` (NaN where the group never has it), ``counts[t, g]`` its
    occurrences. ``differences`` are the ``top`` token strings seen in at least two groups whose group
    means spread most (``spread``: largest minus smallest group mean), with ``difference_means``
    ``[token, group]`` the same way. ``interventions`` were in force for every text.
    """

    groups: list[Group]
    texts: list[str]
    labels: list[str]
    values: np.ndarray
    targets: list[str]
    method: str
    tokens: list[str]
    means: np.ndarray
    counts: np.ndarray
    differences: list[str]
    spread: np.ndarray
    difference_means: np.ndarray
    num_targets: int = 1
    interventions: tuple[Intervention, ...] = ()

    @property
    def names(self) -> list[str]:
        """The groups' names, in order."""
        return [group.name for group in self.groups]

    @property
    def target(self) -> str:
        """What was read: the one target description, or how many different targets the texts had."""
        return (
            self.targets[0]
            if self.num_targets == 1
            else f"{self.num_targets} different targets (one per text)"
        )

    @property
    def consistent(self) -> bool:
        """Whether every text's target read the same scalar (so the values compare across groups)."""
        return self.num_targets == 1

    def __getitem__(self, name: str) -> Group:
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(f"no group {name!r}; the groups are {self.names}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (NaN as ``None``)."""

        def plain(array: np.ndarray) -> list[Any]:
            return [[None if np.isnan(v) else float(v) for v in row] for row in array]

        return {
            "groups": [group.to_dict() for group in self.groups],
            "texts": list(self.texts),
            "labels": list(self.labels),
            "values": self.values.tolist(),
            "targets": list(self.targets),
            "target": self.target,
            "num_targets": self.num_targets,
            "method": self.method,
            "tokens": list(self.tokens),
            "means": plain(self.means),
            "counts": self.counts.tolist(),
            "differences": list(self.differences),
            "spread": self.spread.tolist(),
            "difference_means": plain(self.difference_means),
            "interventions": [repr(iv) for iv in self.interventions],
        }

    def __repr__(self) -> str:
        lines = [f"GroupComparison of {self.target} ({self.method}, {len(self.texts)} texts)"]
        for group in self.groups:
            best = ", ".join(f"{t!r} {m:+.3g}" for t, m, _ in group.top(3))
            lines.append(
                f"  {group.name!r}: n={group.count} mean {group.mean:.4g} ± {group.std:.3g}; top: {best}"
            )
        if self.differences:
            lines.append(
                "  differ most: "
                + ", ".join(
                    f"{t!r} ({s:.3g})" for t, s in zip(self.differences[:5], self.spread[:5], strict=False)
                )
            )
        return "\n".join(lines)


def _split(
    texts: Sequence[str] | Mapping[Hashable, Sequence[str]],
    labels: Sequence[Hashable] | None,
    groups: Sequence[Hashable] | None,
) -> tuple[list[str], list[str], list[str]]:
    """``(texts, labels, group names)`` from either input form, checked; labels compared as strings."""
    if isinstance(texts, Mapping):
        if labels is not None:
            raise TypeError("give labels either as the keys of a mapping of texts or as labels=, not both")
        pairs = [
            (str(label), text) for label, each in texts.items() for text in _as_list(each, f"group {label!r}")
        ]
        order = [str(label) for label in texts]
    else:
        flat = _as_list(texts, "texts")
        if labels is None:
            raise TypeError("labels are needed (one per text), or give a mapping {label: [texts]}")
        if isinstance(labels, str):
            raise TypeError("labels must be a sequence with one label per text, not a string")
        names = [str(label) for label in labels]
        if len(names) != len(flat):
            raise ValueError(f"{len(names)} labels for {len(flat)} texts: give one label per text")
        pairs = list(zip(names, flat, strict=True))
        order = list(dict.fromkeys(names))
    if groups is not None:
        wanted = [str(group) for group in groups]
        if len(set(wanted)) != len(wanted):
            raise ValueError(f"groups must be distinct: {wanted}")
        unknown = sorted(set(order) - set(wanted))
        if unknown:
            raise ValueError(f"labels {unknown} are not among groups={wanted}")
        order = wanted
    present = {label for label, _ in pairs}
    empty = [name for name in order if name not in present]
    if empty:
        raise ValueError(f"group(s) {empty} have no texts: every group needs at least one")
    if len(order) < 2:
        raise ValueError(f"a group comparison needs at least two groups, not {len(order)} ({order})")
    for i, (_, text) in enumerate(pairs):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is a {type(text).__name__}, not a str")
        if not text.strip():
            raise ValueError(f"text {i} is empty")
    return [text for _, text in pairs], [label for label, _ in pairs], order


def _as_list(texts: Any, what: str) -> list[Any]:
    if isinstance(texts, str):
        raise TypeError(f"{what} must be a sequence of texts, not one string")
    return list(texts)


def _method(method: str) -> str:
    (name,) = normalize_methods(METHOD_ALIASES.get(method.lower(), method))
    return name


def _table(pairs: list[tuple[str, float]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Mean score per token string, largest ``|mean|`` first (ties: first seen first)."""
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for key, score in pairs:
        totals[key] = totals.get(key, 0.0) + score
        counts[key] = counts.get(key, 0) + 1
    keys = list(totals)
    means = np.array([totals[k] / counts[k] for k in keys], dtype=np.float64)
    order = np.argsort(-np.abs(means), kind="stable")
    return [keys[i] for i in order], means[order], np.array([counts[keys[i]] for i in order], dtype=np.int64)


def _matrix(groups: list[Group], tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``means [token, group]`` (NaN where absent) and ``counts [token, group]``."""
    means = np.full((len(tokens), len(groups)), np.nan)
    counts = np.zeros((len(tokens), len(groups)), dtype=np.int64)
    for g, group in enumerate(groups):
        where = {token: i for i, token in enumerate(group.tokens)}
        for t, token in enumerate(tokens):
            if token in where:
                means[t, g] = group.means[where[token]]
                counts[t, g] = group.counts[where[token]]
    return means, counts


def group_comparison(
    model: ModelInterface,
    texts: Sequence[str] | Mapping[Hashable, Sequence[str]],
    labels: Sequence[Hashable] | None = None,
    target: Target | None = None,
    method: str = "gradient",
    top: int = 20,
    *,
    groups: Sequence[Hashable] | None = None,
    interventions: Sequence[Intervention] = (),
    strip: bool = True,
    lower: bool = False,
    max_texts: int = MAX_TEXTS,
    progress: bool = False,
    **settings: Any,
) -> GroupComparison:
    """Explain every text of a labelled set and compare the groups: the target's value per text and the
    attributions aggregated per token string, per group.

    ``texts`` with ``labels`` (one per text), or a mapping ``{label: [texts]}``. Labels are compared as
    strings; ``groups`` fixes the groups' order (each must have a text). ``target`` is one target for
    every text (default :class:`~deepseek_viz.NextToken`); ``method`` one attribution method of
    :func:`explain` (``"gradient"``: input × gradient, the default; ``"ig"``, ``"shap"``, ``"lime"``).
    ``top`` token strings are kept in :attr:`GroupComparison.tokens` and ``differences``. Token strings
    are grouped after ``strip`` (``" rose"`` meets ``"rose"``) and optionally ``lower``.

    ``interventions`` (e.g. ``[HeadAblation(2, (1,))]``) are in force for every model call, through
    ``model.intervene``: the target is bound under them too (fix ``NextToken(token=…)`` or a verbalizer's
    ``label`` to read the same scalar as without them).
    More than ``max_texts`` texts, an empty group or fewer than two groups are refused. Other keyword
    arguments go to :func:`explain` (``baseline``, ``ig_steps``, ``batch_size``, …).
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}")
    all_texts, all_labels, order = _split(texts, labels, groups)
    if len(all_texts) > max_texts:
        raise ValueError(
            f"{len(all_texts)} texts is more than max_texts={max_texts}: each text is one attribution run; "
            "sample the set, or raise max_texts"
        )
    name = _method(method)
    interventions = tuple(interventions)
    settings.setdefault("faithfulness", False)

    from tqdm.auto import tqdm

    values = np.zeros(len(all_texts), dtype=np.float64)
    described: list[str] = []
    read: set[Target] = set()  # what each text's target read: the target pinned on that text
    chosen = target or NextToken()
    occurrences: dict[str, list[tuple[str, float]]] = {label: [] for label in order}
    context = model.intervene(*interventions) if interventions else nullcontext()
    with (
        context,
        tqdm(total=len(all_texts), desc="group comparison", unit="text", disable=not progress) as bar,
    ):
        for i, (text, label) in enumerate(zip(all_texts, all_labels, strict=True)):
            try:
                explanation = explain(model, text, target, methods=(name,), **settings)
            except ValueError as error:
                raise ValueError(f"text {i} (group {label!r}): {error}") from error
            values[i] = explanation.value
            described.append(explanation.target)
            read.add(chosen.pinned(model, explanation.tokens))
            for token, score in zip(explanation.tokens, explanation.scores[name], strict=True):
                if not token.special:
                    key = (token.text.strip() or token.text) if strip else token.text
                    occurrences[label].append((key.lower() if lower else key, float(score)))
            bar.update(1)

    label_array = np.array(all_labels, dtype=object)
    built: list[Group] = []
    for label in order:
        indices = np.flatnonzero(label_array == label)
        tokens, means, counts = _table(occurrences[label])
        built.append(Group(label, indices, values[indices], tokens, means, counts))

    peak: dict[str, float] = {}
    for group in built:
        for key, mean in zip(group.tokens, group.means, strict=True):
            peak[key] = max(peak.get(key, 0.0), abs(float(mean)))
    shown = sorted(peak, key=lambda key: -peak[key])[:top]  # stable: first seen first among ties
    shown_means, shown_counts = _matrix(built, shown)

    everywhere = list(peak)
    all_means, _ = _matrix(built, everywhere)
    shared = np.flatnonzero(np.sum(~np.isnan(all_means), axis=1) >= 2)  # tokens in two groups or more
    spreads = np.nanmax(all_means[shared], axis=1) - np.nanmin(all_means[shared], axis=1)
    most = np.argsort(-spreads, kind="stable")[:top]
    ranked, spread = shared[most], spreads[most]

    if len(read) > 1:
        warnings.warn(
            f"the target read {len(read)} different scalars across the texts (e.g. "
            f"{described[0]!r}), so the values do not compare across groups; fix the token "
            "(NextToken(token=…)) or the verbalizer's label",
            stacklevel=2,
        )
    return GroupComparison(
        groups=built,
        texts=all_texts,
        labels=all_labels,
        values=values,
        targets=described,
        method=name,
        tokens=shown,
        means=shown_means,
        counts=shown_counts,
        differences=[everywhere[i] for i in ranked],
        spread=spread,
        num_targets=len(read),
        difference_means=all_means[ranked].reshape(len(ranked), len(built)),
        interventions=interventions,
    )
