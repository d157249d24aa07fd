"""Interventions benchmark: a full head-ablation sweep of one text, batched (one forward per layer, a
row per head) against one forward per ablation run one by one, on the bundled model, in one run.
Writes ``benchmarks/results/interventions.json`` and prints a table."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

import deepseek_viz as dv

RESULTS = Path(__file__).parent / "results" / "interventions.json"
TEXT = "Quarterly revenue rose 12% to $4.2 billion, beating analyst estimates. Fever may indicate flu."


def one_by_one(model: dv.HookedModel, text: str) -> None:
    for layer in range(model.num_layers):
        for head in range(model.num_heads):
            dv.intervention_effect(model, text, [dv.HeadAblation(layer, (head,))])


def main(argv: list[str] | None = None) -> int:
    """Run the interventions benchmark and write :data:`RESULTS`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    model = dv.load_model(device="cpu")
    dv.head_ablation_sweep(model, TEXT)  # warm-up
    batched, single = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        dv.head_ablation_sweep(model, TEXT)
        batched.append(time.perf_counter() - start)
        start = time.perf_counter()
        one_by_one(model, TEXT)
        single.append(time.perf_counter() - start)
    row = {
        "model": "bundled",
        "tokens": len(model.tokenize(TEXT)),
        "heads": model.num_layers * model.num_heads,
        "batched_s": statistics.median(batched),
        "one_by_one_s": statistics.median(single),
        "torch_threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "interventions", "rows": [row]}, indent=2) + "\n")
    print("| model | tokens | heads | batched sweep s | one by one s | speed-up |\n|---|---|---|---|---|---|")
    print(
        f"| {row['model']} | {row['tokens']} | {row['heads']} | {row['batched_s']:.3f} | "
        f"{row['one_by_one_s']:.3f} | {row['one_by_one_s'] / row['batched_s']:.1f}× |"
    )
    return 0
