"""Statistics of a model over a stream of texts, kept as running sums (bounded memory, any length).

What :func:`deepseek_viz.monitor` writes to TensorBoard and returns: per MoE layer the experts' load
(share of routed slots) and the entropy of the gate weights, per head the attention scores of
``Trace.head_scores`` (previous-token, first-token, self, entropy), the entropy of the next-token
distribution and the loss (mean next-token NLL) of each text, and of a known continuation. Nothing here
keeps a trace: :func:`trace_sums` reduces one to a :class:`Sums`, which add up.

* :class:`Sums` — sums over a span of texts (one text, a window, everything so far).
* :class:`MonitorStats` — the totals, the open window, a bounded history of closed windows (when full,
  neighbouring windows merge: the history keeps at most ``max_history`` rows whatever the stream's
  length) and a reservoir sample of pooled hidden states for the embedding projector.
* :func:`balance` — max/mean, coefficient of variation and normalised entropy of expert loads.

``MonitorStats.to_arrays`` / ``from_arrays``: the state a monitor resumes from (its file is written by
``deepseek_viz.export.tensorboard``; this module does no I/O).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..model import ModelInterface, Trace

#: Names of the last axis of the head-score arrays (``Trace.HEAD_SCORES``).
HEAD_SCORES = Trace.HEAD_SCORES
#: Longest text kept with a projector point (metadata only; the whole text was monitored).
POINT_TEXT_CHARS = 500
#: Version of :meth:`MonitorStats.to_arrays`' layout.
STATE_FORMAT = 1


@dataclass
class Sums:
    """Running sums over a span of texts; ``a.add(b)`` is the span of both.

    ``expert_counts [moe_layer, expert]``: routed slots per expert (non-special tokens × top-k);
    ``gate_entropy [moe_layer]``: the sum over tokens of the entropy (nats) of the token's top-k gate
    weights normalised to 1; ``head_scores [layer, head, 4]``: the sum over texts of
    ``Trace.head_scores`` (``head_texts`` texts had them); ``entropy`` / ``entropy_count``: next-token
    entropies (nats) over every position; ``nll`` / ``nll_count``: the NLL of each text's own next
    tokens; ``continuation_nll`` / ``continuation_count``: the NLL of continuation tokens.
    """

    texts: int
    tokens: int
    expert_counts: np.ndarray
    gate_entropy: np.ndarray
    head_scores: np.ndarray
    head_texts: int = 0
    entropy: float = 0.0
    entropy_count: int = 0
    nll: float = 0.0
    nll_count: int = 0
    continuation_nll: float = 0.0
    continuation_count: int = 0

    @classmethod
    def zeros(cls, moe_layers: int, num_experts: int, num_layers: int, num_heads: int) -> Sums:
        return cls(
            texts=0,
            tokens=0,
            expert_counts=np.zeros((moe_layers, num_experts), dtype=np.int64),
            gate_entropy=np.zeros(moe_layers),
            head_scores=np.zeros((num_layers, num_heads, len(HEAD_SCORES))),
        )

    _SCALARS = (
        "texts",
        "tokens",
        "head_texts",
        "entropy",
        "entropy_count",
        "nll",
        "nll_count",
        "continuation_nll",
        "continuation_count",
    )
    _ARRAYS = ("expert_counts", "gate_entropy", "head_scores")

    def add(self, other: Sums) -> None:
        """Add ``other``'s sums to these (in place)."""
        for name in self._SCALARS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in self._ARRAYS:
            getattr(self, name)[...] += getattr(other, name)

    def copy(self) -> Sums:
        return Sums(
            **{name: getattr(self, name) for name in self._SCALARS},
            **{name: getattr(self, name).copy() for name in self._ARRAYS},
        )

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in self._ARRAYS)

    @property
    def load(self) -> np.ndarray:
        """``[moe_layer, expert]`` each expert's share of the routed slots (rows sum to 1; 0 with none)."""
        totals = self.expert_counts.sum(axis=1, keepdims=True)
        return self.expert_counts / np.maximum(totals, 1)

    @property
    def mean_gate_entropy(self) -> np.ndarray:
        """``[moe_layer]`` mean entropy (nats) of a token's normalised top-k gate weights."""
        return self.gate_entropy / max(self.tokens, 1)

    @property
    def mean_head_scores(self) -> np.ndarray:
        """``[layer, head, 4]`` the head scores averaged over texts (NaN before any)."""
        if not self.head_texts:
            return np.full(self.head_scores.shape, np.nan)
        return self.head_scores / self.head_texts

    @property
    def mean_entropy(self) -> float:
        """Mean next-token entropy (nats) over every position (NaN before any)."""
        return self.entropy / self.entropy_count if self.entropy_count else float("nan")

    @property
    def loss(self) -> float:
        """Mean next-token NLL (nats) of the texts' own tokens (NaN before any)."""
        return self.nll / self.nll_count if self.nll_count else float("nan")

    @property
    def continuation_loss(self) -> float:
        """Mean NLL (nats) of the continuation tokens (NaN where none was given)."""
        return self.continuation_nll / self.continuation_count if self.continuation_count else float("nan")


