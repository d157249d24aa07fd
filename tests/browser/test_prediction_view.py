"""PredictionView in Chromium against a live JupyterLab kernel: the logit-lens grid, hover, scrolling for
more positions, at the tiny model and at DeepSeek-V3's counts (62 lens rows), light and dark."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.browser.conftest import (
    HTML_TEXT,
    PageWatch,
    kernel_run,
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
    assert (cell.locator("small").text_content() or "").endswith("%")
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
    assert (page.locator('[data-testid="lens-61-0"] small').text_content() or "").endswith("%")
    page.hover('[data-testid="lens-61-1"]')
    page.wait_for_selector(f"{sel('lens-tooltip')}:visible")
    assert (page.text_content(sel("lens-tooltip")) or "").startswith("L60 (out), after ")
    page.click('[data-testid="lens-10-2"]')
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"lens-position-2\"]').classList.contains('dsv-on')"
    )
    assert kernel_run(lab_v3, "print(view.selected_token, view._predictions_at)").strip() == "2 2"
    lab_v3.screenshot(f"prediction-view-v3-{'dark' if dark else 'light'}")
    assert lab_v3.errors == []
