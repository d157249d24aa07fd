"""Model-service load test: simulated visitors against one ``deepseek-viz serve`` on 127.0.0.1, beside the
memory of as many in-process kernels, in one run.

Each visitor is a thread with its own ``dv.connect`` client doing what a dashboard edit does: trace an
edited text for the shown layer, then read the attention, the head overview, the predictions and the
routing. The server runs the bundled model (``--replicas``, default 1). Reported: requests, errors,
p50/p95 latency of one edit (all its reads), the server's RSS (every process of the service: Ray's
own and the replicas), the RSS of a visitor's kernel holding a client, and that of one holding the model
in process (times the visitors: what in-process kernels would need). Writes ``benchmarks/results/service.json`` and prints a table. Loopback only; bounded by
``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil

import deepseek_viz as dv

RESULTS = Path(__file__).parent / "results" / "service.json"
WORDS = [
    "revenue",
    "rose",
    "fell",
    "margins",
    "fever",
    "cough",
    "flu",
    "doctor",
    "growth",
    "rates",
    "学而",
    "时习之",
    "🙂",
    "costs",
    "travel",
]
#: A visitor's kernel: the model (``{model}``: loaded in process, or a client), a Dashboard traced, its RSS.
KERNEL = """
import psutil, deepseek_viz as dv
model = {model}
board = dv.Dashboard(model, text="Quarterly revenue rose 12% to $4.2 billion. Fever may indicate flu.")
print(psutil.Process().memory_info().rss)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tree_rss(process: psutil.Process) -> int:
    """RSS of ``process`` and every process it started (Ray's raylet, GCS, workers and replicas)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def wait_healthy(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the service at {url} did not become healthy in {seconds:.0f} s")


def visitor(url: str, until: float, seed: int, latencies: list[float], errors: list[str]) -> None:
    """Edits until ``until``: each a trace of a changed text and the reads a dashboard makes."""
    rng = random.Random(seed)
    model = dv.connect(url)
    words = ["Quarterly", "revenue", "rose", "12%"]
    while time.monotonic() < until:
        words.append(rng.choice(WORDS))
        if len(words) > 40:
            del words[4:10]
        text = " ".join(words)
        layer = rng.randrange(model.num_layers)
        start = time.perf_counter()
        try:
            trace = model.trace(text, layers=[layer])
            trace.attention(layer)
            _ = trace.head_scores
            trace.top_predictions(5)
            for moe in model.moe_layers[:1]:
                trace.routing(moe)
        except Exception as error:  # counted and reported, the load goes on
            errors.append(f"{type(error).__name__}: {error}")
            continue
        latencies.append(time.perf_counter() - start)


def kernel_rss(model: str) -> int:
    """RSS of one visitor's kernel holding ``model`` (Python that makes it) with a Dashboard traced."""
    code = KERNEL.format(model=model)
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(output.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Run the load test and write :data:`RESULTS`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cli = str(Path(sys.executable).with_name("deepseek-viz"))  # the venv's command, as `make bench` runs it
    command = [cli, "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--replicas", str(args.replicas)]
    server = subprocess.Popen(command, start_new_session=True)
    try:
        wait_healthy(url, 180)
        service = psutil.Process(server.pid)
        latencies: list[float] = []
        errors: list[str] = []
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=visitor, args=(url, until, seed, latencies, errors))
            for seed in range(args.visitors)
        ]
        peak = 0
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            peak = max(peak, tree_rss(service))
            time.sleep(1.0)
        for thread in threads:
            thread.join()
        client_kernel = kernel_rss(f"dv.connect({url!r})")
    finally:
        server.terminate()
        server.wait(60)
    one_kernel = kernel_rss('dv.load_model(device="cpu")')
    ordered = sorted(latencies)
    row = {
        "model": "bundled",
        "visitors": args.visitors,
        "seconds": args.seconds,
        "replicas": args.replicas,
        "edits": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:5],
        "p50_ms": 1000 * statistics.median(ordered) if ordered else None,
        "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))] if ordered else None,
        "server_rss_mb": peak / 2**20,
        "one_kernel_rss_mb": one_kernel / 2**20,
        "kernels_rss_mb": args.visitors * one_kernel / 2**20,
        "one_client_kernel_rss_mb": client_kernel / 2**20,
        "load_average": os.getloadavg()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "service", "rows": [row]}, indent=2) + "\n")
    print(
        "| visitors | s | edits | errors | p50 ms | p95 ms | server RSS MB | client kernel MB | "
        f"kernel with the model MB (×{args.visitors}) |\n|---|---|---|---|---|---|---|---|---|"
    )
    p50, p95 = row["p50_ms"] or float("nan"), row["p95_ms"] or float("nan")
    print(
        f"| {args.visitors} | {args.seconds:.0f} | {row['edits']} | {row['errors']} | {p50:.0f} | {p95:.0f} | "
        f"{row['server_rss_mb']:.0f} | {row['one_client_kernel_rss_mb']:.0f} | "
        f"{row['one_kernel_rss_mb']:.0f} ({row['kernels_rss_mb']:.0f}) |"
    )
    return 1 if errors else 0
