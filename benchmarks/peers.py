"""The peers drawn on the same trace: bertviz ``head_view`` and circuitsvis ``attention_heads``.

Both embed the attention as JSON in an HTML page. bertviz loads d3, jQuery and require.js from a CDN;
the benchmark serves local copies (npm packages in ``js/node_modules``) at those addresses, since these
machines are offline. circuitsvis inlines its own bundle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepseek_viz import HookedModel, Trace

from .browser import load

NODE_MODULES = Path(__file__).resolve().parents[1] / "js" / "node_modules"
CDN_FILES = {
    "d3.min.js": NODE_MODULES / "d3" / "dist" / "d3.min.js",
    "jquery.min.js": NODE_MODULES / "jquery" / "dist" / "jquery.min.js",
    "require.min.js": NODE_MODULES / "requirejs" / "require.js",
}


def serve_cdn_locally(context: Any) -> None:
    """Answer bertviz's cdnjs requests from the local npm copies."""

    def handle(route: Any) -> None:
        name = route.request.url.rsplit("/", 1)[-1]
        path = CDN_FILES.get(name)
        if path is None:
            route.abort()
        else:
            route.fulfill(path=str(path), content_type="application/javascript")

    context.route("https://cdnjs.cloudflare.com/**", handle)


def open_peer_page(browser: Any, timeout_ms: float) -> tuple[Any, Any]:
    """``(context, page)``: a page of its own context (the caller closes it) for the peers' HTML, CDN
    requests served locally."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    serve_cdn_locally(context)
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    return context, page


@dataclass(frozen=True)
class Peer:
    """How to build, recognise as drawn, and switch heads in one peer's page."""

    name: str
    drawn: str  # JS expression true once the page has drawn
    switch_head: str  # JS statements that select another head

    def page(self, trace: Trace, layer: int) -> tuple[str, int, float]:
        """``(html, data bytes, seconds to build)`` for the attention of ``layer`` in ``trace``."""
        tokens = [token.text for token in trace.tokens]
        pattern = trace.attention(layer)
        start = time.perf_counter()
        if self.name == "bertviz":
            from bertviz import head_view

            html = head_view(
                attention=[torch.from_numpy(pattern)[None]],
                tokens=tokens,
                html_action="return",
                include_layers=[0],
            ).data
            data_bytes = len(html.encode())
        else:
            import circuitsvis

            rendered = circuitsvis.attention.attention_heads(attention=pattern, tokens=tokens)
            html = rendered.local_src
            bundle = (Path(circuitsvis.__file__).parent / "dist" / "cdn" / "iife.js").read_text(
                encoding="utf-8"
            )
            data_bytes = len(html.encode()) - len(bundle.encode())
        seconds = time.perf_counter() - start
        return f"<!doctype html><html><body>{html}</body></html>", data_bytes, seconds

    def redraw(self, page: Any, model: HookedModel, text: str, layer: int) -> tuple[float, int]:
        """What an edit costs the peer: ``(ms, data bytes)`` to trace ``text``, build the page and load
        it into ``page`` until drawn."""
        start = time.perf_counter()
        html, data_bytes, _ = self.page(model.trace(text, layers=[layer]), layer)
        python_ms = (time.perf_counter() - start) * 1000
        return python_ms + load(page, html, self.drawn), data_bytes


PEERS = [
    Peer(
        "bertviz",
        drawn="document.querySelector('#vis svg > g:last-of-type > rect') !== null",
        switch_head=(
            "document.querySelector('#vis svg > g:last-of-type > rect:nth-of-type(2)')"
            ".dispatchEvent(new MouseEvent('click', {bubbles: true}));"
        ),
    ),
    Peer(
        "circuitsvis",
        drawn="document.querySelectorAll('[id^=circuits-vis] canvas').length > 1",
        switch_head=(
            "[...document.querySelectorAll('[id^=circuits-vis] h4')].find((h) => h.textContent === 'Head 1')"
            ".parentElement.dispatchEvent(new MouseEvent('click', {bubbles: true}));"
        ),
    ),
]


def json_megabytes(heads: int, tokens: int) -> float:
    """Rough size of an ``[heads, n, n]`` attention written as JSON floats (about 20 characters each)."""
    return float(np.float64(heads) * tokens * tokens * 20 / 2**20)
