"""Dashboard benchmark: ``dv.Dashboard`` in JupyterLab, and bertviz ``head_view`` beside it for an edit.

The bundled model, in one headless Chromium, at several text lengths. A setup cell loads the model and
builds a dashboard on every text once (its traces and attributions cached, the map's 240 sample texts
embedded and projected: the one-off work stays out of the figures); the measured cell creates
``board = dv.Dashboard(model, text=...)``. Measured (median of ``--repeats``):

- **first draw**: running that cell until all six roots (text box, attention, routing, predictions,
  attributions, embedding map) have drawn; **construct**: its Python part, ``dv.Dashboard(...)``;
- **edit → every view redrawn**: typing a new text of the same token count (its "12%" changed) into the
  box until the attention, routing, prediction and attribution views have drawn newer data and the box
  says ``ready`` (the map's live point is sent before that status): all five views. Includes the
  editor's debounce, given apart. **Kernel ms**: the kernel side of the edit, from wrappers timing the
  box's update (``total``), each view's ``_update`` and the map's ``place``, read back through the kernel;
- **token click**: a click on a token of the attention view until the linked routing view shows it
  selected;
- **map click**: a click on a point of the map until every view shows its text (a short sample text,
  whatever the size, never clicked before) and the box says ``ready``;
- **bytes**: what the page's WebSockets received per action;
- **bertviz** ``head_view`` (layer 0, up to ``--peer-max-tokens``): the same edits, each as tracing the
  edited text, building its HTML and loading it until drawn.

Writes ``benchmarks/results/dashboard.json`` and prints tables with the bertviz / dashboard ratio.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from playwright.sync_api import sync_playwright

import deepseek_viz as dv
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PageWatch,
    kernel_run,
    sel,
)

from .browser import (
    TIME_UNTIL,
    bench_notebook,
    edit_debounce_ms,
    median,
    new_drawn,
    ratio,
    redrawn,
    run_cell,
    socket_bytes,
)
from .peers import PEERS, open_peer_page
from .texts import text_of_tokens, token_count

RESULTS = Path(__file__).parent / "results" / "dashboard.json"
TIMEOUT_MS = 300_000
LAYER = 0  # the dashboard's attention layer, and the one bertviz shows
OURS = "deepseek-viz Dashboard"
BERTVIZ = next(peer for peer in PEERS if peer.name == "bertviz")
#: The views that show the text, by their name in the kernel's ``board._views``: their root's testid.
TEXT_VIEWS = {
    "attention": "attention-view",
    "routing": "routing-view",
    "predictions": "prediction-view",
    "attribution": "attribution-view",
}
ROOTS = ["text-box", *TEXT_VIEWS.values(), "embedding-scatter"]
VIEW_COUNT = len(ROOTS) - 1  # the text box is no view
#: What the kernel's time of an edit is split into (``other``: the box's own work around the views).
KERNEL_PARTS = [*TEXT_VIEWS, "scatter"]

MEASURED_CELL = (
    "start = time.perf_counter()\n"
    "board = dv.Dashboard(model, text=texts[SIZE])\n"
    "CONSTRUCT_MS = (time.perf_counter() - start) * 1000\n"
    "TIMES = time_updates(board)\n"
    "board"
)


def root(testid: str) -> str:
    """Selector of the current (not ``data-old``) root with ``data-testid=testid``."""
    return f"{sel(testid)}:not([data-old])"


BOX_INPUT = f"{root('text-box')} {sel('text-input')}"
STATUS_READY = (
    f"document.querySelector({json.dumps(root('text-box') + ' ' + sel('status'))})?.textContent === 'ready'"
)
TEXT_VIEW_ROOTS = [root(testid) for testid in TEXT_VIEWS.values()]


def time_updates(board: Any) -> dict[str, list[float]]:
    """Kernel side (its source runs in the notebook): wrap the box's update of ``board`` (``total``),
    each view's ``_update`` and the map's ``place`` with a timer, like a profiler; returns the lists of
    milliseconds they fill, by name."""
    import time
    from collections import defaultdict

    times: defaultdict[str, list[float]] = defaultdict(list)

    def timed(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                times[name].append((time.perf_counter() - start) * 1000)

        return timed_call

    for name, view in board._views.items():
        view._update = timed(name, view._update)
    board.scatter.place = timed("scatter", board.scatter.place)
    board.text_box._update = timed("total", board.text_box._update)
    return times


def setup_cell() -> str:
    """The notebook's first cell: load the bundled model, build a dashboard on every text once (traces
    and attributions cached, the map embedded and projected), and define :func:`time_updates`."""
    return (
        "import json\nimport time\nfrom collections.abc import Callable\nfrom typing import Any\n\n"
        "import deepseek_viz as dv\n\n"
        "model = dv.load_model(device='cpu', cache_size=64)\n"
        "texts = {int(k): v for k, v in json.load(open('texts.json')).items()}\n"
        "for text in texts.values():\n    dv.Dashboard(model, text=text).close()\n\n\n"
        + inspect.getsource(time_updates)
    )


def edited_texts(model: dv.HookedModel, text: str, count: int) -> list[str]:
    """``count`` new texts of the token count of ``text``: its "12%" made 13%, 14%, …"""
    size = token_count(model, text)
    edits = [text.replace("12%", f"{12 + k}%") for k in range(1, count + 1)]
    for edit in edits:
        if edit == text or token_count(model, edit) != size:
            raise ValueError(f"could not edit the {size}-token text into another of {size} tokens")
    return edits


def edit(text: str) -> tuple[str, str]:
    """``(action, until)`` of :data:`TIME_UNTIL`: ``text`` typed into the dashboard's box (its value
    replaced, an ``input`` event), until every text view has drawn newer data and the box says ready."""
    action = (
        f"const box = document.querySelector({json.dumps(BOX_INPUT)});"
        f"box.value = {json.dumps(text)}; box.dispatchEvent(new Event('input', {{bubbles: true}}));"
    )
    return action, redrawn(TEXT_VIEW_ROOTS, STATUS_READY)


def click_token(index: int) -> tuple[str, str]:
    """``(action, until)``: a click on token ``index`` of the attention view, until the linked routing
    view shows it selected."""
    token = f'{root("attention-view")} {sel("token-view")} [data-index="{index}"]'
    selected = f'{root("routing-view")} [data-index="{index}"].dsv-selected'
    return (
        f"document.querySelector({json.dumps(token)}).click()",
        f"return () => document.querySelector({json.dumps(selected)}) !== null;",
    )


def click_point(x: float, y: float, text: str) -> tuple[str, str]:
    """``(action, until)``: a click (pointer down and up) on the map at plane coordinates ``(x, y)``, put
    on the screen with the camera the map publishes in ``data-camera``, until every text view has drawn
    newer data, the box shows the point's ``text`` and says ready."""
    action = (
        f"const map = document.querySelector({json.dumps(root('embedding-scatter'))});"
        "const input = map.querySelector('.dsv-scatter-input');"
        "const camera = JSON.parse(map.dataset.camera); const box = input.getBoundingClientRect();"
        f"const at = {{clientX: box.left + camera.width / 2 + ({x} - camera.cx) * camera.scale,"
        f" clientY: box.top + camera.height / 2 - ({y} - camera.cy) * camera.scale,"
        " bubbles: true, button: 0, buttons: 1, pointerId: 1, isPrimary: true, pointerType: 'mouse'};"
        "input.dispatchEvent(new PointerEvent('pointerdown', at));"
        "input.dispatchEvent(new PointerEvent('pointerup', {...at, buttons: 0}));"
    )
    shown = f"document.querySelector({json.dumps(BOX_INPUT)}).value === {json.dumps(text)} && {STATUS_READY}"
    return action, redrawn(TEXT_VIEW_ROOTS, shown)


