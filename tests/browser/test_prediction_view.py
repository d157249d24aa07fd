"""PredictionView in Chromium against a live JupyterLab kernel: the logit-lens grid and hover."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.browser.conftest import (
    HTML_TEXT,
    PageWatch,
    sel,
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
    assert tooltip.startswith("L2 (out)") and "1. " in tooltip and "3. " in tooltip
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