def balance(load: np.ndarray) -> dict[str, np.ndarray]:
    """Per row of ``load [moe_layer, expert]`` (shares summing to 1): ``max_over_mean`` (1 = even),
    ``cv`` (coefficient of variation, 0 = even) and ``entropy`` normalised by ``log(experts)`` (1 = even).
    Rows with no routed slot give NaN."""
    load = np.asarray(load, dtype=np.float64)
    mean = load.mean(axis=1)
    empty = load.sum(axis=1) == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(load > 0, load, 1.0)
        entropy = -(load * np.log(safe)).sum(axis=1) / np.log(max(load.shape[1], 2))
        result = {
            "max_over_mean": load.max(axis=1, initial=0.0) / mean,
            "cv": load.std(axis=1) / mean,
            "entropy": entropy,
        }
    return {name: np.where(empty, np.nan, values) for name, values in result.items()}


def trace_sums(model: ModelInterface, trace: Trace, continuation_start: int | None = None) -> Sums:
    """The statistics of one trace as :class:`Sums` (``texts=1``).

    Routing counts the non-special tokens. Next-token entropy covers every position; the loss is the
    NLL of each next token that begins before ``continuation_start`` (a character offset into the traced
    text: where a continuation appended to the text begins; ``None``: no continuation), the
    continuation's loss that of each token that begins at or after it. Head scores need a trace made
    with ``thumbnails``.
    """
    layers = model.moe_layers
    sums = Sums.zeros(len(layers), model.num_experts, model.num_layers, model.num_heads)
    sums.texts = 1
    keep = np.array([not token.special for token in trace.tokens], dtype=bool)
    sums.tokens = int(keep.sum())
    for row, layer in enumerate(layers):
        routing = trace.routing(layer)
        if routing is None:
            continue
        experts = np.asarray(routing.experts)[keep]
        gate = np.asarray(routing.weights, dtype=np.float64)[keep]
        sums.expert_counts[row] = np.bincount(experts.ravel(), minlength=model.num_experts)[
            : model.num_experts
        ]
        share = gate / np.maximum(gate.sum(axis=1, keepdims=True), 1e-30)
        with np.errstate(divide="ignore", invalid="ignore"):
            sums.gate_entropy[row] = float(-(share * np.log(np.where(share > 0, share, 1.0))).sum())
    scores = trace.head_scores
    if scores is not None:
        sums.head_scores[...] = scores
        sums.head_texts = 1
    entropy, nll = trace.next_token_scores()
    sums.entropy = float(entropy.sum(dtype=np.float64))
    sums.entropy_count = len(entropy)
    starts = np.array([token.start for token in trace.tokens[1:]] + [-1])
    target_special = np.array([token.special for token in trace.tokens[1:]] + [True])
    valid = ~np.isnan(nll) & ~target_special
    in_continuation = np.zeros_like(valid) if continuation_start is None else starts >= continuation_start
    own, cont = valid & ~in_continuation, valid & in_continuation
    sums.nll, sums.nll_count = float(nll[own].sum(dtype=np.float64)), int(own.sum())
    sums.continuation_nll, sums.continuation_count = float(nll[cont].sum(dtype=np.float64)), int(cont.sum())
    return sums


@dataclass
class Reservoir:
    """A uniform sample of at most ``capacity`` of the texts offered (Algorithm R, reproducible: the slot
    of the ``i``-th text is drawn from a generator seeded by ``(seed, i)``, so a resumed run draws the same)."""

    capacity: int
    dim: int
    seed: int = 0
    vectors: np.ndarray = field(init=False, repr=False)
    texts: list[str] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)  # position of each point's text in the stream
    offered: int = 0  # texts offered so far

    def __post_init__(self) -> None:
        self.vectors = np.zeros((self.capacity, self.dim), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.texts)

    def slot(self) -> int | None:
        """Offer the next text: the slot it takes, or ``None`` if it is not kept. Place the texts given
        slots in the order offered (a later one may take an earlier one's slot)."""
        index = self.offered
        self.offered += 1
        if self.capacity <= 0:
            return None
        if index < self.capacity:
            return index
        drawn = int(np.random.default_rng([self.seed, index]).integers(0, index + 1))
        return drawn if drawn < self.capacity else None

    def place(self, slot: int, index: int, text: str, vector: np.ndarray) -> None:
        self.vectors[slot] = vector
        if slot == len(self.texts):
            self.texts.append(text[:POINT_TEXT_CHARS])
            self.indices.append(index)
        else:
            self.texts[slot] = text[:POINT_TEXT_CHARS]
            self.indices[slot] = index

    @property
    def points(self) -> np.ndarray:
        """``[len(self), dim]`` the sampled vectors."""
        return self.vectors[: len(self)]

    @property
    def nbytes(self) -> int:
        return int(self.vectors.nbytes + sum(len(text) for text in self.texts) + 8 * len(self.indices))


