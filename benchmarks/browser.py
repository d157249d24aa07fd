"""Timing helpers that run inside the page, so Playwright's round trips stay out of the figures."""

from __future__ import annotations

from typing import Any

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

#: ``(selector, action) => ms``: run ``action`` (JS source of a function of the page), then wait until
#: the element's ``data-version`` changes and two frames have been produced.
TIME_UNTIL_REDRAW = """
async ([selector, action]) => {
  const target = document.querySelector(selector);
  const before = target.dataset.version;
  const changed = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (target.dataset.version !== before) { observer.disconnect(); resolve(); }
    });
    observer.observe(target, { attributes: true, attributeFilter: ["data-version"] });
  });
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("no redraw within 120 s")), 120000));
  const start = performance.now();
  (new Function(action))();
  await Promise.race([changed, timeout]);
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


def median(values: list[float]) -> float:
    """The median of a non-empty list."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def socket_bytes(page: Any) -> int:
    """Bytes received on the page's WebSockets since the counter was last reset."""
    return int(page.evaluate("() => { const b = window.__dsvBytes; window.__dsvBytes = 0; return b; }"))
