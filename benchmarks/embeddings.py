"""Embedding scatter benchmark (issue #4): embed + project many texts, and pan 100k points in a browser.

1. **Embed + project**, on the CPU with the bundled model: 1,000 and 10,000 short templated finance and
   medical sentences are embedded (``embed_texts``, last layer, mean pooling) and projected to 2-D with
   PCA and UMAP (``project``, seed 0), both caches cleared first. UMAP's numba JIT is warmed up beforehand
   by two tiny fits (exact neighbours, and the NN-descent path that 4,096 points or more take) and its
   time is given apart: it is paid once per process (less where numba's disk cache has it).
2. **Panning fps** in headless Debian Chromium (``CHROMIUM_ARGS``): the built ``EmbeddingScatter`` bundle
   (``static/scatter.js``) on a stand-alone page with a fake anywidget model holding 100,000 points in 10
   clusters; synthetic drags, one pointer move per animation frame for ``--seconds``, count frames and the
   frames in which the plot was redrawn. The same for plotly's ``Scattergl`` (``dragmode="pan"``) on the
   same points, ``plotly.min.js`` served from the installed ``plotly`` package.

Writes ``benchmarks/results/embeddings.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import plotly
import torch
from playwright.sync_api import sync_playwright

import deepseek_viz as dv
from deepseek_viz.analysis.embeddings import clear_embedding_cache, embed_texts
from deepseek_viz.analysis.projection import clear_projection_cache, project
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

from .browser import median

RESULTS = Path(__file__).parent / "results" / "embeddings.json"
SCATTER_JS = Path(__file__).resolve().parents[1] / "src" / "deepseek_viz" / "static" / "scatter.js"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
#: Pages are served from this made-up origin by Playwright routes (nothing goes to the network).
ORIGIN = "http://dsv-bench.invalid"
TIMEOUT_MS = 120_000
T = TypeVar("T")
P = ParamSpec("P")

SUBJECTS = [
    "Quarterly revenue", "The patient", "Bond yields", "A persistent cough", "The merger", "Chest pain",
    "Inflation", "The biopsy", "Shares of the bank", "Blood pressure", "The central bank", "A new vaccine",
]  # fmt: skip
VERBS = [
    "rose after", "fell before", "may indicate", "was linked to", "could signal", "improved with",
    "worsened after", "depends on",
]  # fmt: skip
OBJECTS = [
    "the earnings call", "a heart attack", "higher interest rates", "the flu", "surgery", "weak demand",
    "the audit", "a course of antibiotics", "the rate cut", "an infection", "the dividend", "a blood test",
]  # fmt: skip


def make_texts(count: int, seed: int = 0) -> list[str]:
    """``count`` short templated finance/medical sentences, the same for the same ``seed``."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} in week {i % 52 + 1}."
        for i in range(count)
    ]


