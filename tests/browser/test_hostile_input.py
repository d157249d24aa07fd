"""Hostile text in every view, in Chromium against a live JupyterLab kernel: HTML, scripts, CSS, bidi
overrides, zero-width and control characters, a lone surrogate and a 50,000-character text, typed or
filled into the views' own text boxes. Model text must show as literal text (textContent), never run,
never restyle or break the page.

One notebook shows every live view, an EmbeddingScatter of hostile texts and labels, and a cell
after them (its output is how the tests see that the rest of the notebook still renders).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import PageWatch, Server, kernel_run, notebook_in_lab, playwright_sync, sel
from tests.browser.test_embedding_scatter import coords, loneliest, screen_position

pytestmark = pytest.mark.browser

HOSTILE = (
    "<img src=x onerror=window.__pwned=1> <script>window.__pwned=1</script> </script> "
    "<style>body{display:none}</style> a \u202eb\u202c \u2066c\u2069 zero\u200bwidth\u200djoin\ufeffbom "
    "<b>bold</b>"
)
#: Root testid of each live view → its token cells (the first is BOS).
TOKEN_CELLS = {
    "attention-view": f"{sel('token-view')} [data-index]",
    "routing-view": f"{sel('token-view')} [data-index]",
    "prediction-view": f"{sel('token-view')} [data-index]",
    "attribution-view": f"{sel('attribution-row-input_x_gradient')} [data-index]",
}
SCATTER_TEXTS = [
    "<img src=x onerror=window.__pwned=1>",
    "<script>window.__pwned=1</script>",
    "</script><style>body{display:none}</style>",
    "left \u202eright to left",
    "zero\u200bwidth\u200djoin\ufeffbom",
    "tab\there bell\x07 nul\x00 esc\x1b",
    "Quarterly revenue rose 12%",
    "Fever may indicate flu",
]
SCATTER_LABELS = [
    "<b>bold label</b>",
    "<img src=y onerror=window.__pwned=2>",
    "\u202eevil label",
    "<style>*{color:red}</style>",
] * 2
SENTINEL = "the cell after the widgets ran"


@pytest.fixture(scope="module")
def hostile_notebook(write_notebook: Callable[[str, list[str]], Path], model_expression: str) -> Path:
    """Every live view (in ``views`` by root testid), a ``scatter`` of hostile texts, then a sentinel cell."""
    return write_notebook(
        "hostile_input",
        [
            f"import json\nimport deepseek_viz as dv\nmodel = {model_expression}",
            "from IPython.display import display\n"
            "from deepseek_viz.widgets import AttentionView\n"
            "from deepseek_viz.widgets.attribution_view import AttributionView\n"
            "from deepseek_viz.widgets.embedding_scatter import EmbeddingScatter\n"
            "from deepseek_viz.widgets.prediction_view import PredictionView\n"
            "from deepseek_viz.widgets.routing_view import RoutingView\n"
            "views = {\n"
            "    'attention-view': AttentionView(model, text='start', layer=0, heads=[0]),\n"
            "    'routing-view': RoutingView(model, text='start'),\n"
            "    'prediction-view': PredictionView(model, text='start', k=3),\n"
            "    'attribution-view': AttributionView(model, 'start', ig_steps=2, deletion_steps=2),\n"
            "}\n"
            f"scatter = EmbeddingScatter(model, {SCATTER_TEXTS!r}, {SCATTER_LABELS!r}, method='pca', progress=False)\n"
            "display(*views.values(), scatter)",
            f"print({SENTINEL!r})",
        ],
    )


@pytest.fixture(scope="module")
def lab_hostile(
    browser: playwright_sync.Browser, jupyter_lab: Server, hostile_notebook: Path
) -> Iterator[PageWatch]:
    """The notebook open in JupyterLab, all cells run, every widget drawn."""
    with notebook_in_lab(browser, jupyter_lab, hostile_notebook, "attention-view") as watch:
        for root in [*TOKEN_CELLS, "embedding-scatter"]:
            watch.page.wait_for_selector(f'{sel(root)}[data-ready="true"]')
        watch.page.wait_for_selector(f"text={SENTINEL}")
        yield watch


def in_view(root: str, testid: str) -> str:
    return f"{sel(root)} {sel(testid)}"


def shown_tokens(page: PageWatch, root: str) -> list[str]:
    """The text of each token cell the view shows, BOS left out."""
    return [
        str(text) for text in page.page.locator(f"{sel(root)} {TOKEN_CELLS[root]}").all_text_contents()[1:]
    ]


def edit(page: PageWatch, root: str, text: str, shown: str | None = None, *, typed: bool = False) -> None:
    """Put ``text`` into ``root``'s text box, key by key (``typed``) or at once, and wait until the view
    is ready and shows ``shown`` (default: ``text``) as its tokens."""
    box = page.page.locator(in_view(root, "text-input"))
    if typed:
        box.press("Control+a")
        box.press_sequentially(text)
    else:
        box.fill(text)
    page.page.wait_for_function(
        """([root, cells, shown]) => {
            const view = document.querySelector(root);
            const tokens = [...view.querySelectorAll(cells)].slice(1).map((cell) => cell.textContent).join("");
            return view.querySelector('[data-testid="status"]').textContent === "ready" && tokens === shown;
        }""",
        arg=[sel(root), TOKEN_CELLS[root], text if shown is None else shown],
    )


def assert_page_unharmed(page: PageWatch) -> None:
    """No script ran, no dialog opened, no page error, and the rest of the notebook still shows."""
    assert page.page.evaluate("() => window.__pwned") is None
    assert page.dialogs == []
    assert page.errors == []
    assert page.page.evaluate("() => getComputedStyle(document.body).display") != "none"
    assert page.page.is_visible(f"text={SENTINEL}")
    assert page.page.is_visible(".jp-NotebookPanel-toolbar")


def test_hostile_text_typed_into_every_view_shows_as_text(lab_hostile: PageWatch) -> None:
    page = lab_hostile.page
    for root in TOKEN_CELLS:
        edit(lab_hostile, root, HOSTILE, typed=root == "attention-view")
        assert "".join(shown_tokens(lab_hostile, root)) == HOSTILE
        # the view's own <style> is its only element that is not the widget's own markup
        injected = page.locator(f"{sel(root)} img, {sel(root)} script, {sel(root)} b")
        assert injected.count() == 0
        assert page.locator(f"{sel(root)} style").count() == 1
    assert (
        kernel_run(lab_hostile, f"print(all(v.text == {HOSTILE!r} for v in views.values()))").strip()
        == "True"
    )
    page.locator(sel("attention-view")).scroll_into_view_if_needed()
    lab_hostile.screenshot("hostile-input-attention-view")
    assert_page_unharmed(lab_hostile)


def test_tooltips_captions_and_legend_show_hostile_text_as_text(lab_hostile: PageWatch) -> None:
    page = lab_hostile.page
    for root in TOKEN_CELLS:
        edit(lab_hostile, root, HOSTILE)
    tokens = shown_tokens(lab_hostile, "attention-view")  # token I is tokens[I - 1]
    # tokens whose label is their text (no whitespace or bidi to make visible) with markup characters
    plain = [
        i + 1
        for i, text in enumerate(tokens)
        if text.isascii() and text.strip() == text and set(text) & set("<>/={}")
    ]

    # attention: the heatmap tooltip near the last query → last key names both tokens
    heatmap = page.locator(in_view("attention-view", "attention-heatmap"))
    heatmap.scroll_into_view_if_needed()
    box = heatmap.bounding_box()
    assert box is not None
    last = 1 - 0.5 / (len(tokens) + 1)  # the middle of the last query's last key (BOS is token 0)
    page.mouse.move(box["x"] + box["width"] * last, box["y"] + box["height"] * last)
    tooltip = page.locator(in_view("attention-view", "heatmap-tooltip"))
    query, key = (tooltip.text_content() or "").rsplit(": ", 1)[0].split(" → ")
    assert query in tokens[-3:] and key == tokens[-1]
    assert tooltip.evaluate("node => node.children.length") == 0

    # attribution: each plain token's tooltip quotes it
    for index in plain[:6]:
        page.hover(in_view("attribution-view", f"attr-input_x_gradient-{index}"))
        tooltip = page.locator(in_view("attribution-view", "attribution-tooltip"))
        assert (tooltip.text_content() or "").startswith(f"“{tokens[index - 1]}” (token {index})")
        assert tooltip.evaluate("node => node.children.length") == 0

    # predictions: the lens's column heads are the tokens, and its tooltip names the position
    heads = page.locator(f"{sel('prediction-view')} [data-testid^='lens-position-']").evaluate_all(
        "heads => heads.map((h) => [Number(h.dataset.testid.slice('lens-position-'.length)), h.textContent])"
    )
    checked = [(index, head) for index, head in heads if index in plain]
    assert checked and all(head == tokens[index - 1] for index, head in checked)
    cell = page.locator(f"{sel('prediction-view')} [data-testid^='lens-0-']").last
    cell.hover()
    lens_tooltip = page.locator(in_view("prediction-view", "lens-tooltip"))
    assert f"after {tokens[-1]}\n" in (lens_tooltip.text_content() or "")

    # routing: a clicked token is named in the experts panel
    page.click(in_view("routing-view", f"token-{plain[0]}"))
    caption = page.locator(f"{in_view('routing-view', 'token-experts')} .dsv-caption")
    caption.wait_for()
    assert caption.text_content() == f"token {plain[0]}: {tokens[plain[0] - 1]}"

    # scatter: legend names and the hovered point's text and label
    names = page.locator(f"{sel('embedding-scatter')} .dsv-legend-name").all_text_contents()
    assert names == SCATTER_LABELS[:4]
    assert page.locator(f"{sel('embedding-scatter')} b, {sel('embedding-scatter')} img").count() == 0
    points = coords(lab_hostile)
    index = loneliest(points)
    page.mouse.move(*screen_position(lab_hostile, points[index]))
    page.wait_for_function(
        "([selector, index]) => document.querySelector(selector)?.dataset.index === String(index)",
        arg=[in_view("embedding-scatter", "scatter-tooltip"), index],
    )
    tip = page.locator(in_view("embedding-scatter", "scatter-tooltip"))
    shown_text = SCATTER_TEXTS[index].replace("\x00", "␀").replace("\x07", "␇").replace("\x1b", "␛")
    assert tip.locator("span").all_text_contents() == [shown_text, SCATTER_LABELS[index]]
    page.mouse.move(0, 0)
    assert_page_unharmed(lab_hostile)


def test_bidi_override_does_not_reorder_the_neighbouring_tokens(lab_hostile: PageWatch) -> None:
    """A token holding U+202E (right-to-left override, never closed) reverses at most itself: each token
    is its own bidi isolate, so the tokens after it stay left to right."""
    page = lab_hostile.page
    edit(lab_hostile, "attention-view", "x \u202eone two")  # short: the tokens share one line
    cells = f"{sel('attention-view')} {TOKEN_CELLS['attention-view']}"
    tops = page.locator(cells).evaluate_all(
        "cells => cells.map((c) => Math.round(c.getBoundingClientRect().top))"
    )
    assert len(set(tops[1:])) == 1
    lefts = "cells => cells.map((c) => c.getBoundingClientRect().left)"
    tokens = shown_tokens(lab_hostile, "attention-view")
    after = 2 + next(i for i, token in enumerate(tokens) if "\u202e" in token)  # BOS, then the override
    positions = page.locator(cells).evaluate_all(lefts)[after:]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    # the same spans without isolation: the override reverses everything after it
    page.locator(cells).evaluate_all("cells => cells.forEach((c) => { c.style.unicodeBidi = 'normal'; })")
    reordered = page.locator(cells).evaluate_all(lefts)[after:]
    assert reordered == sorted(reordered, reverse=True)
    page.locator(cells).evaluate_all("cells => cells.forEach((c) => { c.style.unicodeBidi = ''; })")
    assert_page_unharmed(lab_hostile)


def test_control_characters_show_as_symbols_on_one_line(lab_hostile: PageWatch) -> None:
    """C0 controls (but tab and newline) and DEL show as control pictures (␀ ␇ ␛ ␡ …), not as nothing
    or as line and paragraph breaks; Python gets the characters themselves."""
    page = lab_hostile.page
    controls = (
        "".join(chr(c) for c in range(32) if c not in (9, 10, 13)) + "\x7f"
    )  # a text box turns \r into \n
    text = f"a{controls}b"
    shown = "a" + "".join(chr(0x2400 + ord(c)) for c in controls[:-1]) + "␡b"
    for root in TOKEN_CELLS:
        edit(lab_hostile, root, text, shown)
    assert (
        kernel_run(lab_hostile, f"print(all(v.text == {text!r} for v in views.values()))").strip() == "True"
    )
    tops = page.locator(f"{sel('attention-view')} {TOKEN_CELLS['attention-view']}").evaluate_all(
        "cells => cells.map((c) => Math.round(c.getBoundingClientRect().top))"
    )
    assert len(set(tops[1:])) == 1  # one line after BOS: no control character broke it
    kernel_run(lab_hostile, "views['attention-view'].text = 'carriage\\rreturn'")
    page.wait_for_function(
        "selector => document.querySelector(selector).textContent.endsWith('carriage␍return')",
        arg=in_view("attention-view", "token-view"),
    )
    assert_page_unharmed(lab_hostile)


def test_lone_surrogate_from_the_browser_becomes_a_replacement_character(lab_hostile: PageWatch) -> None:
    """A JS string can hold a lone surrogate, which no tokenizer encodes: Python replaces it with U+FFFD
    and traces that, and the text box takes Python's text."""
    page = lab_hostile.page
    page.evaluate(
        """selector => {
            const box = document.querySelector(selector);
            box.value = "lone \\ud800 surrogate";
            box.dispatchEvent(new Event("input"));
        }""",
        in_view("attention-view", "text-input"),
    )
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector).value === text",
        arg=[in_view("attention-view", "text-input"), "lone \ufffd surrogate"],
    )
    edit(lab_hostile, "attention-view", "lone \ufffd surrogate")
    assert (
        kernel_run(lab_hostile, "print(ascii(views['attention-view'].text))").strip()
        == r"'lone \ufffd surrogate'"
    )
    assert_page_unharmed(lab_hostile)


def test_50000_characters_are_refused_and_the_view_kept(lab_hostile: PageWatch) -> None:
    page = lab_hostile.page
    long_text = "a " * 25_000
    for root in TOKEN_CELLS:
        edit(lab_hostile, root, "kept text")
        started = time.monotonic()
        page.fill(in_view(root, "text-input"), long_text)
        page.wait_for_function(
            "selector => document.querySelector(selector).textContent.startsWith('error:')",
            arg=in_view(root, "status"),
        )
        status = page.text_content(in_view(root, "status")) or ""
        assert re.fullmatch(
            r"error: the text is 2\d{4} tokens long; the limit is 4096\. Shorten it.*", status
        )
        assert time.monotonic() - started < 30
        assert "".join(shown_tokens(lab_hostile, root)) == "kept text"  # the previous view stays
        started = time.monotonic()
        page.evaluate("() => 1")
        assert time.monotonic() - started < 1  # the page answers at once
    edit(lab_hostile, "attention-view", "short again", typed=True)
    assert_page_unharmed(lab_hostile)