@dataclass
class MonitorStats:
    """What a monitor has seen: ``total`` over every closed window, the open ``window``, the closed
    windows' ``history`` (at most ``max_history`` rows: when full, neighbouring rows merge pairwise, so a
    longer stream is summarised more coarsely, never in more memory) with the step that closed each,
    and the projector's reservoir ``sample``. A step counts the texts seen (``seen``, empty texts
    included: ``skipped`` of them), so it is a position in the stream.
    """

    model_name: str
    moe_layers: tuple[int, ...]
    num_layers: int
    num_heads: int
    num_experts: int
    total: Sums
    window: Sums
    sample: Reservoir
    max_history: int = 64
    seen: int = 0
    skipped: int = 0
    truncated: int = 0
    history: list[Sums] = field(default_factory=list)
    history_steps: list[int] = field(default_factory=list)
    history_counts: list[int] = field(default_factory=list)  # windows in each history row
    history_span: int = 1  # windows a full history row holds

    @classmethod
    def empty(
        cls, model: ModelInterface, *, max_history: int = 64, points: int = 1000, seed: int = 0
    ) -> MonitorStats:
        if max_history < 2:
            raise ValueError(f"max_history must be at least 2, not {max_history}")
        shape = (len(model.moe_layers), model.num_experts, model.num_layers, model.num_heads)
        return cls(
            model_name=model.name,
            moe_layers=tuple(model.moe_layers),
            num_layers=model.num_layers,
            num_heads=model.num_heads,
            num_experts=model.num_experts,
            total=Sums.zeros(*shape),
            window=Sums.zeros(*shape),
            sample=Reservoir(max(int(points), 0), model.d_model, seed),
            max_history=max_history,
        )

    def __repr__(self) -> str:
        overall = self.overall
        return (
            f"MonitorStats({self.model_name}: {self.seen} texts seen ({self.skipped} empty), "
            f"{overall.tokens} tokens, {len(self.history)} history rows up to step "
            f"{self.history_steps[-1] if self.history_steps else 0}, loss {overall.loss:.3f}, "
            f"{len(self.sample)} projector points)"
        )

    @property
    def overall(self) -> Sums:
        """Everything seen so far: ``total`` and the open window."""
        result = self.total.copy()
        result.add(self.window)
        return result

    def add(self, sums: Sums) -> None:
        """Add one text's sums to the open window (the caller counts ``seen``)."""
        self.window.add(sums)

    def close_window(self) -> Sums:
        """Close the open window at step ``seen``: it joins ``total`` and the history; returns it.

        A history row holds ``history_span`` windows (1 at first); when more than ``max_history`` rows
        would be kept, neighbouring rows merge and the span doubles, so every row covers as many windows
        (the newest row may hold fewer) and the history never outgrows ``max_history`` rows."""
        closed = self.window
        self.total.add(closed)
        if self.history and self.history_counts[-1] < self.history_span:
            self.history[-1].add(closed)
            self.history_counts[-1] += 1
            self.history_steps[-1] = self.seen
        else:
            self.history.append(closed.copy())
            self.history_counts.append(1)
            self.history_steps.append(self.seen)
        if len(self.history) > self.max_history:  # merge neighbours: (0,1), (2,3), …; an odd last stays
            rows, counts, steps = [], [], []
            for start in range(0, len(self.history), 2):
                row = self.history[start]
                for other in self.history[start + 1 : start + 2]:
                    row.add(other)
                rows.append(row)
                counts.append(sum(self.history_counts[start : start + 2]))
                steps.append(self.history_steps[min(start + 1, len(self.history) - 1)])
            self.history, self.history_counts, self.history_steps = rows, counts, steps
            self.history_span *= 2
        self.window = Sums.zeros(*self._shape)
        return closed

    @property
    def _shape(self) -> tuple[int, int, int, int]:
        return (len(self.moe_layers), self.num_experts, self.num_layers, self.num_heads)

    # the history as arrays, one row per closed window (a merged row: the sums of its windows)
    @property
    def steps(self) -> np.ndarray:
        """``[rows]`` the step (texts seen) that closed each history row."""
        return np.array(self.history_steps, dtype=np.int64)

    @property
    def load_history(self) -> np.ndarray:
        """``[rows, moe_layer, expert]`` expert load per history row."""
        return self._stack(lambda s: s.load, (len(self.moe_layers), self.num_experts))

    @property
    def head_history(self) -> np.ndarray:
        """``[rows, layer, head, 4]`` mean head scores per history row (order of :data:`HEAD_SCORES`)."""
        return self._stack(lambda s: s.mean_head_scores, (self.num_layers, self.num_heads, len(HEAD_SCORES)))

    @property
    def entropy_history(self) -> np.ndarray:
        """``[rows]`` mean next-token entropy (nats) per history row."""
        return np.array([s.mean_entropy for s in self.history], dtype=np.float64)

    @property
    def loss_history(self) -> np.ndarray:
        """``[rows]`` mean next-token NLL of the texts' own tokens per history row."""
        return np.array([s.loss for s in self.history], dtype=np.float64)

    @property
    def continuation_loss_history(self) -> np.ndarray:
        """``[rows]`` mean NLL of the continuations per history row (NaN where none)."""
        return np.array([s.continuation_loss for s in self.history], dtype=np.float64)

    def _stack(self, read: Callable[[Sums], np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        rows = [read(s) for s in self.history]
        return np.stack(rows) if rows else np.zeros((0, *shape))

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays held: bounded by ``max_history`` and the reservoir's capacity."""
        sums = [self.total, self.window, *self.history]
        return sum(s.nbytes for s in sums) + self.sample.nbytes + 8 * len(self.history_steps)

    # the state, as arrays (the monitor's state file holds them: export/tensorboard.py)
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The whole state as named arrays (``meta``: a JSON string of the facts and scalar sums)."""
        meta = {
            "format": STATE_FORMAT,
            "model_name": self.model_name,
            "moe_layers": list(self.moe_layers),
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "num_experts": self.num_experts,
            "max_history": self.max_history,
            "seen": self.seen,
            "skipped": self.skipped,
            "truncated": self.truncated,
            "history_steps": self.history_steps,
            "history_counts": self.history_counts,
            "history_span": self.history_span,
            "sample": {
                "capacity": self.sample.capacity,
                "dim": self.sample.dim,
                "seed": self.sample.seed,
                "texts": self.sample.texts,
                "indices": self.sample.indices,
                "offered": self.sample.offered,
            },
            "sums": [{key: getattr(s, key) for key in Sums._SCALARS} for s in self._all_sums()],
        }
        arrays: dict[str, np.ndarray] = {
            "meta": np.array(json.dumps(meta)),
            "sample_vectors": self.sample.points,
        }
        for index, sums in enumerate(self._all_sums()):
            for key in Sums._ARRAYS:
                arrays[f"sums{index}_{key}"] = getattr(sums, key)
        return arrays

    def _all_sums(self) -> list[Sums]:
        return [self.total, self.window, *self.history]

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> MonitorStats:
        """Invert :meth:`to_arrays`."""
        meta = json.loads(str(arrays["meta"]))
        if meta.get("format") != STATE_FORMAT:
            raise ValueError(f"monitor state in format {meta.get('format')}, not {STATE_FORMAT}")
        all_sums = []
        for index, scalars in enumerate(meta["sums"]):
            arrays_of = {key: np.array(arrays[f"sums{index}_{key}"]) for key in Sums._ARRAYS}
            sums = Sums(0, 0, arrays_of["expert_counts"], arrays_of["gate_entropy"], arrays_of["head_scores"])
            for key, value in scalars.items():
                setattr(sums, key, value)
            all_sums.append(sums)
        info = meta["sample"]
        sample = Reservoir(info["capacity"], info["dim"], info["seed"])
        vectors = np.asarray(arrays["sample_vectors"])
        sample.vectors[: len(vectors)] = vectors
        sample.texts, sample.indices = list(info["texts"]), list(info["indices"])
        sample.offered = int(info["offered"])
        return cls(
            model_name=meta["model_name"],
            moe_layers=tuple(meta["moe_layers"]),
            num_layers=meta["num_layers"],
            num_heads=meta["num_heads"],
            num_experts=meta["num_experts"],
            total=all_sums[0],
            window=all_sums[1],
            sample=sample,
            max_history=meta["max_history"],
            seen=meta["seen"],
            skipped=meta["skipped"],
            truncated=meta["truncated"],
            history=all_sums[2:],
            history_steps=list(meta["history_steps"]),
            history_counts=list(meta["history_counts"]),
            history_span=int(meta["history_span"]),
        )
