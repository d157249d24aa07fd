"""PredictionView in Chromium against a live JupyterLab kernel: the logit-lens grid, hover, scrolling for
more positions, at the tiny model and at DeepSeek-V3's counts (62 lens rows), light and dark."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.browser.conftest import (
    HTML_TEXT,
    PageWatch,
    contrast_failures,
    kernel_run,
    kernel_value,
    sel,
    set_theme,
    v3_view_in_lab,
    version,
    wait_for_newer,
    wait_for_status,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab_predictions(
    view_in_lab: Callable[[str, str, str], AbstractContextManager[PageWatch]],
) -> Iterator[PageWatch]:
    """A notebook showing one PredictionView (variable ``view``)."""
    with view_in_lab(
        "predictions",
        (
            "from deepseek_viz.widgets.prediction_view import PredictionView\n"
            "view = PredictionView(model, text='Fever may indicate flu.', k=3)\nview"
        ),
        "prediction-view",
    ) as watch:
        yield watch


def test_logit_lens_grid_draws_and_hover_shows_predictions(lab_predictions: PageWatch) -> None:
    page = lab_predictions.page
    assert page.text_content(sel("status")) == "ready"
    rows = page.locator(f"{sel('logit-lens')} tr").count()
    assert rows == 1 + 4  # header + embeddings and 3 layers of the tiny model
    cell = page.locator('[data-testid="lens-3-2"]')
    assert cell.evaluate("n => n.style.background").startswith("rgb")
    cell.hover()
    page.wait_for_selector(f"{sel('lens-tooltip')}:visible")
    tooltip = page.text_content(sel("lens-tooltip")) or ""
    assert tooltip.startswith("L2 (out)") and "1. " in tooltip and "3. " in tooltip and "%" in tooltip
    assert (cell.locator(".dsv-ll-p").text_content() or "").endswith("%")
    page.hover(sel("token-2"))
    assert (page.text_content(sel("predictions")) or "").startswith("after 2:")
    lab_predictions.screenshot("prediction-view")
    assert lab_predictions.errors == []


def test_editing_updates_the_lens_and_shows_html_as_text(lab_predictions: PageWatch) -> None:
    page = lab_predictions.page
    before = version(lab_predictions, "logit-lens")
    page.fill(sel("text-input"), HTML_TEXT)
    wait_for_newer(lab_predictions, "logit-lens", before)
    assert wait_for_status(lab_predictions, "ready") == "ready"
    assert page.inner_text(sel("token-view")).endswith(HTML_TEXT)
    assert page.locator(f"{sel('prediction-view')} img").count() == 0
    assert lab_predictions.dialogs == []


#: CJK and an emoji (byte-level pieces) before a text of Latin words: over 40 positions.
CJK_TEXT = "東京は日本の首都です 😀 Fever may indicate flu; chest pain can be a sign."

#: The scroller's box and the bottom of its last row, in page coordinates.
SCROLLER_BOX = """n => {
  const box = n.getBoundingClientRect();
  const rows = n.querySelectorAll("tr");
  const last = rows[rows.length - 1].getBoundingClientRect();
  return { bottom: box.bottom, lastRowBottom: last.bottom, clientHeight: n.clientHeight,
           scrollHeight: n.scrollHeight, left: box.left, right: box.left + n.clientWidth };
}"""

#: What each lens cell in view shows: its token and probability elements' texts and boxes.
CELLS = """root => [...root.querySelectorAll("td[data-row]:not(.dsv-pending)")].map((cell) => {
  const [tok, prob] = [cell.querySelector(".dsv-ll-tok"), cell.querySelector(".dsv-ll-p")];
  const [t, p, c] = [tok, prob, cell].map((n) => n.getBoundingClientRect());
  return { tok: tok.textContent, prob: prob.textContent, fontSize: parseFloat(getComputedStyle(cell).fontSize),
           probFits: prob.scrollWidth <= prob.clientWidth,
           apart: t.bottom <= p.top + 0.5, inside: p.bottom <= c.bottom + 0.5 && t.top >= c.top - 0.5 };
})"""


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_lens_reads_at_1024_px_and_a_click_or_key_selects(lab_predictions: PageWatch, dark: bool) -> None:
    page = lab_predictions.page
    page.set_viewport_size({"width": 1024, "height": 900})
    try:
        set_theme(lab_predictions, dark)
        if not page.evaluate("() => window.jupyterapp.shell.leftCollapsed"):
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
        before = version(lab_predictions, "logit-lens")
        kernel_run(lab_predictions, f"view.selected_token = -1\nview.text = {CJK_TEXT!r}")
        wait_for_newer(lab_predictions, "logit-lens", before)
        assert wait_for_status(lab_predictions, "ready") == "ready"
        n = int(kernel_run(lab_predictions, "print(len(view._tokens))").strip())
        assert n > 40
        page.eval_on_selector(
            sel("lens-scroll"), "n => { n.scrollLeft = 0; n.dispatchEvent(new Event('scroll')); }"
        )
        page.wait_for_selector('[data-testid="lens-3-0"]')

        # the corner names both axes in full; the column heads show position and token, full on hover
        corner = page.eval_on_selector(
            sel("lens-corner"),
            "n => [...n.children].map((s) => [s.textContent, s.scrollWidth <= s.clientWidth])",
        )
        assert corner == [["position →", True], ["token →", True], ["layer ↓", True]]
        head = page.locator(sel("lens-position-5"))
        assert (head.get_attribute("title") or "").startswith("position 5: ")
        assert head.evaluate("n => getComputedStyle(n, '::before').content") == '"5"'  # the number above

        # at least 20 positions fully in view before scrolling, at a readable size
        box = page.eval_on_selector(sel("lens-scroll"), SCROLLER_BOX)
        heads = page.eval_on_selector_all(
            '[data-testid^="lens-position-"]',
            "ns => ns.map((n) => n.getBoundingClientRect()).map((r) => [r.left, r.right])",
        )
        name_w = page.eval_on_selector(sel("lens-corner"), "n => n.getBoundingClientRect().width")
        in_view = [h for h in heads if h[0] >= box["left"] + name_w - 1 and h[1] <= box["right"] + 1]
        assert len(in_view) >= 20, (len(in_view), box)

        # each cell: the token above, its probability (a percentage) in an element of its own, ≥ 10 px
        cells = page.eval_on_selector(sel("logit-lens"), CELLS)
        assert len(cells) >= 4 * 20
        assert all(c["apart"] and c["inside"] and c["fontSize"] >= 10 for c in cells), cells[:3]
        assert all(re.fullmatch(r"[0-9.e-]+%", c["prob"]) and c["probFits"] for c in cells), cells[:3]
        assert all(c["prob"] not in ("0%", "100%") for c in cells)  # the tiny model is never that sure
        # byte pieces of 東京… and 😀 show as bytes, never as "�"; the text's own tokens read as characters
        shown = page.text_content(sel("prediction-view")) or ""
        assert "\ufffd" not in shown
        assert page.text_content('[data-testid="lens-position-1"] .dsv-ll-head') == "東"

        # the horizontal scrollbar sits directly under the grid
        assert 0 <= box["bottom"] - box["lastRowBottom"] <= 30, box
        assert page.is_visible(sel("lens-legend"))
        assert (page.text_content(sel("lens-legend")) or "") == "top-1 probability0%50%100%"
        assert contrast_failures(lab_predictions, sel("prediction-view")) == []

        # a click on a cell selects its position (the kernel sees it) and marks the column
        page.click('[data-testid="lens-2-4"]')
        assert kernel_value(lab_predictions, "view.selected_token", "4") == "4"
        assert "dsv-on" in (page.get_attribute(sel("lens-position-4"), "class") or "")
        assert "dsv-ll-col" in (page.get_attribute('[data-testid="lens-0-4"]', "class") or "")
        # the keyboard: the clicked cell has focus; an arrow moves it, Enter selects
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")
        assert kernel_value(lab_predictions, "view.selected_token", "5") == "5"
        focused = page.evaluate("() => document.activeElement.dataset.testid")
        assert focused == "lens-2-5"
        page.hover('[data-testid="lens-3-5"]')
        page.wait_for_selector(f"{sel('lens-tooltip')}:visible")
        # the full list of candidates, within the view (the notebook would cut what runs past it)
        assert (page.text_content(sel("lens-tooltip")) or "").count("\n") == 3
        tip = page.eval_on_selector(sel("lens-tooltip"), "n => n.getBoundingClientRect().bottom")
        assert (
            tip <= page.eval_on_selector(sel("prediction-view"), "n => n.getBoundingClientRect().bottom") + 1
        )
        lab_predictions.screenshot(f"predictions-{'dark' if dark else 'light'}")
        assert contrast_failures(lab_predictions, sel("prediction-view")) == []
        assert lab_predictions.errors == []
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})
        set_theme(lab_predictions, False)


@pytest.fixture(scope="module")
def lab_v3(
    browser: object,
    jupyter_lab: object,
    write_notebook: Callable[[str, list[str]], Path],
    real_count_checkpoints: dict[str, Path],
) -> Iterator[PageWatch]:
    """A PredictionView of a model with DeepSeek-V3's counts, on a text of about 128 tokens."""
    with v3_view_in_lab(
        browser,
        jupyter_lab,
        write_notebook,
        real_count_checkpoints["v3"],
        "PredictionView",
        "prediction-view",
    ) as watch:
        yield watch


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_v3_counts_lens_scrolls_inside_and_fetches_more_columns(lab_v3: PageWatch, dark: bool) -> None:
    page = lab_v3.page
    set_theme(lab_v3, dark)
    kernel_run(lab_v3, "view.selected_token = -1")  # the other theme's run selected a position
    assert page.text_content(sel("status")) == "ready"
    assert page.locator('[data-testid^="lens-row-"]').count() == 62
    n = int(kernel_run(lab_v3, "print(len(view._tokens))").strip())
    start = int(kernel_run(lab_v3, "print(view._lens_start)").strip())
    assert n > 64 and start > 0
    # the scroller stays within the view; the grid is wider and taller (it scrolls inside)
    dims = page.eval_on_selector(
        sel("lens-scroll"),
        "n => [n.getBoundingClientRect().right, n.scrollWidth, n.clientWidth, n.scrollHeight, n.clientHeight]",
    )
    view_right = page.eval_on_selector(sel("prediction-view"), "n => n.getBoundingClientRect().right")
    assert dims[0] <= view_right + 1 and dims[1] > dims[2] and dims[3] > dims[4]
    # scroll to the start: the first columns are fetched with the command and drawn
    page.eval_on_selector(
        sel("lens-scroll"), "n => { n.scrollLeft = 0; n.dispatchEvent(new Event('scroll')); }"
    )
    page.wait_for_selector('[data-testid="lens-61-0"]')
    assert (page.locator('[data-testid="lens-61-0"] .dsv-ll-p').text_content() or "").endswith("%")
    page.hover('[data-testid="lens-61-1"]')
    page.wait_for_selector(f"{sel('lens-tooltip')}:visible")
    assert (page.text_content(sel("lens-tooltip")) or "").startswith("L60 (out), after ")
    page.click('[data-testid="lens-10-2"]')
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"lens-position-2\"]').classList.contains('dsv-on')"
    )
    assert kernel_run(lab_v3, "print(view.selected_token, view._predictions_at)").strip() == "2 2"
    # the grid's scrollbar sits at the bottom of the bounded panel, directly under the rows in view
    box = page.eval_on_selector(sel("lens-scroll"), SCROLLER_BOX)
    assert box["clientHeight"] <= 480 and box["scrollHeight"] > box["clientHeight"], box
    assert page.is_visible(sel("lens-legend"))
    assert contrast_failures(lab_v3, sel("prediction-view")) == []
    page.eval_on_selector(sel("prediction-view"), "n => n.scrollIntoView({ block: 'start' })")
    lab_v3.screenshot(f"lens-v3-{'dark' if dark else 'light'}")
    assert lab_v3.errors == []
