"""Evaluating a bound target on variants of one text: masked tokens (keep-masks) or embeddings.

Masking **replaces** a token's input embedding by a baseline vector — the embedding of the tokenizer's
pad token (default), or zeros — so positions never shift and every method (SHAP, LIME, the deletion
curve, the integrated-gradients baseline) removes a token the same way: SHAP's base value and IG's
``f(baseline)`` are the same number. Special tokens (BOS) are never features: they stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np
import torch

from ...model import ModelInterface
from .targets import BoundTarget

Baseline = str | int
#: ``on_progress(what, done, total)``: ``done`` of ``total`` model evaluations of ``what`` (e.g. ``"SHAP"``).
ProgressCallback = Callable[[str, int, int], None]


class CancelFlag(Protocol):
    """What a scorer checks between batches (a :class:`threading.Event` is one)."""

    def is_set(self) -> bool: ...


class AttributionCancelled(Exception):
    """An attribution run stopped between two batches because its ``cancel`` flag was set."""


def baseline_vector(model: ModelInterface, baseline: Baseline) -> tuple[torch.Tensor, str]:
    """The embedding a masked token gets, and a description of it.

    ``"pad"``: the pad token's embedding (falling back to the EOS token, then to zeros);
    ``"zero"``: a zero vector; ``"mean"``: the mean input embedding over the vocabulary; an ``int``:
    that token id's embedding. A pad row that is all zeros (``padding_idx`` in untrained models) is
    said so in the description: a zero baseline starts the integrated-gradients path where RMSNorm is
    steepest, so IG then needs many more steps (its convergence delta shows it).
    """
    if isinstance(baseline, bool) or not isinstance(baseline, (str, int)):
        raise TypeError(f"baseline must be 'pad', 'zero', 'mean' or a token id, not {baseline!r}")
    if baseline == "zero":
        return _zeros(model), "zero embedding"
    if baseline == "mean":
        return model.mean_input_embedding(), "mean input embedding"
    if baseline == "pad":
        token_id = model.pad_token_id
        if token_id is not None:
            return _token(model, token_id)
        return _zeros(model), "zero embedding (no pad token)"
    if isinstance(baseline, str):
        raise ValueError(f"baseline must be 'pad', 'zero', 'mean' or a token id, not {baseline!r}")
    if not 0 <= baseline < model.vocab_size:
        raise ValueError(f"baseline token id {baseline} is outside the vocabulary (0–{model.vocab_size - 1})")
    return _token(model, baseline)


def _zeros(model: ModelInterface) -> torch.Tensor:
    return torch.zeros(model.d_model, dtype=model.dtype, device=model.device)


def _token(model: ModelInterface, token_id: int) -> tuple[torch.Tensor, str]:
    vector = model.input_embeddings(torch.tensor(token_id))
    (text,) = model.token_strings([token_id])
    zero = " — a zero vector" if not bool(vector.any()) else ""
    return vector, f"embedding of {text!r} (id {token_id}){zero}"


class Scorer:
    """One text, one bound target, one baseline: evaluates the target on masked variants in batches.

    ``features`` are the indices of the non-special traced tokens (the things SHAP/LIME toggle);
    ``inputs`` the traced tokens' embeddings ``[n, d]``; ``baseline_inputs`` the same with every
    feature replaced by the baseline (special tokens kept). ``evaluations`` counts model inputs scored.

    ``cancel``: checked before every batch; once set, scoring raises :class:`AttributionCancelled`.
    ``on_progress(what, done, total)``: called after every batch of a :meth:`progress` block.
    """

    def __init__(
        self,
        bound: BoundTarget,
        special: np.ndarray,
        baseline: torch.Tensor,
        batch_size: int = 32,
        *,
        cancel: CancelFlag | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, not {batch_size}")
        self.bound = bound
        self.special = np.asarray(special, dtype=bool)
        self.features = np.flatnonzero(~self.special)
        self.batch_size = batch_size
        self.inputs = bound.token_embeddings()
        self.baseline = baseline.to(self.inputs.dtype)
        self.baseline_inputs = self.inputs.clone()
        self.baseline_inputs[torch.as_tensor(self.features, device=self.inputs.device)] = self.baseline
        self.evaluations = 0
        self.cancel = cancel
        self.on_progress = on_progress
        self._bar: Any = None
        self._task: tuple[str, int, int] | None = None  # what a progress block counts, its total, the start

    @property
    def num_features(self) -> int:
        """How many tokens can be masked (the non-special ones)."""
        return len(self.features)

    @contextmanager
    def progress(self, description: str, total: int, enabled: bool) -> Iterator[None]:
        """Count the block's model evaluations as ``description`` of ``total``: a tqdm bar (when
        ``enabled``) and ``on_progress``."""
        self._task = (description, total, self.evaluations)
        self._report()
        try:
            if not enabled:
                yield
                return
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=description, unit="eval", leave=False)
            try:
                yield
            finally:
                self._bar.close()
                self._bar = None
        finally:
            self._task = None

    def check(self) -> None:
        """Raise :class:`AttributionCancelled` when the run's ``cancel`` flag is set."""
        if self.cancel is not None and self.cancel.is_set():
            raise AttributionCancelled("the attribution run was cancelled")

    def _report(self) -> None:
        if self.on_progress is not None and self._task is not None:
            what, total, start = self._task
            self.on_progress(what, self.evaluations - start, total)

    def _count(self, batch: int) -> None:
        self.evaluations += batch
        if self._bar is not None:
            self._bar.update(batch)
        self._report()

    def embeddings_for(self, keep: np.ndarray) -> torch.Tensor:
        """Embeddings ``[batch, n, d]`` where the features with ``keep[b, j] == False`` are masked."""
        keep_t = torch.as_tensor(np.asarray(keep, dtype=bool), device=self.inputs.device)
        full = torch.ones((keep_t.shape[0], len(self.special)), dtype=torch.bool, device=self.inputs.device)
        full[:, torch.as_tensor(self.features, device=self.inputs.device)] = keep_t
        return torch.where(full.unsqueeze(-1), self.inputs, self.baseline_inputs)

    def score_keep(self, keep: np.ndarray) -> np.ndarray:
        """Target values (float64 ``[batch]``) for keep-masks ``[batch, num_features]``, batched, no grad."""
        keep = np.asarray(keep, dtype=bool)
        if keep.ndim != 2 or keep.shape[1] != self.num_features:
            raise ValueError(f"keep must be [batch, {self.num_features}], not {keep.shape}")
        out = []
        with torch.no_grad():
            for start in range(0, len(keep), self.batch_size):
                self.check()
                chunk = keep[start : start + self.batch_size]
                out.append(self.bound.score(self.embeddings_for(chunk)).double().cpu().numpy())
                self._count(len(chunk))
        return np.concatenate(out) if out else np.zeros(0)

    def score_embeddings(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Target values ``[batch]`` for embeddings ``[batch, n, d]`` of the traced tokens (differentiable)."""
        self.check()
        self._count(embeddings.shape[0])
        return self.bound.score(embeddings)

    def value(self, keep_all: bool) -> float:
        """``f(x)`` (``keep_all=True``) or ``f(baseline)`` (every feature masked)."""
        mask = np.full((1, self.num_features), keep_all, dtype=bool)
        return float(self.score_keep(mask)[0])
