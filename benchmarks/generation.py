"""Generation benchmark: tokens per second of ``model.generate`` with capture against transformers' own
``generate`` of the same model, settings and prompt, in one run.

Shapes: ``bundled`` (the bundled 4-layer DeepSeek-V3-shaped model) and ``distill_full`` (the
R1-Distill-Qwen-1.5B shape at full size, random weights, bfloat16: ``benchmarks/scale.py``). Per shape,
greedy, the same prompt and ``--new-tokens``:

- **plain**: ``model.model.generate(ids, min_new_tokens=N, max_new_tokens=N, do_sample=False)`` (exactly
  ``N`` tokens: the bundled model would often end early) with nothing captured
  (MLA's values padded for CPU SDPA's fast kernel, as in every deepseek-viz forward, so the ratio is
  capture's cost, not the kernel choice): the physical limit;
- **streamed**: ``model.generate(prompt, N, min_new_tokens=N, layers=[L], on_step=...)`` — what a GenerationView asks
  for: each step's probability, entropy, routing and the attention rows of one layer — timed to the
  last step (tokens/s while streaming) and to the returned trace (with the one pass over the final
  tokens that the trace is).

- **GenerationView**: from the step that made each token to the widget update that sends it to the
  browser (updates are batched to at most 20 a second), median and 95th percentile.

The budget is streamed ≥ 0.7 × plain tokens/s. Writes ``benchmarks/results/generation.json`` and prints
a table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

import deepseek_viz as dv
from deepseek_viz.model import attention_capture
from deepseek_viz.model.generation import GenerationStep

from .scale import build

RESULTS = Path(__file__).parent / "results" / "generation.json"
SHAPES = ("bundled", "distill_full")
PROMPT = (
    "The patient reported a fever, a dry cough and a headache for three days. Revenue rose 12% while "
    "costs fell, and the board"
)


def load(name: str) -> dv.HookedModel:
    return dv.load_model(device="cpu") if name == "bundled" else build(name, torch.device("cpu"))


def plain_s(model: dv.HookedModel, ids: torch.Tensor, new_tokens: int) -> tuple[float, int]:
    """Seconds of transformers' greedy ``generate`` and the tokens it made."""
    with torch.no_grad(), attention_capture.fast_path():
        start = time.perf_counter()
        output = model.model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            min_new_tokens=new_tokens,
            max_new_tokens=new_tokens,
            do_sample=False,
        )
        seconds = time.perf_counter() - start
    return seconds, output.shape[1] - ids.shape[1]


def streamed_s(model: dv.HookedModel, new_tokens: int) -> tuple[float, float, int]:
    """Seconds of ``model.generate`` with capture to its last step and to its trace, and the tokens."""
    last: list[float] = []

    def on_step(_step: GenerationStep) -> None:
        last[:] = [time.perf_counter()]

    start = time.perf_counter()
    trace = model.generate(
        PROMPT, new_tokens, min_new_tokens=new_tokens, layers=[model.num_layers // 2], on_step=on_step
    )
    total = time.perf_counter() - start
    return last[0] - start, total, len(trace.tokens) - trace.prompt_length


def view_latency(model: dv.HookedModel, new_tokens: int) -> dict[str, float]:
    """A GenerationView's kernel side of a streamed token's redraw: from the step that made the token
    to the update that sends it (batched to at most 20 a second), median and 95th percentile in ms,
    and the updates sent."""
    # chat: the bundled model, which has not seen the template, writes on instead of ending early
    view = dv.GenerationView(model, PROMPT, max_new_tokens=new_tokens, chat=model.name == "bundled")
    made: list[float] = []
    sent: list[tuple[float, int]] = []  # (time, tokens sent)
    on_step = view._on_step

    def timed_step(run: Any, step: GenerationStep) -> None:
        made.append(time.perf_counter())
        on_step(run, step)

    view._on_step = timed_step  # type: ignore[method-assign]
    view.observe(lambda _change: sent.append((time.perf_counter(), len(view._tokens))), "_data_id")
    view.generate()
    trace = view.wait(600)
    view.close()
    assert trace is not None
    latencies = []
    for index, at in enumerate(made):
        position = trace.prompt_length + index
        shown = next((when for when, count in sent if count > position), at)
        latencies.append((shown - at) * 1000)
    ordered = sorted(latencies)
    return {
        "latency_ms_median": statistics.median(ordered),
        "latency_ms_p95": ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)],
        "updates": float(len(sent)),
        "tokens": float(len(made)),
    }


def measure(name: str, new_tokens: int, repeats: int) -> dict[str, Any]:
    model = load(name)
    ids = torch.tensor([[token.id for token in model.tokenize(PROMPT)]])
    plain_s(model, ids, 2)  # warm-up of both: the first call of each pays one-time costs
    streamed_s(model, 2)
    plains, streams, totals = [], [], []
    for _ in range(repeats):
        seconds, made = plain_s(model, ids, new_tokens)
        plains.append(made / seconds)
        to_last, total, ours = streamed_s(model, new_tokens)
        assert ours == made, f"{name}: generate made {ours} tokens, transformers {made}"
        streams.append(ours / to_last)
        totals.append(ours / total)
    row = {
        "shape": name,
        "prompt_tokens": ids.shape[1],
        "new_tokens": made,
        "plain_tokens_s": statistics.median(plains),
        "streamed_tokens_s": statistics.median(streams),
        "with_trace_tokens_s": statistics.median(totals),
        "view": view_latency(model, new_tokens),
    }
    print(json.dumps(row), flush=True)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| shape | prompt + new tokens | plain tokens/s | streamed tokens/s (×) | with the final trace (×) |"
        " GenerationView: token to update sent, median / p95 ms (updates for tokens) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        base, view = row["plain_tokens_s"], row["view"]
        lines.append(
            f"| {row['shape']} | {row['prompt_tokens']} + {row['new_tokens']} | {base:.2f} | "
            f"{row['streamed_tokens_s']:.2f} ({row['streamed_tokens_s'] / base:.2f}) | "
            f"{row['with_trace_tokens_s']:.2f} ({row['with_trace_tokens_s'] / base:.2f}) | "
            f"{view['latency_ms_median']:.0f} / {view['latency_ms_p95']:.0f} "
            f"({view['updates']:.0f} for {view['tokens']:.0f}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the generation benchmark and write :data:`RESULTS`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_average = os.getloadavg()[0]
    rows = [measure(name, args.new_tokens, args.repeats) for name in args.shapes]
    result = {
        "benchmark": "generation",
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_before": load_average,
            "load_average_after": os.getloadavg()[0],
        },
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(rows))
    return 0
