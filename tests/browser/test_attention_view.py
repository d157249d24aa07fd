"""AttentionView in Chromium, against a live JupyterLab kernel (and once under Voila), at the test
model's shape and at DeepSeek-V3's counts (61 layers × 128 heads), in JupyterLab's light and dark themes.

The tests share one notebook and widget per shape (module fixtures ``lab_attention``,
``lab_attention_v3``); each sets the text it needs, so their order does not matter. Heads are clicked
where the overview draws them (``click_head``). The V3-counts test prints what it measured (longest
main-thread task on first draw, frames per second while scrolling the overview), never asserts a time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    HTML_TEXT,
    WIDGET_TIMEOUT_MS,
    PageWatch,
    Server,
    click_head,
    contrast_failures,
    kernel_run,
    open_notebook,
    open_page,
    playwright_sync,
    sel,
    set_theme,
    version,
    wait_for_newer,
    wait_for_status,
)

pytestmark = pytest.mark.browser


def type_text(page: PageWatch, text: str) -> None:
    """Replace the text as a user would, and wait until the widget redrew it."""
    before = version(page, "token-view")
    page.page.fill(sel("text-input"), text)
    wait_for_newer(page, "token-view", before)
    assert wait_for_status(page, "ready") == "ready"


def test_widget_draws(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    assert page.text_content(sel("status")) == "ready"
    assert page.locator(f"{sel('head-grid')} canvas").count() == 1  # one drawing surface
    assert page.get_attribute(sel("head-grid"), "data-ready") == "true"
    assert "dsv-on" in (page.get_attribute(sel("head-0-0"), "class") or "")
    assert page.get_attribute(sel("attention-heatmap"), "data-ready") == "true"
    assert page.locator(f"{sel('token-view')} [data-index]").count() > 5
    assert page.is_visible(sel("colour-legend"))
    lab_attention.screenshot("attention-view-jupyterlab")
    assert lab_attention.errors == []


def test_clicking_a_head_changes_the_heatmap(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    before = version(lab_attention, "attention-heatmap")
    click_head(lab_attention, 2, 1)
    wait_for_newer(lab_attention, "attention-heatmap", before)
    assert page.text_content(sel("heatmap-caption")) == "layer 2 · head 1"
    assert "dsv-on" in (page.get_attribute(sel("head-2-1"), "class") or "")
    click_head(lab_attention, 2, 3, modifiers=("Shift",))
    wait_for_newer(lab_attention, "attention-heatmap", before + 1)
    assert page.text_content(sel("heatmap-caption")) == "layer 2 · mean of heads 1, 3"
    assert kernel_run(lab_attention, "print(view.layer, view.heads)").strip() == "2 [1, 3]"


def test_head_switch_within_the_layer_is_drawn_without_the_kernel(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, "one two three four five")
    kernel_run(lab_attention, "view.layer = 0; view.heads = [0]")
    page.wait_for_function(
        "selector => document.querySelector(selector).textContent === 'layer 0 · head 0'",
        arg=sel("heatmap-caption"),
    )
    data_id, n, sent_heads = kernel_run(
        lab_attention, "print(view._data_id, len(view._tokens), view._layer_heads is not None)"
    ).split()
    assert sent_heads == "True"
    before = version(lab_attention, "attention-heatmap")
    click_head(lab_attention, 0, 2)
    wait_for_newer(lab_attention, "attention-heatmap", before)
    assert page.text_content(sel("heatmap-caption")) == "layer 0 · head 2"
    box = page.locator(sel("attention-heatmap")).bounding_box()
    assert box is not None
    query, key = int(n) - 1, int(n) // 2
    page.mouse.move(
        box["x"] + box["width"] * (key + 0.5) / int(n), box["y"] + box["height"] * (query + 0.5) / int(n)
    )
    shown = float((page.text_content(sel("heatmap-tooltip")) or "").rsplit(": ", 1)[1])
    state = kernel_run(
        lab_attention,
        "exact = view.trace.attention(0)[2]\n"
        f"print(view.heads, view._data_id, abs(view._matrix - exact).max() < 1e-6, exact[{query}, {key}])",
    )
    heads, sent, matrix, weight = state.rsplit(" ", 3)
    assert (heads, sent, matrix) == ("[2]", data_id, "True")  # Python follows; it sent no heatmap
    assert abs(shown - float(weight)) <= 1 / 255 + 5e-3  # the tooltip shows 3 significant digits
    assert lab_attention.errors == []


def test_traits_set_from_python_reach_the_browser(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, "set from the browser")
    before = version(lab_attention, "attention-heatmap")
    kernel_run(lab_attention, "view.layer = 1; view.heads = [0, 1, 2, 3]; view.selected_token = 2")
    wait_for_newer(lab_attention, "attention-heatmap", before)
    page.wait_for_function(
        "selector => document.querySelector(selector).textContent === 'layer 1 · mean of all 4 heads'",
        arg=sel("heatmap-caption"),
    )
    assert "dsv-selected" in (page.get_attribute(sel("token-2"), "class") or "")
    kernel_run(lab_attention, 'view.text = "typed in Python"')
    page.wait_for_function(
        "selector => document.querySelector(selector).value === 'typed in Python'", arg=sel("text-input")
    )
    page.click(sel("token-1"))
    page.wait_for_function(
        "selector => document.querySelector(selector)", arg=sel("token-1") + ".dsv-selected"
    )
    assert kernel_run(lab_attention, "print(view.text, view.selected_token)").strip() == "typed in Python 1"
    assert "TraitError" in kernel_run(lab_attention, "view.layer = 99")


def test_hover_shows_weight_and_shades_tokens(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, "one two three")
    page.locator(sel("attention-heatmap")).scroll_into_view_if_needed()
    box = page.locator(sel("attention-heatmap")).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3)  # last query → last key
    tooltip = page.text_content(sel("heatmap-tooltip")) or ""
    assert "→" in tooltip and re.fullmatch(r"<?\d+(\.\d+)?(e-\d+)?", tooltip.rsplit(": ", 1)[1])
    page.hover(sel("token-3"))
    shaded = page.eval_on_selector(sel("token-1"), "node => node.style.backgroundColor")
    assert shaded.startswith("rgba(")


def test_typing_updates_tokens_and_heatmap(lab_attention: PageWatch) -> None:
    before = version(lab_attention, "attention-heatmap")
    type_text(lab_attention, "The heart attack risk rose 12%.")
    assert version(lab_attention, "attention-heatmap") > before
    assert lab_attention.page.inner_text(sel("token-view")).endswith("The heart attack risk rose 12%.")


def test_long_text_draws_and_zooms(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, " ".join(["a"] * 2047))  # BOS + 2,047 tokens with the test tokenizer
    assert page.locator(sel("token-2047")).count() == 1
    assert page.locator(sel("token-2048")).count() == 0
    for _ in range(6):
        page.click(sel("zoom-in"))
    box = page.locator(sel("attention-heatmap")).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(  # the full-resolution window arrived: the tooltip weight is exact
        "selector => !document.querySelector(selector).textContent.includes('zoom in')",
        arg=sel("heatmap-tooltip"),
    )
    lab_attention.screenshot("attention-view-2048-tokens")
    page.hover(sel("token-1500"))  # its row comes as a full-resolution window
    page.wait_for_function(
        "selector => document.querySelector(selector).style.backgroundColor.startsWith('rgba(')",
        arg=sel("token-1400"),
    )


def test_html_in_tokens_is_shown_as_text(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, HTML_TEXT)
    assert page.inner_text(sel("token-view")).endswith(HTML_TEXT)
    assert page.locator(f"{sel('attention-view')} img, {sel('attention-view')} b").count() == 0
    assert page.locator(f"{sel('token-view')} script").count() == 0
    assert lab_attention.dialogs == []


def test_empty_and_over_long_text(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, "short text")
    page.fill(sel("text-input"), "")
    page.wait_for_selector(f"{sel('empty-state')}:visible")
    assert wait_for_status(lab_attention, "ready") == "ready"
    type_text(lab_attention, "back again")
    tokens = page.inner_text(sel("token-view"))
    page.fill(sel("text-input"), " ".join(["a"] * 5000))
    status = wait_for_status(lab_attention, "error:")
    assert "tokens long; the limit is 4096" in status
    assert page.inner_text(sel("token-view")) == tokens  # the previous view stays


def test_voila_renders_and_responds(
    fresh_page: PageWatch, voila_server: Callable[[Path], Server], attention_notebook: Path
) -> None:
    server = voila_server(attention_notebook)
    page = fresh_page.page
    page.goto(server.url)
    page.wait_for_selector('[data-testid="attention-view"][data-ready="true"]')
    before = version(fresh_page, "attention-heatmap")
    click_head(fresh_page, 1, 2)
    wait_for_newer(fresh_page, "attention-heatmap", before)
    assert page.text_content(sel("heatmap-caption")) == "layer 1 · head 2"
    fresh_page.screenshot("attention-view-voila")
    assert fresh_page.errors == []


def caption_is(page: PageWatch, text: str) -> None:
    page.page.wait_for_function(
        "([selector, text]) => document.querySelector(selector).textContent === text",
        arg=[sel("heatmap-caption"), text],
    )


def has_class(page: PageWatch, testid: str, name: str) -> bool:
    return name in (page.page.get_attribute(sel(testid), "class") or "").split()


def test_keyboard_moves_the_focus_and_selects(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, "one two three four")
    click_head(lab_attention, 0, 0)  # focuses the overview at head 0-0
    caption_is(lab_attention, "layer 0 · head 0")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert has_class(lab_attention, "head-1-1", "dsv-focus")
    page.keyboard.press("Enter")
    caption_is(lab_attention, "layer 1 · head 1")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+Enter")  # adds the head; JupyterLab does not run the cell
    caption_is(lab_attention, "layer 1 · mean of heads 1, 2")
    page.keyboard.press("PageDown")
    assert has_class(lab_attention, "head-2-2", "dsv-focus")  # 3 layers: the last row
    # the browser's selection reaches the kernel as a trait change: ask until it has arrived
    deadline = time.monotonic() + 30
    while (kernel := kernel_run(lab_attention, "print(view.layer, view.heads)").strip()) != "1 [1, 2]":
        assert time.monotonic() < deadline, kernel
        time.sleep(0.2)
    assert lab_attention.errors == []


def test_overview_sorts_by_score_and_shows_scores_on_hover(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, "the cat sat on the mat")
    page.select_option(sel("overview-score"), label="first-token")
    page.check(sel("overview-sort"))
    scores = kernel_run(
        lab_attention,
        "from deepseek_viz.widgets.buffers import decode\nprint(decode(view._head_scores)[1, :, 1].argmax())",
    )
    best = int(scores.strip())
    point = page.locator(sel("head-grid")).evaluate("grid => grid.revealHead(1, 0)")
    assert point is not None
    column_of_best = page.locator(sel("head-grid")).evaluate(f"grid => grid.revealHead(1, {best})")
    assert column_of_best["x"] <= point["x"]  # the best head of the row comes first
    page.mouse.move(column_of_best["x"], column_of_best["y"])
    tooltip = page.text_content(sel("head-tooltip")) or ""
    assert tooltip.startswith(f"layer 1 · head {best}") and "first-token: " in tooltip
    page.uncheck(sel("overview-sort"))


def test_dark_theme_draws_and_responds(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    set_theme(lab_attention, dark=True)
    try:
        type_text(lab_attention, "dark theme text")
        colour = page.eval_on_selector(sel("attention-view"), "node => getComputedStyle(node).color")
        channels = [int(c) for c in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3]]
        assert sum(channels) > 3 * 128, colour  # light text on the dark theme
        before = version(lab_attention, "attention-heatmap")
        click_head(lab_attention, 2, 3)
        wait_for_newer(lab_attention, "attention-heatmap", before)
        caption_is(lab_attention, "layer 2 · head 3")
        lab_attention.screenshot("attention-view-dark")
    finally:
        set_theme(lab_attention, dark=False)
    assert lab_attention.errors == []


# --- axes, zoom, tooltip, contrast (issue 17) -----------------------------------------------------------

LABELLED_TEXT = "may indicate flu."


def canvas_point(page: PageWatch, fx: float, fy: float) -> tuple[int, int]:
    """Client coordinates of the point at fractions (fx, fy) of the heatmap's drawing (inside its border),
    scrolled into view."""
    page.page.locator(sel("attention-heatmap")).scroll_into_view_if_needed()
    box = page.page.eval_on_selector(
        sel("attention-heatmap"),
        "node => { const r = node.getBoundingClientRect();"
        " return [r.left + node.clientLeft, r.top + node.clientTop, node.clientWidth, node.clientHeight]; }",
    )
    return round(box[0] + fx * box[2]), round(box[1] + fy * box[3])  # whole pixels, as events report them


def under(page: PageWatch, x: float, y: float) -> tuple[dict[str, int] | None, dict[str, float] | None]:
    """The cell and the token-space point under client point (x, y), by the canvas's test hooks."""
    return tuple(  # type: ignore[return-value]
        page.page.eval_on_selector(
            sel("attention-heatmap"),
            "(node, [x, y]) => [node.cellAtClient(x, y), node.pointAtClient(x, y)]",
            [x, y],
        )
    )