def isolated_points(coords: np.ndarray, count: int, skip: set[int]) -> list[int]:
    """Indices of the ``count`` points farthest from their nearest neighbour (a click there picks them),
    those in ``skip`` left out."""
    distances = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    return [int(i) for i in np.argsort(-distances.min(axis=1)) if i not in skip][:count]


def timed_actions(
    watch: PageWatch, actions: list[tuple[str, str]], after: Callable[[], None] | None = None
) -> tuple[list[float], list[int]]:
    """Milliseconds and socket bytes of each ``(action, until)`` of :data:`TIME_UNTIL`; ``after`` runs
    after each (outside the counts)."""
    times, sizes = [], []
    for action, until in actions:
        socket_bytes(watch.page)
        times.append(watch.page.evaluate(TIME_UNTIL, [action, until]))
        sizes.append(socket_bytes(watch.page))
        if after is not None:
            after()
    return times, sizes


def measure_size(watch: PageWatch, size: int, edits: list[str], clicked: set[int]) -> dict[str, Any]:
    """One row: the dashboard on the ``size``-token text (first draw, the ``edits``, token clicks, and
    clicks on map points not in ``clicked``, which gets them: their texts are traced and cached)."""
    repeats = len(edits)
    kernel_run(watch, f"SIZE = {size}")
    construct: list[float] = []
    first, first_bytes = timed_actions(
        watch,
        [(run_cell(1), new_drawn([sel(testid) for testid in ROOTS]))] * repeats,
        after=lambda: construct.append(float(kernel_run(watch, "print(CONSTRUCT_MS)"))),
    )

    kernel: list[dict[str, float]] = []

    def read_kernel_times() -> None:
        times = json.loads(kernel_run(watch, "print(json.dumps(TIMES)); TIMES.clear()"))
        parts = {name: sum(times.get(name, [])) for name in ["total", *KERNEL_PARTS]}
        kernel.append({**parts, "other": parts["total"] - sum(parts[name] for name in KERNEL_PARTS)})

    edited, edit_bytes = timed_actions(watch, [edit(text) for text in edits], read_kernel_times)
    # a new token each time (0 is BOS)
    click, click_bytes = timed_actions(watch, [click_token(2 + repeat) for repeat in range(repeats)])
    coords = json.loads(kernel_run(watch, "print(json.dumps(board.scatter.projection.coords.tolist()))"))
    map_texts = json.loads(kernel_run(watch, "print(json.dumps(board.scatter.texts))"))
    points = isolated_points(np.array(coords), repeats, clicked)
    clicked.update(points)
    map_click, map_bytes = timed_actions(watch, [click_point(*coords[i], map_texts[i]) for i in points])

    return {
        "tool": OURS,
        "tokens": size,
        "views": VIEW_COUNT,
        "construct_ms": median(construct),
        "first_draw_ms": median(first),
        "edit_redraw_ms": median(edited),
        "edit_debounce_ms": edit_debounce_ms(),
        "kernel_edit_ms": {name: median([times[name] for times in kernel]) for name in kernel[0]},
        "token_click_ms": median(click),
        "map_click_ms": median(map_click),
        "bytes_first_draw": int(median(first_bytes)),
        "bytes_edit": int(median(edit_bytes)),
        "bytes_token_click": int(median(click_bytes)),
        "bytes_map_click": int(median(map_bytes)),
    }


