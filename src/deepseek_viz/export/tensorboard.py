"""Monitoring a model over a corpus or a stream, written as TensorBoard event files.

``monitor(model, texts, logdir=…)`` traces each text once, reduces the trace to running sums
(:mod:`deepseek_viz.analysis.monitoring`) and, every ``every`` texts, writes one step (a step counts the
texts seen) through :class:`TensorBoardLogger`:

* per MoE layer ``l``: ``routing/L{l}/load`` (histogram of the experts' shares of the routed slots in
  the window), scalars ``routing/L{l}/max_over_mean``, ``…/cv`` (coefficient of variation),
  ``…/load_entropy`` (normalised, 1 = even), ``…/gate_entropy`` (mean entropy of a token's top-k gate
  weights, nats) and ``…/load_drift`` (total variation distance between the window's load and the load
  before it); per-expert scalars ``routing/L{l}/expert_{e}`` only when the model has at most
  :data:`MAX_EXPERT_SCALARS` routed experts (at DeepSeek-V3's 256 they would be 14,848 curves: the
  histograms show them); ``routing/max_over_mean`` the worst layer;
* per layer ``l`` and score ``s`` in ``entropy``, ``previous_token``, ``first_token`` (``Trace.head_scores``):
  ``heads/L{l}/{s}`` (histogram over the heads), ``heads/L{l}/{s}_mean``, and ``heads/{s}/max_drift``
  (the largest change of one head's score between the window and everything before it); per-head scalars
  ``heads/L{l}/H{h}/{s}`` only when ``layers × heads ≤`` :data:`MAX_HEAD_SCALARS`;
* ``predictions/entropy`` (mean next-token entropy), ``predictions/loss`` (mean next-token NLL of the
  texts' own tokens: always known), ``predictions/continuation_loss`` (where ``continuation=`` gives one),
  ``monitor/tokens_per_text``, ``monitor/skipped`` (empty texts so far);
* the embedding projector of a reservoir sample of the texts (pooled last hidden states through
  :func:`~deepseek_viz.embed_texts`, at most ``projector`` points, with the texts as metadata), written
  with :func:`~deepseek_viz.write_projector` into ``logdir`` when the run ends.

The state (:class:`~deepseek_viz.analysis.monitoring.MonitorStats`) is saved in ``logdir/monitor_state.npz``
after each step; ``resume=True`` reads it, skips the texts already seen and continues the step count.
"""

from __future__ import annotations

import io
import itertools
import os
import warnings
from collections.abc import Callable, Iterable, Sized
from pathlib import Path
from types import TracebackType

import numpy as np
from tqdm.auto import tqdm

from ..analysis.embeddings import embed_texts
from ..analysis.monitoring import HEAD_SCORES, MonitorStats, Sums, balance, trace_sums
from ..model import EmptyTextError, ModelInterface
from ..model.graph import with_graph_module
from .projector import write_projector

#: Per-expert scalars are written only up to this many routed experts (histograms always).
MAX_EXPERT_SCALARS = 16
#: Per-head scalars are written only up to this many heads in all (layers × heads).
MAX_HEAD_SCALARS = 64
#: Head scores come from the traces' thumbnails with this many bins (exact up to 4 × bins tokens).
HEAD_SCORE_BINS = 32
#: The head scores written (of ``Trace.HEAD_SCORES``).
LOGGED_HEAD_SCORES = ("entropy", "previous_token", "first_token")
#: The state file in a monitor's logdir.
STATE_FILE = "monitor_state.npz"


def save_state(stats: MonitorStats, logdir: str | Path) -> Path:
    """Write ``stats`` to ``logdir/monitor_state.npz`` (atomically: a crash leaves the previous one)."""
    root = Path(logdir)
    root.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **stats.to_arrays())  # type: ignore[arg-type]
    path = root / STATE_FILE
    partial = root / (STATE_FILE + ".tmp")
    partial.write_bytes(buffer.getvalue())
    os.replace(partial, path)
    return path


