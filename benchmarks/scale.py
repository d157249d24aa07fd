"""Scale benchmark: every view's kernel cost at DeepSeek's real layer / head / expert counts, as ratios
against the model's own forward with no capture.

Shapes (random weights; ``tests/real_counts.py`` for the first three): ``v3`` (DeepSeek-V3 counts:
61 layers × 128 heads, 256 experts in 8 groups, top-8, skinny widths), ``v2_lite`` (V2-Lite counts),
``distill_qwen`` (the R1-Distill-Qwen-1.5B shape at the test widths) and ``distill_full`` (that model at
full size from ``Qwen2Config``: hidden 1536, 28 layers, 12 heads, 2 KV heads, intermediate 8960,
vocabulary 151,936, bfloat16; 512 tokens only). Per shape and text length (``--sizes``), in Python only
(no browser):

- **no capture**: the model's own forward (``logits_to_keep=1``, no hooks, nothing captured; MLA's
  values padded for CPU SDPA's fast kernel, as in every deepseek-viz forward): the physical limit every
  ratio is against;
- **each view's edit**: ``view.text = <a new text of the same token count>`` until its update is done
  (AttentionView, RoutingView on MoE models, PredictionView, AttributionView with live input × gradient
  as in a Dashboard), each on an empty trace cache; the view is created on another text first (its
  creation time is reported too);
- **layer switch**: the AttentionView's ``view.layer = …`` (the middle layer, then the last) after its
  edits;
- **Dashboard construction**: ``dv.Dashboard(model, texts, labels, text=...)`` until its text views
  are drawn (attention, routing, predictions: the AttributionView, made last, starts) and until it
  returns (the map fills in the background); the map's fill (``--map-texts`` of the 240 samples
  embedded and projected, from construction) once per shape, waited for before anything else is timed
  (later sizes find the embeddings cached); then one **Dashboard edit** (``board.text = …``) until the
  last text view has sent its update, and until every view has (the attributions are last);
- **peak memory**: the peak resident set size (RSS, sampled every 5 ms from ``/proc/self/statm``) above
  the RSS before the action, on the CPU; ``torch.cuda.max_memory_allocated`` above the allocation before
  it, on CUDA;
- **bytes per edit**: the bytes of every message the view sent during the edit (JSON state plus binary
  buffers: the array traits and the tokens); data a browser would fetch on demand with commands is not
  in it (no browser asks here).

A size whose all-layer trace estimate (``model.estimate(n)``) is over the memory budget is still run (the
views trace fewer layers); a view whose own trace is refused (``TraceTooLargeError``) is reported as
refused. ``--budget-s`` (default 1,200 s) skips what would start after that much time, saying so.
Writes ``benchmarks/results/scale.json`` and prints a table of ratios.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, PretrainedConfig, Qwen2Config

import deepseek_viz as dv
from deepseek_viz.analysis.embeddings import clear_embedding_cache
from deepseek_viz.model import TraceTooLargeError, attention_capture
from deepseek_viz.widgets import dashboard as dashboard_module
from deepseek_viz.widgets.dashboard import LIVE_ATTRIBUTION
from tests.conftest import _randomise_router_bias, build_tokenizer
from tests.real_counts import REAL_COUNT_CONFIGS

from .texts import text_of_tokens, token_count

RESULTS = Path(__file__).parent / "results" / "scale.json"
SIZES = [128, 512, 2048, 4096]
VIEWS = ("attention", "routing", "predictions", "attribution")
MAX_TOKENS = 4096


def full_distill_config() -> PretrainedConfig:
    """DeepSeek-R1-Distill-Qwen-1.5B's sizes (random weights; the tests' byte-level tokenizer)."""
    return Qwen2Config(
        vocab_size=151_936,
        hidden_size=1536,
        intermediate_size=8960,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        max_position_embeddings=131_072,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
    )


@dataclass(frozen=True)
class Shape:
    make_config: Callable[[], PretrainedConfig]
    dtype: torch.dtype = torch.float32
    sizes: tuple[int, ...] | None = None  # None: all of --sizes


SHAPES = {
    **{name: Shape(make) for name, make in REAL_COUNT_CONFIGS.items()},
    "distill_full": Shape(full_distill_config, torch.bfloat16, (512,)),
}


def build(name: str, device: torch.device) -> dv.HookedModel:
    """The shape's random model on ``device`` (seed 0) in a :class:`dv.HookedModel`."""
    shape = SHAPES[name]
    torch.manual_seed(0)
    with torch.device(device):
        module = AutoModelForCausalLM.from_config(shape.make_config(), dtype=shape.dtype)
    with torch.no_grad():
        _randomise_router_bias(module)
    return dv.HookedModel(module, build_tokenizer(), max_tokens=MAX_TOKENS, name=name)