def zoom_level(page: PageWatch) -> float:
    return float(page.page.eval_on_selector(sel("attention-heatmap"), "node => node.zoomLevel()"))


def boxes_overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_axes_tooltip_and_contrast(lab_attention: PageWatch, dark: bool) -> None:
    page = lab_attention.page
    set_theme(lab_attention, dark=dark)
    try:
        type_text(lab_attention, ("Cough " if dark else "Fever ") + LABELLED_TEXT)  # a new text each run
        page.click(sel("zoom-reset"))
        n = page.locator(f"{sel('token-view')} [data-index]").count()
        # every token labelled on both axes (a short text fits), with the token's text
        for axis in ("query", "key"):
            labels = page.locator(f"{sel(axis + '-labels')} [data-index]")
            assert labels.count() == n
            texts = [text.replace("␣", " ") for text in labels.all_text_contents()]
            assert texts[1:] == page.locator(f"{sel('token-view')} [data-index]").all_text_contents()[1:]
            last = sel(f"{axis}-label-{n - 1}")
            assert (
                page.get_attribute(last, "title") == f"{axis} {n - 1}: {page.text_content(last)}"
            )  # on hover
        assert "␣flu" in page.locator(f"{sel('query-labels')} [data-index]").all_text_contents()
        assert (page.text_content(sel("query-axis-title")) or "").startswith("query")
        assert (page.text_content(sel("key-axis-title")) or "").startswith("key")
        assert page.text_content(sel("zoom-level")) == "×1"
        assert "shift-click" in (page.text_content(sel("head-grid-hint")) or "")
        # the tooltip of a bottom-row cell stays off the legend (and inside the heatmap)
        x, y = canvas_point(lab_attention, 0.05, 0.995)
        page.mouse.move(x, y)
        page.wait_for_selector(f"{sel('heatmap-tooltip')}:visible")
        tooltip = page.locator(sel("heatmap-tooltip")).bounding_box()
        legend = page.locator(sel("colour-legend")).bounding_box()
        canvas = page.locator(sel("attention-heatmap")).bounding_box()
        assert tooltip and legend and canvas
        assert not boxes_overlap(tooltip, legend), (tooltip, legend)
        assert tooltip["y"] + tooltip["height"] <= canvas["y"] + canvas["height"] + 1
        weight = (page.text_content(sel("heatmap-tooltip")) or "").rsplit(": ", 1)[1]
        assert weight != "0"
        failures = contrast_failures(lab_attention, sel("attention-view"))
        assert failures == [], failures
        lab_attention.screenshot(f"attention-view-axes-{'dark' if dark else 'light'}")
        page.mouse.move(1, 1)
    finally:
        set_theme(lab_attention, dark=False)
    assert lab_attention.errors == []