def timed(action: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[T, float]:
    """``action(*args, **kwargs)`` and the seconds it took."""
    start = time.perf_counter()
    result = action(*args, **kwargs)
    return result, time.perf_counter() - start


def set_threads(threads: int) -> dict[str, int]:
    """Limit torch and numba (UMAP) to ``threads`` threads; the counts in force."""
    import numba

    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return {"torch": torch.get_num_threads(), "numba": numba.get_num_threads()}


def warm_up(model: dv.HookedModel) -> dict[str, float]:
    """Seconds of the one-off costs kept out of the timings: first forward passes (64 texts), and two
    tiny UMAP fits that JIT-compile both neighbour searches (exact, and the NN-descent of ≥ 4,096)."""
    _, embed_s = timed(embed_texts, model, make_texts(64, seed=1), progress=False)
    vectors = np.random.default_rng(0).normal(size=(200, 32)).astype(np.float32)
    start = time.perf_counter()
    project(vectors, "umap", 2, seed=0)
    project(vectors, "umap", 2, seed=0, force_approximation_algorithm=True)
    umap_s = time.perf_counter() - start
    clear_projection_cache()
    return {"embed_warm_up_s": embed_s, "umap_warm_up_s": umap_s}


def measure_embed_project(
    model: dv.HookedModel, sizes: list[int], batch_size: int, repeats: int
) -> list[dict[str, Any]]:
    """Seconds to embed ``n`` texts and to project them with PCA and UMAP, for each ``n`` in ``sizes``:
    the fastest of ``repeats`` runs, caches cleared before each (shared machines are noisy)."""
    rows = []
    for count in sizes:
        texts = make_texts(count)
        row: dict[str, Any] = {
            "texts": count,
            "mean_tokens": float(np.mean([len(ids) for ids in model.tokenizer(texts)["input_ids"]])),
            "load_average_before": os.getloadavg()[0],
        }
        embed_runs, vectors = [], None
        for _ in range(repeats):
            clear_embedding_cache()
            vectors, seconds = timed(embed_texts, model, texts, batch_size=batch_size, progress=False)
            embed_runs.append(seconds)
        row["embed_s"] = min(embed_runs)
        for method in ("pca", "umap"):
            runs = []
            for _ in range(repeats):
                clear_projection_cache()
                runs.append(timed(project, vectors, method, 2, seed=0)[1])
            row[f"{method}_s"] = min(runs)
            row[f"total_{method}_s"] = row["embed_s"] + row[f"{method}_s"]
        row["load_average_after"] = os.getloadavg()[0]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


#: A deterministic cloud of ``N`` 2-D points in 10 gaussian clusters: ``coords`` (float32 x, y
#: interleaved), ``labels`` (uint8) and ``N``, from the page's ``?n=`` (both pages draw the same points).
POINTS_JS = """
const N = Number(new URLSearchParams(location.search).get("n"));
const coords = new Float32Array(2 * N), labels = new Uint8Array(N);
let seed = 1;
const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
for (let i = 0; i < N; i++) {
  labels[i] = i % 10;
  for (let d = 0; d < 2; d++) coords[2 * i + d] = 6 * Math.cos(labels[i] * (d + 1)) + gauss();
}
const COLOURS = ["#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880",
  "#FF97FF", "#FECB52"];
"""

#: The widget bundle rendered with a fake anywidget model holding the traits ``js/src/scatter.ts`` reads.
SCATTER_PAGE = f"""<!doctype html><html><body style="margin:0"><div id="app" style="width:900px"></div>
<script type="module">
import widget from "./scatter.js";
{POINTS_JS}
const values = {{
  selected: [], clicked: -1, clicked_text: "", live_point: [], live_text: "", status: {{ state: "ready", message: "" }}, mode: "texts",
  _coords: {{ dtype: "float32", shape: [N, 2], scale: 1, buffer: new DataView(coords.buffer) }},
  _labels: {{ dtype: "uint8", shape: [N], scale: 255, buffer: new DataView(labels.buffer) }},
  _label_names: COLOURS.map((_, i) => `cluster ${{i}}`), _colours: COLOURS, _texts: [], _paths: {{}}, _data_id: 1,
}};
const handlers = {{}};
const model = {{
  get: (key) => values[key],
  set: (key, value) => {{ values[key] = value; (handlers[`change:${{key}}`] || []).forEach((h) => h()); }},
  on: (event, handler) => (handlers[event] ||= []).push(handler),
  off: () => {{}}, save_changes: () => {{}},
}};
const experimental = {{ invoke: async (name, msg) => [{{ index: msg.index, text: "" }}, []] }};
widget.render({{ model, el: document.getElementById("app"), experimental, signal: new AbortController().signal }});
</script></body></html>"""

#: Plotly ``Scattergl`` of the same points, ``?w=&h=`` the plot size in CSS pixels.
PLOTLY_PAGE = f"""<!doctype html><html><body style="margin:0"><div id="plot"></div>
<script src="./plotly.min.js"></script>
<script>
{POINTS_JS}
const params = new URLSearchParams(location.search);
const x = new Float32Array(N), y = new Float32Array(N);
for (let i = 0; i < N; i++) {{ x[i] = coords[2 * i]; y[i] = coords[2 * i + 1]; }}
const trace = {{ type: "scattergl", mode: "markers", x, y, hoverinfo: "none",
  marker: {{ size: 3, color: Array.from(labels, (label) => COLOURS[label]) }} }};
const layout = {{ dragmode: "pan", width: Number(params.get("w")), height: Number(params.get("h")),
  margin: {{ l: 0, r: 0, t: 0, b: 0 }}, showlegend: false }};
Plotly.newPlot("plot", [trace], layout).then(() => {{ document.body.dataset.ready = "true"; }});
</script></body></html>"""

#: Counts WebGL draw calls in ``window.__glDraws`` (plotly redraws inside its event handlers).
COUNT_GL_DRAWS = """
window.__glDraws = 0;
for (const proto of [WebGLRenderingContext.prototype, self.WebGL2RenderingContext?.prototype]) {
  if (!proto) continue;
  for (const name of ["drawArrays", "drawElements", "drawArraysInstanced", "drawElementsInstanced"]) {
    const native = proto[name];
    if (native) proto[name] = function (...args) { window.__glDraws++; return native.apply(this, args); };
  }
}
"""

WEBGL_NAME = """() => {
  const gl = document.createElement("canvas").getContext("webgl");
  if (!gl) return "none";
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  return gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
}"""

#: ``[target, events, ms, counter] => {fps, redraw_fps, moves}``: press on ``target``, then one move per
#: animation frame in a figure of eight for ``ms``, then release. ``events`` is ``"pointer"`` or
#: ``"mouse"``; ``counter`` is JS source of an expression that grows when the plot redraws; a frame
#: counts as redrawn when it changed since the last frame.
DRAG_FPS = """
async ([target, events, ms, counter]) => {
  const element = document.querySelector(target);
  const count = new Function(`return (${counter});`);
  const box = element.getBoundingClientRect();
  const at = (i) => ({
    clientX: box.left + box.width / 2 + 120 * Math.sin(i / 10),
    clientY: box.top + box.height / 2 + 60 * Math.cos(i / 13),
    bubbles: true, cancelable: true, button: 0, buttons: 1, pointerId: 1, isPrimary: true, pointerType: "mouse",
  });
  const make = (type, i) => (events === "pointer" ? new PointerEvent(`pointer${type}`, at(i)) : new MouseEvent(`mouse${type}`, at(i)));
  element.dispatchEvent(make("down", 0));
  let frames = 0, redraws = 0, last = count();
  const start = performance.now();
  await new Promise((done) => {
    const tick = () => {
      frames++;
      const now = count();
      if (now !== last) { redraws++; last = now; }
      element.dispatchEvent(make("move", frames));
      if (performance.now() - start < ms) requestAnimationFrame(tick); else done();
    };
    requestAnimationFrame(tick);
  });
  const seconds = (performance.now() - start) / 1000;
  element.dispatchEvent(make("up", frames));
  return { fps: frames / seconds, redraw_fps: redraws / seconds, moves: frames };
}
"""


def serve(context: Any, files: dict[str, tuple[str | Path, str]]) -> None:
    """Answer requests to :data:`ORIGIN` from ``files``: ``name -> (text or file, content type)``."""

    def handle(route: Any) -> None:
        name = route.request.url.removeprefix(ORIGIN + "/").split("?")[0]
        if name not in files:
            route.fulfill(status=404, body="")
            return
        body, content_type = files[name]
        if isinstance(body, Path):
            route.fulfill(path=str(body), content_type=content_type)
        else:
            route.fulfill(body=body, content_type=content_type)

    context.route(ORIGIN + "/**", handle)


@dataclass(frozen=True)
class Plot:
    """A page to pan: what marks it drawn, what to drag, and how to tell a redraw and the renderer."""

    tool: str
    page: str  # a name in the files :func:`measure_fps` serves; gets ``?n=points&...``
    ready: str  # selector present once drawn
    target: str  # selector of the element that takes the drag
    events: str  # "pointer" or "mouse"
    counter: str  # JS expression that grows when the plot redraws
    renderer: str  # JS expression naming the renderer


SCATTER_ROOT = '[data-testid="embedding-scatter"]'
OURS = Plot(
    tool="deepseek-viz",
    page="scatter.html",
    ready=f'{SCATTER_ROOT}[data-ready="true"]',
    target=".dsv-scatter-input",
    events="pointer",
    counter=f"Number(document.querySelector('{SCATTER_ROOT}').dataset.version)",
    renderer=f"document.querySelector('{SCATTER_ROOT}').dataset.renderer",
)
PLOTLY = Plot(
    tool="plotly Scattergl",
    page="plotly.html",
    ready='body[data-ready="true"]',
    target=".nsewdrag",
    events="mouse",
    counter="window.__glDraws",
    renderer="document.querySelector('canvas.gl-canvas') ? 'webgl' : 'none'",
)


def measure_panning(
    context: Any, plot: Plot, points: int, query: str, seconds: float, repeats: int
) -> dict[str, Any]:
    """Load ``plot`` with ``points`` points until drawn, then pan it ``repeats`` times (median fps)."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        start = time.perf_counter()
        page.goto(f"{ORIGIN}/{plot.page}?n={points}{query}")
        page.wait_for_selector(plot.ready, state="attached")
        first_draw_ms = (time.perf_counter() - start) * 1000
        runs = [
            page.evaluate(DRAG_FPS, [plot.target, plot.events, seconds * 1000, plot.counter])
            for _ in range(repeats)
        ]
        box = page.locator(plot.target).bounding_box() or {}
        row: dict[str, Any] = {
            "tool": plot.tool,
            "points": points,
            "renderer": page.evaluate(f"() => {plot.renderer}"),
            "first_draw_ms": first_draw_ms,
            "fps": median([run["fps"] for run in runs]),
            "redraw_fps": median([run["redraw_fps"] for run in runs]),
            "fps_runs": [round(run["fps"], 1) for run in runs],
            "plot_px": [round(box.get("width", 0)), round(box.get("height", 0))],
        }
        if errors:
            row["page_errors"] = errors[:3]
        return row
    finally:
        page.close()


def webgl_name(context: Any) -> str:
    """The browser's WebGL renderer (SwiftShader: software), or ``"none"``."""
    page = context.new_page()
    try:
        return str(page.evaluate(WEBGL_NAME))
    finally:
        page.close()


def measure_fps(points: int, seconds: float, repeats: int, peer: bool) -> list[dict[str, Any]]:
    """Panning fps of the scatter widget (and of plotly ``Scattergl`` when ``peer``, at the same size)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.add_init_script(COUNT_GL_DRAWS)
        serve(
            context,
            {
                "scatter.html": (SCATTER_PAGE, "text/html"),
                "scatter.js": (SCATTER_JS, "application/javascript"),
                "plotly.html": (PLOTLY_PAGE, "text/html"),
                "plotly.min.js": (PLOTLY_JS, "application/javascript"),
            },
        )
        try:
            rows = [measure_panning(context, OURS, points, "", seconds, repeats)]
            rows[0]["browser_webgl"] = webgl_name(context)
            print(json.dumps(rows[-1]), flush=True)
            if peer:
                width, height = rows[0]["plot_px"]
                try:
                    rows.append(
                        measure_panning(context, PLOTLY, points, f"&w={width}&h={height}", seconds, repeats)
                    )
                except Exception as error:  # a peer failing is a result, not a crash
                    rows.append({"tool": PLOTLY.tool, "points": points, "note": f"failed: {error!s:.200}"})
                print(json.dumps(rows[-1]), flush=True)
        finally:
            context.close()
            browser.close()
    return rows


def table(embed_rows: list[dict[str, Any]], one_off: dict[str, Any], fps_rows: list[dict[str, Any]]) -> str:
    """Markdown tables of both parts."""
    lines = [
        f"One-off, not in the table: model load {one_off['model_load_s']:.1f} s, first forward pass "
        f"{one_off['embed_warm_up_s']:.1f} s, UMAP JIT warm-up {one_off['umap_warm_up_s']:.1f} s; "
        f"{one_off['threads']['torch']} torch / {one_off['threads']['numba']} numba threads.",
        "",
        "| texts | tokens/text | embed s | PCA s | UMAP s | total (PCA) s | total (UMAP) s |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['texts']:,} | {row['mean_tokens']:.1f} | {row['embed_s']:.2f} | {row['pca_s']:.2f} | "
        f"{row['umap_s']:.2f} | {row['total_pca_s']:.2f} | {row['total_umap_s']:.2f} |"
        for row in embed_rows
    ]
    lines += [
        "",
        "| tool | points | renderer | first draw ms | fps | redraws/s |",
        "|---|---|---|---|---|---|",
    ]
    for row in fps_rows:
        if "note" in row:
            lines.append(f"| {row['tool']} | {row['points']:,} | {row['note']} ||||")
        else:
            lines.append(
                f"| {row['tool']} | {row['points']:,} | {row['renderer']} | {row['first_draw_ms']:.0f} | "
                f"{row['fps']:.1f} | {row['redraw_fps']:.1f} |"
            )
    webgl = next((row["browser_webgl"] for row in fps_rows if "browser_webgl" in row), "none")
    lines += ["", f"Browser WebGL: {webgl} (the widget draws on a canvas 2D where WebGL is software)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the embedding scatter benchmark and write :data:`RESULTS`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000], help="texts to embed")
    parser.add_argument("--threads", type=int, default=2, help="torch and numba threads")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--embed-repeats", type=int, default=1, help="embed + project runs (fastest)")
    parser.add_argument("--points", type=int, default=100_000, help="points to pan in the browser")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one panning run")
    parser.add_argument("--repeats", type=int, default=3, help="panning runs (median)")
    parser.add_argument("--no-peer", action="store_true", help="skip plotly Scattergl")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    threads = set_threads(args.threads)
    model, load_s = timed(dv.load_model, device="cpu")
    one_off = {"threads": threads, "model_load_s": load_s, **warm_up(model)}
    print(json.dumps(one_off), flush=True)
    embed_rows = measure_embed_project(model, args.sizes, args.batch_size, args.embed_repeats)
    fps_rows = measure_fps(args.points, args.seconds, args.repeats, peer=not args.no_peer)
    result = {
        "benchmark": "embedding scatter",
        "model": "bundled",
        "batch_size": args.batch_size,
        "embed_repeats": args.embed_repeats,
        **one_off,
        "embed_project": embed_rows,
        "panning": {"seconds": args.seconds, "repeats": args.repeats, "chromium_args": CHROMIUM_ARGS},
        "fps": fps_rows,
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(embed_rows, one_off, fps_rows))
    return 0