def read_monitor(logdir: str | Path) -> MonitorStats:
    """The statistics a :func:`monitor` run saved in ``logdir`` (its state file)."""
    path = Path(logdir) / STATE_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: no monitor has written to {logdir}")
    with np.load(path, allow_pickle=False) as data:
        return MonitorStats.from_arrays({name: data[name] for name in data.files})


def read_scalars(logdir: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every scalar of the event files in ``logdir``, read with TensorBoard's own reader:
    ``{tag: (steps, values)}``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    accumulator.Reload()
    result = {}
    for tag in accumulator.Tags()["scalars"]:
        events = accumulator.Scalars(tag)
        result[tag] = (
            np.array([event.step for event in events], dtype=np.int64),
            np.array([event.value for event in events], dtype=np.float64),
        )
    return result


class TensorBoardLogger:
    """Writes a monitor's steps as TensorBoard event files in ``logdir`` (``torch.utils.tensorboard``'s
    ``SummaryWriter``); see the module notes for the tags. ``purge_step``: a resumed run's first step
    (TensorBoard drops events at or after it that an interrupted run left). A context manager."""

    def __init__(self, logdir: str | Path, *, purge_step: int | None = None, flush_secs: int = 30) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = Path(logdir)
        self.writer = SummaryWriter(log_dir=str(self.logdir), purge_step=purge_step, flush_secs=flush_secs)

    def __enter__(self) -> TensorBoardLogger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def log_window(self, stats: MonitorStats, window: Sums, before: Sums, step: int) -> None:
        """Write the statistics of ``window`` (the texts since the last step) at ``step``; ``before``:
        everything earlier, which the drift scalars compare with."""
        scalar, histogram = self.writer.add_scalar, self.writer.add_histogram
        if window.tokens and stats.moe_layers:
            load, earlier = window.load, before.load
            summary = balance(load)
            gate = window.mean_gate_entropy
            for row, layer in enumerate(stats.moe_layers):
                prefix = f"routing/L{layer}"
                histogram(f"{prefix}/load", load[row], step)
                scalar(f"{prefix}/max_over_mean", float(summary["max_over_mean"][row]), step)
                scalar(f"{prefix}/cv", float(summary["cv"][row]), step)
                scalar(f"{prefix}/load_entropy", float(summary["entropy"][row]), step)
                scalar(f"{prefix}/gate_entropy", float(gate[row]), step)
                if before.expert_counts[row].sum():
                    drift = 0.5 * float(np.abs(load[row] - earlier[row]).sum())
                    scalar(f"{prefix}/load_drift", drift, step)
                if stats.num_experts <= MAX_EXPERT_SCALARS:
                    for expert in range(stats.num_experts):
                        scalar(f"{prefix}/expert_{expert}", float(load[row, expert]), step)
            scalar("routing/max_over_mean", float(np.nanmax(summary["max_over_mean"])), step)
        if window.head_texts:
            scores = window.mean_head_scores
            earlier_scores = before.mean_head_scores if before.head_texts else None
            per_head = stats.num_layers * stats.num_heads <= MAX_HEAD_SCALARS
            for name in LOGGED_HEAD_SCORES:
                column = HEAD_SCORES.index(name)
                for layer in range(stats.num_layers):
                    values = scores[layer, :, column]
                    histogram(f"heads/L{layer}/{name}", values, step)
                    scalar(f"heads/L{layer}/{name}_mean", float(values.mean()), step)
                    if per_head:
                        for head, value in enumerate(values):
                            scalar(f"heads/L{layer}/H{head}/{name}", float(value), step)
                if earlier_scores is not None:
                    change = np.abs(scores[..., column] - earlier_scores[..., column])
                    scalar(f"heads/{name}/max_drift", float(change.max()), step)
        if window.entropy_count:
            scalar("predictions/entropy", window.mean_entropy, step)
        if window.nll_count:
            scalar("predictions/loss", window.loss, step)
        if window.continuation_count:
            scalar("predictions/continuation_loss", window.continuation_loss, step)
        if window.texts:
            scalar("monitor/tokens_per_text", window.tokens / window.texts, step)
        scalar("monitor/skipped", float(stats.skipped), step)

    def write_projector(self, stats: MonitorStats) -> Path | None:
        """The reservoir sample of ``stats`` as projector files in ``logdir`` (``None`` when empty)."""
        sample = stats.sample
        if not len(sample):
            return None
        return write_projector(
            self.logdir,
            sample.points,
            {"text": sample.texts, "step": [index + 1 for index in sample.indices]},
            tensor_name="monitored texts",
        )

    def add_graph(self, model: ModelInterface, text: str = "The model's graph, traced on this text.") -> None:
        """TensorBoard's graph of ``model`` (the Graphs tab), recorded by ``torch.jit.trace`` on ``text``.

        The graph is the path ``text`` took: transformers' DeepSeek MoE blocks loop over the experts
        that received tokens, so the experts ``text`` did not reach are missing from the recorded graph
        (a picture of the structure, not a program to run). A model ``torch.jit.trace`` cannot record (a
        forward with data-dependent Python the tracer rejects, outputs that are not tensors, a remote
        model with no local module) raises ``RuntimeError`` saying why; nothing is written then.
        """
        from torch.utils.tensorboard._pytorch_graph import graph

        def record(module: object, ids: object) -> None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter(
                        "ignore"
                    )  # TracerWarnings: Python control flow frozen for this text
                    graph_def, step_stats = graph(module, ids)  # what SummaryWriter.add_graph records
            except Exception as error:
                raise RuntimeError(
                    f"torch.jit.trace cannot record the graph of {model.name} ({model.family}): "
                    f"{type(error).__name__}: {error}"
                ) from error
            writer = self.writer._get_file_writer()
            writer.add_graph((graph_def, step_stats))

        try:
            with_graph_module(model, text, record)
        except RuntimeError:
            raise
        except Exception as error:  # an unsupported model, a bad example text
            raise RuntimeError(f"no graph of {model.name}: {error}") from error
        self.writer.flush()


def _check(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int of at least {minimum}, not {value!r}")
    return int(value)


def monitor(
    model: ModelInterface,
    texts: Iterable[str],
    logdir: str | Path = "runs/monitor",
    every: int = 32,
    batch_size: int = 8,
    progress: bool = True,
    continuation: Callable[[str], str] | None = None,
    projector: int = 1000,
    resume: bool = True,
    *,
    history: int = 64,
    seed: int = 0,
) -> MonitorStats:
    """Trace ``model`` over ``texts`` (a list or any iterable, e.g. an endless generator) and write
    TensorBoard event files in ``logdir`` every ``every`` texts; returns the :class:`MonitorStats`.

    See the module notes for what is written. A step counts the texts seen, so curves are drawn against
    the position in the stream. Texts are taken ``batch_size`` at a time (never across a step): each is
    traced once (``model.trace``, no attention kept but the all-heads summary), and the batch's texts
    that enter the projector's sample are embedded in one :func:`~deepseek_viz.embed_texts` call.

    * ``continuation``: ``text → str``, the text's known continuation: the two are traced together and
      ``predictions/continuation_loss`` is the mean NLL of the continuation's tokens (routing and head
      scores then cover both). ``predictions/loss`` (the text's own next tokens) is always written.
    * ``projector``: most points the embedding projector keeps (a uniform reservoir sample of the texts,
      reproducible with ``seed``); ``0``: none.
    * ``resume=True``: a state file in ``logdir`` (written after each step) says how many texts an
      earlier run saw; they are skipped (the same iterable must yield the same texts again) and the step
      count continues; texts after its last step are done again, never counted twice. ``resume=False``
      starts again at step 0 (TensorBoard drops the old run's events).
    * Memory is bounded whatever the stream's length: running sums, a history of at most ``history``
      rows (neighbouring windows merge when full), ``projector`` points; no trace is kept.
    * Empty texts are counted as seen and skipped; texts over ``model.max_tokens`` are cut (one warning
      at the end counts them).
    """
    every = _check("every", every, 1)
    batch_size = _check("batch_size", batch_size, 1)
    projector = _check("projector", projector, 0)
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of strings; for one text pass [text]")
    if continuation is not None and not callable(continuation):
        raise TypeError("continuation must be a callable text → continuation, or None")
    root = Path(logdir)
    stats: MonitorStats | None = None
    if resume and (root / STATE_FILE).exists():
        stats = read_monitor(root)
        facts = (stats.model_name, stats.moe_layers, stats.num_layers, stats.num_heads, stats.num_experts)
        if facts != (model.name, model.moe_layers, model.num_layers, model.num_heads, model.num_experts):
            raise ValueError(
                f"{root / STATE_FILE} was written monitoring {stats.model_name}, not {model.name}: "
                "pass another logdir, or resume=False to start again"
            )
    if stats is None:
        stats = MonitorStats.empty(model, max_history=history, points=projector, seed=seed)
    start = stats.seen
    stream = iter(texts)
    for _ in itertools.islice(stream, start):  # the texts an earlier run saw
        pass
    total = len(texts) if isinstance(texts, Sized) else None
    bar = tqdm(
        total=total, initial=min(start, total or start), desc="monitoring", unit="text", disable=not progress
    )
    logger = TensorBoardLogger(root, purge_step=start + 1)  # steps after the last saved one: orphans
    try:
        while True:
            room = every - stats.seen % every
            batch = list(itertools.islice(stream, min(batch_size, room)))
            if not batch:
                break
            _run_batch(model, stats, batch, continuation, batch_size)
            bar.update(len(batch))
            if stats.seen % every == 0:
                _close_step(logger, stats, root)
        if stats.window.texts:  # the last, shorter window
            _close_step(logger, stats, root)
        logger.write_projector(stats)
    finally:
        logger.close()
        bar.close()
    if stats.truncated:
        warnings.warn(
            f"{stats.truncated} texts were longer than max_tokens={model.max_tokens}; each was cut to its "
            "first tokens.",
            stacklevel=2,
        )
    return stats


def _run_batch(
    model: ModelInterface,
    stats: MonitorStats,
    batch: list[str],
    continuation: Callable[[str], str] | None,
    batch_size: int,
) -> None:
    """Trace and count each text of ``batch``; embed those the reservoir keeps, in one call."""
    entrants: list[tuple[int, int, str]] = []  # (slot, stream index, text)
    for text in batch:
        index = stats.seen
        if not isinstance(text, str):
            raise TypeError(f"text {index} of the stream is a {type(text).__name__}, not a str")
        stats.seen += 1
        tail = continuation(text) if continuation is not None else ""
        if not isinstance(tail, str):
            raise TypeError(f"continuation({text[:40]!r}) returned a {type(tail).__name__}, not a str")
        try:
            trace = model.trace(text + tail, layers=[], truncate=True, thumbnails=HEAD_SCORE_BINS)
        except EmptyTextError:
            stats.skipped += 1
            continue
        if all(token.special for token in trace.tokens):
            stats.skipped += 1
            continue
        stats.truncated += int(trace.truncated)
        stats.add(trace_sums(model, trace, len(text) if tail else None))
        slot = stats.sample.slot()
        if slot is not None:  # placed in order below: a later text of the batch may take the same slot
            entrants.append((slot, index, text))
    if entrants:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cut texts: counted once, at the end of the run
            vectors = embed_texts(
                model, [text for _, _, text in entrants], batch_size=batch_size, progress=False
            )
        for (slot, index, text), vector in zip(entrants, vectors, strict=True):
            stats.sample.place(slot, index, text, vector)


def _close_step(logger: TensorBoardLogger, stats: MonitorStats, root: Path) -> None:
    """Write the open window at step ``stats.seen``, close it and save the state."""
    before = stats.total.copy()
    window = stats.close_window()
    logger.log_window(stats, window, before, stats.seen)
    logger.flush()
    save_state(stats, root)