def test_wheel_and_buttons_zoom_where_they_should(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, " ".join(["a"] * 63))  # BOS + 63 tokens
    page.click(sel("zoom-reset"))
    x, y = canvas_point(lab_attention, 0.3, 0.7)
    page.mouse.move(x, y)
    cell, point = under(lab_attention, x, y)
    assert cell is not None and point is not None
    page.mouse.wheel(0, -100)  # one notch up: zoom in about the pointer
    page.wait_for_function(
        "selector => document.querySelector(selector).textContent !== '×1'", arg=sel("zoom-level")
    )
    assert 1.1 <= zoom_level(lab_attention) <= 1.2  # gently: one notch is 15 %
    for _ in range(4):
        page.mouse.wheel(0, -100)
    page.wait_for_function(
        "selector => document.querySelector(selector).zoomLevel() > 1.9", arg=sel("attention-heatmap")
    )
    assert zoom_level(lab_attention) < 2.5  # five notches leave most of the matrix
    cell_after, point_after = under(lab_attention, x, y)
    assert cell_after == cell  # the point under the cursor stays under it
    assert point_after is not None
    assert abs(point_after["x"] - point["x"]) < 1e-3 and abs(point_after["y"] - point["y"]) < 1e-3
    assert page.locator(f"{sel('query-labels')} [data-index]").count() > 0
    # "+" zooms about the centre of the view
    cx, cy = canvas_point(lab_attention, 0.5, 0.5)
    centre, centre_point = under(lab_attention, cx, cy)
    level = zoom_level(lab_attention)
    page.click(sel("zoom-in"))
    assert abs(zoom_level(lab_attention) - 1.5 * level) < 1e-6
    assert page.text_content(sel("zoom-level")) == f"×{round(1.5 * level, 1):g}"
    centre_after, centre_point_after = under(lab_attention, cx, cy)
    assert centre_after == centre
    assert centre_point is not None and centre_point_after is not None
    assert abs(centre_point_after["x"] - centre_point["x"]) < 1e-3
    # the keyboard reaches the zoom too: the canvas takes focus, "0" shows everything
    page.focus(sel("attention-heatmap"))
    page.keyboard.press("0")
    assert page.text_content(sel("zoom-level")) == "×1"
    assert lab_attention.errors == []