def measure_dashboard(
    browser: Any, texts: dict[int, str], edits: dict[int, list[str]]
) -> list[dict[str, Any]]:
    """Time the dashboard in a real JupyterLab, one row per size."""
    rows = []
    with bench_notebook(browser, texts, [setup_cell(), MEASURED_CELL], TIMEOUT_MS) as watch:
        clicked: set[int] = set()
        for size in texts:
            rows.append(measure_size(watch, size, edits[size], clicked))
            print(json.dumps(rows[-1]), flush=True)
        watch.screenshot("bench-dashboard")
    return rows


def measure_bertviz(
    browser: Any, model: dv.HookedModel, edits: dict[int, list[str]], max_tokens: int
) -> list[dict[str, Any]]:
    """bertviz ``head_view`` on the same edits, in a page whose CDN requests are served locally."""
    rows = []
    context, page = open_peer_page(browser, TIMEOUT_MS)
    try:
        for size, texts in edits.items():
            row: dict[str, Any] = {"tool": f"{BERTVIZ.name} head_view", "tokens": size}
            rows.append(row)
            if size > max_tokens:
                row["note"] = f"not run above {max_tokens} tokens (--peer-max-tokens)"
            else:
                try:
                    runs = [BERTVIZ.redraw(page, model, text, LAYER) for text in texts]
                    row.update(edit_redraw_ms=median([ms for ms, _ in runs]), bytes_edit=runs[-1][1])
                except Exception as error:  # a peer failing at a size is a result, not a crash
                    row["note"] = f"failed: {type(error).__name__}: {str(error)[:200]}"
            print(json.dumps(row), flush=True)
    finally:
        context.close()
    return rows


