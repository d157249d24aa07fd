"""Attention explorer benchmark: deepseek-viz's AttentionView beside bertviz and circuitsvis.

Every tool draws the same trace (the bundled model by default, attention of layer 0), in one headless
Chromium, at several text lengths. Measured (median of ``--repeats``):

- **first draw**: deepseek-viz — running the notebook cell that creates the view (trace already
  cached) until it has drawn; peers — building their HTML in Python plus loading it until drawn;
- **head switch**: a click on another head until the redrawn frame (two animation frames);
- **layer switch** (deepseek-viz only; the peers were given one layer): includes a new forward pass;
- **edit → redraw**: deepseek-viz — typing into the text box until the heatmap is redrawn (includes
  the editor's debounce, given apart); peers — tracing the edited text, rebuilding and reloading;
- **bytes**: what reaches the browser per update (deepseek-viz: WebSocket bytes; peers: the HTML's
  data, circuitsvis without its 1.3 MB inlined bundle).

Writes ``benchmarks/results/attention.json`` and prints a table with peer / deepseek-viz ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

import deepseek_viz as dv
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    kernel_run,
)

from .browser import (
    TIME_SYNC_ACTION,
    TIME_UNTIL,
    bench_notebook,
    edit_debounce_ms,
    load,
    median,
    new_drawn,
    ratio,
    redrawn,
    run_cell,
    socket_bytes,
)
from .peers import PEERS, json_megabytes, open_peer_page
from .texts import text_of_tokens

RESULTS = Path(__file__).parent / "results" / "attention.json"
TIMEOUT_MS = 300_000
VIEW = '[data-testid="attention-view"]:not([data-old])'


def click_head(layer: int, head: int) -> str:
    """JS that clicks head (layer, head) where the head overview (one canvas) draws it."""
    return (
        f"(() => {{ const grid = document.querySelector('{VIEW} [data-testid=\"head-grid\"]');"
        f" const point = grid.revealHead({layer}, {head});"
        " grid.querySelector('.dsv-overview-view').dispatchEvent(new MouseEvent('click',"
        " { bubbles: true, clientX: point.x, clientY: point.y })); })()"
    )


def setup_cell(model_source: str | None, layer: int) -> str:
    """The notebook's first cell: load the model and trace every text once, so views start from a cached
    trace like the peers do."""
    return (
        "import json\n"
        "from deepseek_viz import load_model\n"
        "from deepseek_viz.widgets import AttentionView\n"
        f"model = load_model({model_source!r}, device='cpu', cache_size=64)\n"
        "texts = {int(k): v for k, v in json.load(open('texts.json')).items()}\n"
        f"for text in texts.values():\n    AttentionView(model, text=text, layer={layer}).close()\n"
    )


def measure_ours(
    browser: Any, model_source: str | None, texts: dict[int, str], layer: int, repeats: int
) -> list[dict[str, Any]]:
    """Time the AttentionView in a real JupyterLab."""
    rows = []
    cells = [
        setup_cell(model_source, layer),
        f"view = AttentionView(model, text=texts[SIZE], layer={layer})\nview",
    ]
    with bench_notebook(browser, texts, cells, TIMEOUT_MS) as watch:
        page = watch.page
        for size in texts:
            kernel_run(watch, f"SIZE = {size}")
            first, first_bytes = [], []
            for _ in range(repeats):
                socket_bytes(page)
                first.append(
                    page.evaluate(TIME_UNTIL, [run_cell(1), new_drawn(['[data-testid="attention-view"]'])])
                )
                first_bytes.append(socket_bytes(page))
            heatmap = f'{VIEW} [data-testid="attention-heatmap"]'
            head, head_bytes = [], []
            for repeat in range(repeats):
                head.append(
                    page.evaluate(TIME_UNTIL, [click_head(layer, (repeat + 1) % 2), redrawn([heatmap])])
                )
                head_bytes.append(socket_bytes(page))
            layer_switch = []
            for repeat in range(repeats):
                layer_switch.append(
                    page.evaluate(TIME_UNTIL, [click_head(layer + 1 - repeat % 2, 0), redrawn([heatmap])])
                )
                socket_bytes(page)
            edit, edit_bytes = [], []
            for _ in range(repeats):
                # a backspace-like edit, so the longest text stays within the model's max_tokens
                typing = (
                    f"const box = document.querySelector('{VIEW} [data-testid=\"text-input\"]');"
                    "box.value = box.value.slice(0, -8); box.dispatchEvent(new Event('input', {bubbles: true}));"
                )
                edit.append(page.evaluate(TIME_UNTIL, [typing, redrawn([heatmap])]))
                edit_bytes.append(socket_bytes(page))
            rows.append(
                {
                    "tool": "deepseek-viz",
                    "tokens": size,
                    "first_draw_ms": median(first),
                    "head_switch_ms": median(head),
                    "layer_switch_ms": median(layer_switch),
                    "edit_redraw_ms": median(edit),
                    "edit_debounce_ms": edit_debounce_ms(),
                    "bytes_first_draw": int(median(first_bytes)),
                    "bytes_head_switch": int(median(head_bytes)),
                    "bytes_edit": int(median(edit_bytes)),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        watch.screenshot("bench-attention-view")
    return rows


def measure_peer(
    browser: Any,
    peer: Any,
    model: dv.HookedModel,
    texts: dict[int, str],
    layer: int,
    repeats: int,
    max_tokens: int,
) -> list[dict[str, Any]]:
    """Time one peer on the same traces, in a page whose CDN requests are served locally."""
    rows = []
    context, page = open_peer_page(browser, TIMEOUT_MS)
    try:
        for size, text in texts.items():
            row: dict[str, Any] = {"tool": peer.name, "tokens": size}
            rows.append(row)
            if size > max_tokens:
                row["note"] = (
                    f"not run: its page would carry ≈{json_megabytes(model.num_heads, size):.0f} MB of JSON"
                )
                print(json.dumps(row), flush=True)
                continue
            trace = model.trace(text, layers=[layer])
            first, build_seconds = [], 0.0
            try:
                for _ in range(repeats):
                    html, data_bytes, build_seconds = peer.page(trace, layer)
                    first.append(build_seconds * 1000 + load(page, html, peer.drawn))
                head = [page.evaluate(TIME_SYNC_ACTION, peer.switch_head) for _ in range(repeats)]
                edit = [
                    peer.redraw(page, model, text[: -8 * (repeat + 1)], layer)[0] for repeat in range(repeats)
                ]
            except Exception as error:  # a peer failing at a size is a result, not a crash
                row["note"] = f"failed: {type(error).__name__}: {str(error)[:200]}"
                print(json.dumps(row), flush=True)
                continue
            row.update(
                first_draw_ms=median(first),
                head_switch_ms=median(head),
                edit_redraw_ms=median(edit),
                bytes_first_draw=data_bytes,
                bytes_head_switch=0,
                bytes_edit=data_bytes,
            )
            print(json.dumps(row), flush=True)
    finally:
        context.close()
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the rows, with each peer's ratio to deepseek-viz at the same size."""
    ours = {row["tokens"]: row for row in rows if row["tool"] == "deepseek-viz"}
    lines = [
        "| tool | tokens | first draw ms | head switch ms | edit→redraw ms | bytes first | bytes switch | bytes edit | "
        "ratios (first / switch / edit) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "note" in row:
            lines.append(f"| {row['tool']} | {row['tokens']} | {row['note']} |||||||")
            continue
        mine = ours.get(row["tokens"], {})
        ratios = (
            "—"
            if row["tool"] == "deepseek-viz"
            else " / ".join(
                ratio(row, mine, k) for k in ("first_draw_ms", "head_switch_ms", "edit_redraw_ms")
            )
        )
        lines.append(
            f"| {row['tool']} | {row['tokens']} | {row['first_draw_ms']:.0f} | {row['head_switch_ms']:.0f} | "
            f"{row['edit_redraw_ms']:.0f} | {row['bytes_first_draw']:,} | {row['bytes_head_switch']:,} | "
            f"{row['bytes_edit']:,} | {ratios} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the attention benchmark and write :data:`RESULTS`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 2048, 4096])
    parser.add_argument("--model", default=None, help="checkpoint folder or hub name (default: bundled)")
    parser.add_argument("--layer", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-repeats", type=int, default=1, help="repeats for the (slow) peers")
    parser.add_argument("--peers-max-tokens", type=int, default=512)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    model = dv.load_model(args.model, device="cpu", cache_size=64)
    texts = {size: text_of_tokens(model, size) for size in args.sizes}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        rows = measure_ours(browser, args.model, texts, args.layer, args.repeats)
        for peer in PEERS:
            rows += measure_peer(
                browser, peer, model, texts, args.layer, args.peer_repeats, args.peers_max_tokens
            )
        browser.close()
    result = {
        "benchmark": "attention explorer",
        "model": args.model or "bundled",
        "layer": args.layer,
        "repeats": args.repeats,
        "peer_repeats": args.peer_repeats,
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(rows))
    return 0