def test_fits_a_1024_px_notebook(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    page.set_viewport_size({"width": 1024, "height": 900})
    try:
        type_text(lab_attention, "Chest pain " + LABELLED_TEXT)
        page.check(sel("line-toggle"))
        page.hover(sel("token-3"))
        page.wait_for_selector(f"{sel('line-view')}:visible")
        view = page.eval_on_selector(
            sel("attention-view"),
            "node => ({ scroll: node.scrollWidth, client: node.clientWidth, right: node.getBoundingClientRect().right,"
            " parts: [...node.querySelectorAll('canvas, button, input, select')]"
            ".map((part) => part.getBoundingClientRect().right) })",
        )
        assert view["scroll"] <= view["client"] + 1, view
        assert max(view["parts"]) <= view["right"] + 1, view
        lab_attention.screenshot("attention-view-1024px-lines")
        page.uncheck(sel("line-toggle"))
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})


# --- DeepSeek-V3 counts: 61 layers × 128 heads ---------------------------------------------------------

V3_TEXT = " ".join(["a"] * 127)  # BOS + 127 tokens with the test tokenizer

#: Longest main-thread task since the page started observing (ms), and frames per second while the
#: overview scrolls down by 17 px a frame for 2 s.
MEASURE_LONG_TASKS = """() => {
    window.__longest = 0;
    new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.__longest = Math.max(window.__longest, entry.duration);
    }).observe({ type: "longtask" });
}"""
SCROLL_FPS = """async (selector) => {
    const scroller = document.querySelector(selector);
    let frames = 0;
    const start = performance.now();
    while (performance.now() - start < 2000) {
        scroller.scrollTop = (scroller.scrollTop + 17) % (scroller.scrollHeight - scroller.clientHeight);
        scroller.scrollLeft = (scroller.scrollLeft + 11) % (scroller.scrollWidth - scroller.clientWidth);
        await new Promise((resolve) => requestAnimationFrame(resolve));
        frames++;
    }
    return frames / ((performance.now() - start) / 1000);
}"""