def table(ours: list[dict[str, Any]], peers: list[dict[str, Any]]) -> str:
    """Markdown tables: the dashboard, the kernel side of an edit, and the edit beside bertviz."""
    lines = [
        "| tokens | construct ms | first draw ms | edit → all views ms (debounce) | token click → routing ms | "
        "map click → all views ms | bytes first | bytes edit | bytes token click | bytes map click |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['tokens']} | {row['construct_ms']:.0f} | {row['first_draw_ms']:.0f} | "
        f"{row['edit_redraw_ms']:.0f} ({row['edit_debounce_ms']}) | {row['token_click_ms']:.0f} | "
        f"{row['map_click_ms']:.0f} | {row['bytes_first_draw']:,} | {row['bytes_edit']:,} | "
        f"{row['bytes_token_click']:,} | {row['bytes_map_click']:,} |"
        for row in ours
    ]
    lines += [
        "",
        "| tokens | kernel ms per edit | attention | routing | predictions | attribution | map place | other |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        "| {tokens} | {total:.0f} | {attention:.0f} | {routing:.0f} | {predictions:.0f} | {attribution:.0f} | "
        "{scatter:.0f} | {other:.0f} |".format(tokens=row["tokens"], **row["kernel_edit_ms"])
        for row in ours
    ]
    lines += [
        "",
        f"| tokens | Dashboard ({VIEW_COUNT} views) edit ms | bertviz head_view edit ms | bertviz / Dashboard |",
        "|---|---|---|---|",
    ]
    sentences = []
    by_size = {row["tokens"]: row for row in ours}
    for peer in peers:
        mine = by_size[peer["tokens"]]
        if "note" in peer:
            lines.append(f"| {peer['tokens']} | {mine['edit_redraw_ms']:.0f} | {peer['note']} | — |")
            continue
        times = ratio(peer, mine, "edit_redraw_ms")
        lines.append(
            f"| {peer['tokens']} | {mine['edit_redraw_ms']:.0f} | {peer['edit_redraw_ms']:.0f} | {times} |"
        )
        sentences.append(
            f"At {peer['tokens']} tokens the whole dashboard ({VIEW_COUNT} views) updates in "
            f"{mine['edit_redraw_ms']:.0f} ms ({mine['edit_debounce_ms']} ms of it the editor's debounce); "
            f"bertviz's single head view in {peer['edit_redraw_ms']:.0f} ms ({times} the dashboard's time)."
        )
    return "\n".join([*lines, "", *sentences])


def main(argv: list[str] | None = None) -> int:
    """Run the dashboard benchmark and write :data:`RESULTS`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-max-tokens", type=int, default=512)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_average = os.getloadavg()[0]
    model = dv.load_model(device="cpu", cache_size=64)
    texts = {size: text_of_tokens(model, size) for size in args.sizes}
    edits = {size: edited_texts(model, text, args.repeats) for size, text in texts.items()}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        ours = measure_dashboard(browser, texts, edits)
        peers = measure_bertviz(browser, model, edits, args.peer_max_tokens)
        browser.close()
    result = {
        "benchmark": "dashboard",
        "model": "bundled",
        "layer": LAYER,
        "repeats": args.repeats,
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_average,
            "load_average_after": os.getloadavg()[0],
        },
        "rows": ours + peers,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(ours, peers))
    return 0
