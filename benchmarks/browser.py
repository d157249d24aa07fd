"""Timing helpers that run inside the page, so Playwright's round trips stay out of the figures."""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat

from tests.browser.conftest import PageWatch, open_notebook, open_page, start_jupyter_lab

LIVE_EDITOR_TS = Path(__file__).resolve().parents[1] / "js" / "src" / "lib" / "live_editor.ts"

#: Counts bytes arriving on every WebSocket (Jupyter's kernel channel included) in ``window.__dsvBytes``.
COUNT_SOCKET_BYTES = """
window.__dsvBytes = 0;
const NativeSocket = window.WebSocket;
window.WebSocket = class extends NativeSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => {
      const data = event.data;
      window.__dsvBytes += typeof data === "string" ? new Blob([data]).size : (data.byteLength ?? data.size ?? 0);
    });
  }
};
"""

#: ``[action, until] => ms``: run ``until`` (JS source of a function body that returns a predicate; it
#: runs before the action, so it can note what it compares against), run ``action`` (JS statements of
#: the page, not awaited), wait until the predicate holds (checked on every DOM mutation) and two frames
#: have been produced.
TIME_UNTIL = """
async ([action, until]) => {
  const done = new Function(until)();
  let observer, timer;
  const reached = new Promise((resolve, reject) => {
    observer = new MutationObserver(() => { if (done()) resolve(); });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    timer = setTimeout(() => reject(new Error("not reached within 300 s")), 300000);
  });
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const start = performance.now();
  try {
    (new Function(action))();
    await reached;
  } finally {
    observer.disconnect();
    clearTimeout(timer);
  }
  await frame();
  await frame();
  return performance.now() - start;
}
"""

#: ``action => ms``: run ``action`` synchronously (e.g. a click with a synchronous redraw) and wait two frames.
TIME_SYNC_ACTION = """
async (action) => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const start = performance.now();
  (new Function(action))();
  await frame();
  await frame();
  return performance.now() - start;
}
"""


def redrawn(selectors: list[str], also: str = "true") -> str:
    """``until`` of :data:`TIME_UNTIL`: every element of ``selectors`` has a newer ``data-version`` and
    the JS expression ``also`` holds."""
    return (
        f"const selectors = {json.dumps(selectors)};"
        "const version = (s) => Number(document.querySelector(s)?.dataset.version ?? 0);"
        "const before = selectors.map(version);"
        f"return () => selectors.every((s, i) => version(s) > before[i]) && ({also});"
    )


def new_drawn(selectors: list[str]) -> str:
    """``until`` of :data:`TIME_UNTIL`: marks the elements of ``selectors`` now in the page old
    (``data-old``), and holds once a new one of each has drawn (``data-ready="true"``)."""
    return (
        f"const selectors = {json.dumps(selectors)};"
        "selectors.forEach((s) => document.querySelectorAll(s).forEach((el) => { el.dataset.old = '1'; }));"
        "return () => selectors.every((s) => document.querySelector(s + '[data-ready=\"true\"]:not([data-old])'));"
    )


def run_cell(index: int) -> str:
    """JS statements that run code cell ``index`` of the open notebook, returning the command's promise
    (it settles once the cell has run)."""
    return (
        "const notebook = window.jupyterapp.shell.currentWidget;"
        f"notebook.content.activeCellIndex = {index};"
        "return window.jupyterapp.commands.execute('notebook:run-cell');"
    )


def load(page: Any, html: str, drawn: str) -> float:
    """Milliseconds to load ``html`` into ``page`` until ``drawn`` holds and two frames have passed."""
    start = time.perf_counter()
    page.set_content(html, wait_until="load")
    page.wait_for_function(f"() => {drawn}", polling="raf")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return (time.perf_counter() - start) * 1000


def edit_debounce_ms() -> int:
    """The live editors' debounce: ``EDIT_DEBOUNCE_MS`` of ``js/src/lib/live_editor.ts``."""
    match = re.search(r"export const EDIT_DEBOUNCE_MS = (\d+);", LIVE_EDITOR_TS.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f"no `export const EDIT_DEBOUNCE_MS = <ms>;` in {LIVE_EDITOR_TS}")
    return int(match.group(1))


def median(values: list[float]) -> float:
    """The median of a non-empty list."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def ratio(peer: dict[str, Any], ours: dict[str, Any], key: str) -> str:
    """``peer / ours`` for one metric, as text."""
    if key not in peer or not ours.get(key):
        return "—"
    return f"{peer[key] / ours[key]:.1f}×"


def socket_bytes(page: Any) -> int:
    """Bytes received on the page's WebSockets since the counter was last reset."""
    return int(page.evaluate("() => { const b = window.__dsvBytes; window.__dsvBytes = 0; return b; }"))


@contextmanager
def bench_notebook(
    browser: Any, texts: dict[int, str], cells: list[str], timeout_ms: int
) -> Iterator[PageWatch]:
    """A JupyterLab on a temporary folder holding ``texts.json`` and a notebook of ``cells``, open in a page
    that counts WebSocket bytes (:data:`COUNT_SOCKET_BYTES`), with its first cell run."""
    with tempfile.TemporaryDirectory(prefix="dsv-bench-") as folder:
        root = Path(folder)
        (root / "texts.json").write_text(json.dumps(texts))
        notebook = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(cell) for cell in cells],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        )
        nbformat.write(notebook, root / "bench.ipynb")
        server = start_jupyter_lab(root)
        context, watch = open_page(browser)
        watch.page.set_default_timeout(timeout_ms)
        try:
            watch.page.add_init_script(COUNT_SOCKET_BYTES)
            open_notebook(watch.page, server, "bench.ipynb")
            watch.page.evaluate(f"() => {{ {run_cell(0)} }}")
            yield watch
        finally:
            context.close()
            server.stop()