CLICK_TO_FRAME = """(selector) => {
    window.__clickAt = 0;
    window.__frameAfterClick = 0;
    document.addEventListener("pointerdown", () => { window.__clickAt = performance.now(); }, {capture: true, once: true});
    const node = document.querySelector(selector);
    const before = node.getAttribute("data-version");
    const observer = new MutationObserver(() => {
        if (node.getAttribute("data-version") === before) return;
        observer.disconnect();
        requestAnimationFrame(() => { window.__frameAfterClick = performance.now(); });
    });
    observer.observe(node, {attributes: true});
}"""


@pytest.fixture(scope="module")
def lab_attention_v3(
    browser: playwright_sync.Browser,
    jupyter_lab: Server,
    write_notebook: Callable[[str, list[str]], Path],
    real_count_checkpoints: dict[str, Path],
) -> Iterator[PageWatch]:
    """An AttentionView of a V3-counts model (61 × 128 heads) on 128 tokens, open in JupyterLab, with
    the longest main-thread task of its first draw in ``window.__longest``."""
    path = real_count_checkpoints["v3"]
    notebook = write_notebook(
        "attention_v3",
        [
            "import deepseek_viz as dv\nfrom deepseek_viz.widgets import AttentionView\n"
            f"model = dv.load_model({str(path)!r}, device='cpu', max_tokens=4096)",
            f"view = AttentionView(model, text={V3_TEXT!r}, layer=0, heads=[0])\nview",
        ],
    )
    context, watch = open_page(browser)
    page = watch.page
    page.set_default_timeout(2 * WIDGET_TIMEOUT_MS)
    try:
        open_notebook(page, jupyter_lab, notebook.name)
        page.evaluate(MEASURE_LONG_TASKS)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        page.wait_for_selector(f'{sel("attention-view")}[data-ready="true"]')
        yield watch
    finally:
        context.close()