def edited(model: dv.HookedModel, text: str, count: int) -> list[str]:
    """``count`` new texts of the token count of ``text``: its first "12%" another number, else one
    letter of it another vowel (the tests' small tokenizer splits numbers its own way)."""
    size, found = token_count(model, text), []
    numbers = (text.replace("12%", f"{k}%", 1) for k in range(13, 100))
    letters = (
        text[:i] + vowel + text[i + 1 :] for i, char in enumerate(text) if char.isalpha() for vowel in "aeiou"
    )
    for candidate in (*numbers, *letters):
        if candidate != text and candidate not in found and token_count(model, candidate) == size:
            found.append(candidate)
            if len(found) == count:
                return found
    raise ValueError(f"could not edit the {size}-token text into {count} others of {size} tokens")


# --- measuring -------------------------------------------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Peak:
    bytes: int = 0


@contextmanager
def peak_memory(device: torch.device) -> Iterator[Peak]:
    """The peak memory above the start of the block (see the module docstring for how)."""
    peak = Peak()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        start = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        yield peak
        torch.cuda.synchronize(device)
        peak.bytes = max(0, torch.cuda.max_memory_allocated(device) - start)
        return
    start, stop, highest = _rss(), threading.Event(), [0]

    def sample() -> None:
        while not stop.wait(0.005):
            highest[0] = max(highest[0], _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()
        peak.bytes = max(0, max(highest[0], _rss()) - start)


@contextmanager
def sent_bytes(widget: Any) -> Iterator[list[int]]:
    """Bytes of the messages ``widget`` sends in the block: ``[total]``."""
    total = [0]
    original = widget._send

    def counting(msg: Any, buffers: Any = None) -> None:
        total[0] += len(json.dumps(msg, default=str)) + sum(
            len(memoryview(b).cast("B")) for b in buffers or ()
        )
        original(msg, buffers=buffers)

    widget._send = counting
    try:
        yield total
    finally:
        del widget._send


def no_capture_s(model: dv.HookedModel, text: str, repeats: int) -> float:
    """Median seconds of the model's own forward on ``text`` (one warm-up first), with MLA's values
    padded as in every forward deepseek-viz runs (``fast_path``; without it CPU SDPA takes its slow
    math kernel on MLA models, and every ratio would look better than capture's real cost)."""
    ids = torch.tensor([[token.id for token in model.tokenize(text)]], device=model.device)
    times = []
    with torch.no_grad(), attention_capture.fast_path():
        for _ in range(repeats + 1):
            start = time.perf_counter()
            model.model(input_ids=ids, use_cache=False, logits_to_keep=1)
            if model.device.type == "cuda":
                torch.cuda.synchronize(model.device)
            times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def make_view(name: str, model: dv.HookedModel, text: str) -> Any:
    if name == "attention":
        return dv.AttentionView(model, text)
    if name == "routing":
        return dv.RoutingView(model, text)
    if name == "predictions":
        return dv.PredictionView(model, text)
    return dv.AttributionView(model, text, **LIVE_ATTRIBUTION)


def measure_view(name: str, model: dv.HookedModel, text: str, edits: list[str]) -> dict[str, Any]:
    """One view: created on ``text``, then each of ``edits`` (median), from an empty trace cache."""
    model._cache.clear()
    start = time.perf_counter()
    view = make_view(name, model, text)
    row: dict[str, Any] = {"create_s": time.perf_counter() - start}
    times, peaks, sizes = [], [], []
    try:
        for new_text in edits:
            model._cache.clear()
            gc.collect()
            with peak_memory(model.device) as peak, sent_bytes(view) as sent:
                start = time.perf_counter()
                view.text = new_text
                times.append(time.perf_counter() - start)
            if view.status.failed:
                return {**row, "error": view.status.message}
            peaks.append(peak.bytes)
            sizes.append(sent[0])
        if name == "attention":
            row.update(measure_layer_switch(view, model))
    finally:
        view.close()
        model._cache.clear()
    return {**row, "edit_s": statistics.median(times), "peak_bytes": max(peaks), "bytes_edit": max(sizes)}


def measure_layer_switch(view: Any, model: dv.HookedModel) -> dict[str, Any]:
    """An AttentionView's layer switches (to the middle layer, then the last): median seconds and the
    most bytes one sent."""
    times, sizes = [], []
    for layer in (model.num_layers // 2, model.num_layers - 1):
        with sent_bytes(view) as sent:
            start = time.perf_counter()
            view.layer = layer
            times.append(time.perf_counter() - start)
        sizes.append(sent[0])
    return {"switch_s": statistics.median(times), "bytes_switch": max(sizes)}


def measure_dashboard(
    model: dv.HookedModel, text: str, edit: str, map_too: bool, map_texts: int
) -> dict[str, Any]:
    """A Dashboard's construction (until the text views are drawn: the AttributionView, made last, is
    started; and until it returns), its map's fill, then one edit of its text: until the last text view
    (attention, routing, predictions) has sent its update, and until every view has."""
    model._cache.clear()
    gc.collect()
    texts, labels = dv.sample_texts()
    marks: dict[str, float] = {}

    def attribution_view(*args: Any, **kwargs: Any) -> Any:
        marks["text_views"] = time.perf_counter()
        return dv.AttributionView(*args, **kwargs)

    with peak_memory(model.device) as peak, _patched(dashboard_module, "AttributionView", attribution_view):
        start = time.perf_counter()
        board = dv.Dashboard(model, texts[:map_texts], labels[:map_texts], text=text)
        construct = time.perf_counter() - start
    row: dict[str, Any] = {
        "text_views_s": marks["text_views"] - start,
        "construct_s": construct,
        "construct_peak_bytes": peak.bytes,
        "map_texts": map_texts,
    }
    if not board.status.ok:
        row["error"] = board.status.message
    filled = board.wait_for_map()
    if map_too:
        row["map_fill_s"] = time.perf_counter() - start
        if not filled:
            row["map_error"] = board.statuses()["scatter"].message
    model._cache.clear()
    gc.collect()
    updated: dict[str, float] = {}
    text_views = [view for view in (board.attention, board.routing, board.predictions) if view is not None]
    for name, view in zip(("attention", "routing", "predictions"), text_views, strict=False):
        view.observe(lambda _change, name=name: updated.setdefault(name, time.perf_counter()), "_data_id")
    start = time.perf_counter()
    board.text = edit
    row["edit_all_s"] = time.perf_counter() - start
    row["edit_text_views_s"] = max(updated.values(), default=start) - start
    board.close()
    model._cache.clear()
    return row


@contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


def measure_shape(name: str, args: argparse.Namespace, started: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if time.monotonic() - started > args.budget_s:
        return [{"shape": name, "note": f"skipped: past --budget-s {args.budget_s:.0f} s"}]
    device = torch.device(args.device)
    start = time.perf_counter()
    model = build(name, device)
    print(f"{name}: built in {time.perf_counter() - start:.1f} s", flush=True)
    clear_embedding_cache()
    sizes = [size for size in args.sizes if SHAPES[name].sizes is None or size in SHAPES[name].sizes]
    map_measured = False
    for size in sizes:
        row: dict[str, Any] = {"shape": name, "tokens": size}
        rows.append(row)
        elapsed = time.monotonic() - started
        if elapsed > args.budget_s:
            row["note"] = f"skipped: {elapsed:.0f} s spent, past --budget-s {args.budget_s:.0f} s"
            continue
        estimate = model.estimate(size)
        row["estimate_all_layers_bytes"] = estimate.total
        try:
            model._check_budget(estimate)
            row["all_layers_fit"] = True
        except TraceTooLargeError:
            row["all_layers_fit"] = False
        text = text_of_tokens(model, size)
        edits = edited(model, text, args.repeats)
        row["no_capture_s"] = no_capture_s(model, text, args.repeats)
        for view in args.views:
            if view == "routing" and not model.moe_layers:
                continue
            try:
                row[view] = measure_view(view, model, text, edits)
            except TraceTooLargeError as error:
                row[view] = {"refused": str(error)}
            print(json.dumps({"shape": name, "tokens": size, view: row[view]}), flush=True)
        if args.dashboard:
            try:
                row["dashboard"] = measure_dashboard(model, text, edits[0], not map_measured, args.map_texts)
                map_measured = True
            except TraceTooLargeError as error:
                row["dashboard"] = {"refused": str(error)}
            print(json.dumps({"shape": name, "tokens": size, "dashboard": row["dashboard"]}), flush=True)
    del model
    gc.collect()
    return rows


# --- reporting -------------------------------------------------------------------------------------


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: per shape and size, each view's edit and the dashboard's construction as × the
    no-capture forward, the peak memory and the bytes per edit."""
    lines = [
        "| shape | tokens | no capture s | "
        + " | ".join(f"{view} edit ×" for view in VIEWS)
        + " | layer switch × | dashboard first draw × (text views / all) | dashboard edit × (text views / all)"
        " | map fill s | peak MiB (max of views) | KiB per edit (max of views) |",
        "|" + "---|" * (len(VIEWS) + 9),
    ]
    for row in rows:
        if "no_capture_s" not in row:
            lines.append(f"| {row['shape']} | {row.get('tokens', '—')} | {row.get('note', '—')} |")
            continue
        base = row["no_capture_s"]
        cells, peaks, sizes = [], [0], [0]
        for view in VIEWS:
            result = row.get(view)
            if result is None:
                cells.append("—")
            elif "refused" in result or "error" in result:
                cells.append("refused" if "refused" in result else "error")
            else:
                cells.append(f"{result['edit_s'] / base:.2f}")
                peaks.append(result["peak_bytes"])
                sizes.append(result["bytes_edit"])
        attention = row.get("attention", {})
        switch = f"{attention['switch_s'] / base:.3f}" if "switch_s" in attention else "—"
        board = row.get("dashboard", {})
        construct = (
            f"{board['text_views_s'] / base:.2f} / {board['construct_s'] / base:.2f}"
            if "construct_s" in board
            else "—"
        )
        edit = (
            f"{board['edit_text_views_s'] / base:.2f} / {board['edit_all_s'] / base:.2f}"
            if "edit_all_s" in board
            else "—"
        )
        fill = f"{board['map_fill_s']:.1f}" if "map_fill_s" in board else "—"
        lines.append(
            f"| {row['shape']} | {row['tokens']} | {base:.3f} | {' | '.join(cells)} | {switch} | {construct} | {edit} | {fill} | "
            f"{_mib(max(peaks))} | {max(sizes) / 1024:,.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the scale benchmark and write :data:`RESULTS`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--views", nargs="+", choices=VIEWS, default=list(VIEWS))
    parser.add_argument("--no-dashboard", dest="dashboard", action="store_false")
    parser.add_argument("--repeats", type=int, default=1, help="edits per view (median)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--budget-s", type=float, default=1200.0)
    parser.add_argument("--map-texts", type=int, default=240, help="the map's sample texts (of 240)")
    parser.add_argument(
        "--quick", action="store_true", help="v3 and v2_lite at 128 and 512 tokens, a map of 48 texts"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.shapes, args.sizes, args.map_texts = ["v3", "v2_lite"], [128, 512], 48
    load_average, started = os.getloadavg()[0], time.monotonic()
    rows = [row for name in args.shapes for row in measure_shape(name, args, started)]
    result = {
        "benchmark": "scale",
        "device": args.device,
        "repeats": args.repeats,
        "peak_memory": "CUDA max_memory_allocated above the start"
        if args.device.startswith("cuda")
        else "peak RSS above the start, sampled every 5 ms",
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "load_average_before": load_average,
            "load_average_after": os.getloadavg()[0],
        },
        "seconds": time.monotonic() - started,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(rows))
    return 0