def test_v3_counts_overview_draws_and_responds(lab_attention_v3: PageWatch) -> None:
    page = lab_attention_v3.page
    page.set_default_timeout(WIDGET_TIMEOUT_MS)  # a layer switch is a forward of 61 layers on 2 busy cores
    longest = page.evaluate("() => window.__longest")
    assert page.locator(f"{sel('head-grid')} canvas").count() == 1
    assert page.get_attribute(sel("head-grid"), "data-ready") == "true"
    grid = page.locator(sel("head-grid")).bounding_box()
    panel = page.locator(sel("attention-view")).bounding_box()
    assert grid is not None and panel is not None
    assert grid["x"] + grid["width"] <= panel["x"] + panel["width"] + 1  # fits the panel: scrolls inside
    scroller = sel("head-overview-scroller")
    assert page.eval_on_selector(scroller, "node => node.scrollWidth > node.clientWidth")  # 128 columns
    assert page.eval_on_selector(scroller, "node => node.scrollHeight > node.clientHeight")  # 61 rows
    lab_attention_v3.screenshot("attention-view-v3-counts")

    before = version(lab_attention_v3, "attention-heatmap")
    click_head(lab_attention_v3, 0, 100)  # far right: scrolled into view first
    caption_is(lab_attention_v3, "layer 0 · head 100")
    wait_for_newer(lab_attention_v3, "attention-heatmap", before)
    assert has_class(lab_attention_v3, "head-0-100", "dsv-on")

    page.keyboard.press("ArrowDown")
    page.keyboard.press("PageDown")
    focus = page.get_attribute(".dsv-mark.dsv-focus", "data-testid") or ""
    layer, head = (int(part) for part in focus.split("-")[1:])
    assert head == 100 and layer > 1

    page.fill(sel("overview-jump"), "58")
    page.press(sel("overview-jump"), "Enter")
    page.wait_for_selector(f"{sel('head-58-0')}.dsv-focus")
    assert page.eval_on_selector(scroller, "node => node.scrollTop") > 0
    before = version(lab_attention_v3, "attention-heatmap")
    click_head(lab_attention_v3, 58, 3)  # a layer switch: that one layer computed from its input
    caption_is(lab_attention_v3, "layer 58 · head 3")
    wait_for_newer(lab_attention_v3, "attention-heatmap", before)

    set_theme(lab_attention_v3, dark=True)
    try:
        lab_attention_v3.screenshot("attention-view-v3-counts-dark")
        before = version(lab_attention_v3, "attention-heatmap")
        page.evaluate(CLICK_TO_FRAME, sel("attention-heatmap"))
        click_head(lab_attention_v3, 58, 127)  # same layer: one heatmap from the kept trace
        caption_is(lab_attention_v3, "layer 58 · head 127")
        wait_for_newer(lab_attention_v3, "attention-heatmap", before)
        page.wait_for_function("() => window.__frameAfterClick > 0")
        click_ms = page.evaluate("() => window.__frameAfterClick - window.__clickAt")
    finally:
        set_theme(lab_attention_v3, dark=False)
    assert lab_attention_v3.errors == []
    fps = page.evaluate(SCROLL_FPS, scroller)
    print(
        f"\nV3 counts, 128 tokens: longest task on first draw {longest:.0f} ms; overview scrolls at {fps:.0f} fps;"
        f" a head click to the next frame of its heatmap {click_ms:.0f} ms"
    )
