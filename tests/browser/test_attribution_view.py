"""AttributionView in Chromium, against a live JupyterLab kernel.

The tests share one notebook and widget (module fixture ``lab_attribution``); each sets the text it
needs, so their order does not matter. Sample counts are tiny: the model is a random toy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.browser.conftest import (
    HTML_TEXT,
    PageWatch,
    contrast_failures,
    kernel_run,
    sel,
    set_theme,
    version,
    wait_for_newer,
    wait_for_status,
)

pytestmark = pytest.mark.browser

ROOT = "attribution-view"
GRADIENTS = ("input_x_gradient", "integrated_gradients")


@pytest.fixture(scope="module")
def lab_attribution(
    view_in_lab: Callable[[str, str, str], AbstractContextManager[PageWatch]],
) -> Iterator[PageWatch]:
    """A notebook showing one AttributionView (variable ``view``) with tiny sample counts."""
    with view_in_lab(
        "attribution",
        (
            "from deepseek_viz.widgets.attribution_view import AttributionView\n"
            'view = AttributionView(model, "Fever may indicate flu.", ig_steps=4, lime_samples=16, deletion_steps=3)\n'
            "view"
        ),
        ROOT,
    ) as watch:
        yield watch


def type_text(page: PageWatch, text: str) -> None:
    """Replace the text as a user would, and wait until the view redrew it."""
    before = version(page, ROOT)
    page.page.fill(sel("text-input"), text)
    wait_for_newer(page, ROOT, before)
    assert wait_for_status(page, "ready") == "ready"


def row_methods(page: PageWatch) -> list[str]:
    ids = page.page.eval_on_selector_all(
        '[data-testid^="attribution-row-"]', "rows => rows.map(r => r.dataset.testid)"
    )
    return [str(name).removeprefix("attribution-row-") for name in ids]


def test_one_aligned_row_per_method(lab_attribution: PageWatch) -> None:
    page = lab_attribution.page
    type_text(lab_attribution, "Fever may indicate a flu.")
    assert row_methods(lab_attribution) == list(GRADIENTS)
    count = page.locator(f"{sel('attribution-row-integrated_gradients')} [data-index]").count()
    assert (
        count > 4 and page.locator(f"{sel('attribution-row-input_x_gradient')} [data-index]").count() == count
    )
    for index in (1, count - 1):  # the same token sits in the same column of every row
        boxes = [page.locator(sel(f"attr-{method}-{index}")).bounding_box() for method in GRADIENTS]
        assert boxes[0] is not None and boxes[1] is not None
        assert boxes[0]["x"] == pytest.approx(boxes[1]["x"], abs=0.5)
        assert boxes[0]["width"] == pytest.approx(boxes[1]["width"], abs=0.5)
        assert boxes[1]["y"] > boxes[0]["y"]
    assert "top next token" in (page.text_content(sel("attribution-caption")) or "")
    assert page.is_visible(sel("attribution-legend"))
    assert page.is_visible(sel("faithfulness-integrated_gradients"))
    assert lab_attribution.errors == []


def test_hover_shows_the_score(lab_attribution: PageWatch) -> None:
    page = lab_attribution.page
    type_text(lab_attribution, "one two three")
    page.hover(sel("attr-integrated_gradients-2"))
    tooltip = page.locator(sel("attribution-tooltip"))
    tooltip.wait_for(state="visible")
    text = tooltip.text_content() or ""
    assert "(token 2)" in text and "integrated gradients: " in text
    value = text.rsplit(": ", 1)[1].replace("−", "-")
    expected = kernel_run(lab_attribution, "print(view.explanation.scores['integrated_gradients'][2])")
    assert float(value) == pytest.approx(float(expected), rel=0.01, abs=1e-6)


def test_editing_updates_the_rows(lab_attribution: PageWatch) -> None:
    page = lab_attribution.page
    type_text(lab_attribution, "short")
    before = version(lab_attribution, ROOT)
    cells = page.locator(f"{sel('attribution-row-input_x_gradient')} [data-index]").count()
    type_text(lab_attribution, "The heart attack risk rose 12%.")
    assert version(lab_attribution, ROOT) > before
    assert page.locator(f"{sel('attribution-row-input_x_gradient')} [data-index]").count() > cells
    assert kernel_run(lab_attribution, "print(view.text)").strip() == "The heart attack risk rose 12%."


def test_run_sampling_adds_shap_and_lime_rows(lab_attribution: PageWatch) -> None:
    page = lab_attribution.page
    type_text(lab_attribution, "risk rose")
    assert row_methods(lab_attribution) == list(GRADIENTS)
    before = version(lab_attribution, ROOT)
    page.click(sel("run-sampling"))
    wait_for_newer(lab_attribution, ROOT, before)
    assert row_methods(lab_attribution) == [*GRADIENTS, "shap", "lime"]
    assert wait_for_status(lab_attribution, "ready") == "ready"
    assert "SHAP additivity gap" in (page.text_content(sel("faithfulness")) or "")
    assert page.is_disabled(sel("run-sampling"))
    page.hover(sel("attr-shap-1"))
    lab_attribution.screenshot("attribution-view")
    printed = kernel_run(lab_attribution, "print(view.explanation.methods)")
    assert "'shap', 'lime'" in printed
    type_text(lab_attribution, "risk fell")  # a new text drops the sampling rows
    assert row_methods(lab_attribution) == list(GRADIENTS)


def test_target_set_from_python(lab_attribution: PageWatch) -> None:
    page = lab_attribution.page
    type_text(lab_attribution, "The risk")
    before = version(lab_attribution, ROOT)
    kernel_run(lab_attribution, 'view.target = dv.Continuation(" rose")')
    wait_for_newer(lab_attribution, ROOT, before)
    assert "' rose'" in (page.text_content(sel("attribution-caption")) or "")
    kernel_run(lab_attribution, "view.target = None")


def test_html_empty_and_over_long_text(lab_attribution: PageWatch) -> None:
    page = lab_attribution.page
    type_text(lab_attribution, HTML_TEXT)
    row = sel("attribution-row-input_x_gradient")
    assert "".join(page.locator(f"{row} [data-index]").all_text_contents()).endswith(HTML_TEXT)
    assert page.locator(f"{sel(ROOT)} img, {sel(ROOT)} b, {sel(ROOT)} script").count() == 0
    assert lab_attribution.dialogs == []
    page.fill(sel("text-input"), "")
    page.wait_for_selector(f"{sel('empty-state')}:visible")
    assert page.locator(row).count() == 0
    type_text(lab_attribution, "back again")
    shown = page.inner_text(row)
    page.fill(sel("text-input"), " ".join(["a"] * 5000))
    assert "tokens long; the limit is" in wait_for_status(lab_attribution, "error:")
    assert page.inner_text(row) == shown  # the previous rows stay


def test_sampling_out_of_memory_is_shown_beside_the_button(lab_attribution: PageWatch) -> None:
    page = lab_attribution.page
    type_text(lab_attribution, "risk rose again")
    kernel_run(
        lab_attribution,
        "from deepseek_viz.analysis.attribution.scoring import Scorer\n"
        "_score_keep = Scorer.score_keep\n"
        "def _out_of_memory(self, keep):\n"
        "    raise dv.TraceOutOfMemoryError('the device ran out of memory (simulated)')\n"
        "Scorer.score_keep = _out_of_memory\n",
    )
    try:
        page.click(sel("run-sampling"))
        error = page.locator(sel("sampling-error"))
        error.wait_for(state="visible")
    finally:
        kernel_run(lab_attribution, "Scorer.score_keep = _score_keep")
    assert error.text_content() == "error: the device ran out of memory (simulated)"
    button = page.locator(sel("run-sampling"))
    assert button.is_enabled() and button.text_content() == "Run SHAP, LIME"  # no longer "running…"
    button_box, error_box = button.bounding_box(), error.bounding_box()
    assert button_box is not None and error_box is not None
    assert error_box["x"] >= button_box["x"] + button_box["width"]  # beside it, on its row
    assert (
        error_box["y"] < button_box["y"] + button_box["height"]
        and button_box["y"] < error_box["y"] + error_box["height"]
    )
    assert row_methods(lab_attribution) == list(GRADIENTS)  # the rows shown stay
    lab_attribution.screenshot("attribution-sampling-error")
    before = version(lab_attribution, ROOT)
    button.click()  # usable again: this run works
    wait_for_newer(lab_attribution, ROOT, before)
    assert row_methods(lab_attribution) == [*GRADIENTS, "shap", "lime"]
    assert error.is_hidden()
    assert lab_attribution.errors == []


THEMES = [pytest.param(False, id="light"), pytest.param(True, id="dark")]


def theme_name(dark: bool) -> str:
    return "dark" if dark else "light"


def kernel_scores(page: PageWatch) -> str:
    return kernel_run(
        page, "print(view.explanation.methods, view.explanation.score_matrix().tolist())"
    ).strip()


@pytest.mark.parametrize("dark", THEMES)
def test_a_shap_run_shows_progress_and_cancel_keeps_the_rows(lab_attribution: PageWatch, dark: bool) -> None:
    page = lab_attribution.page
    set_theme(lab_attribution, dark)
    try:
        type_text(lab_attribution, f"Fever may indicate a flu ({theme_name(dark)}).")  # new text each time
        rows_before, scores_before = row_methods(lab_attribution), kernel_scores(lab_attribution)
        table_before = page.text_content(sel("faithfulness"))
        kernel_run(lab_attribution, "view._settings['shap_max_evals'] = 400_000")  # a run that lasts
        try:
            page.click(sel("run-sampling"))
            bar = page.locator(sel("sampling-progress"))
            bar.wait_for(state="visible")
            assert "computing: SHAP" in wait_for_status(lab_attribution, "computing: SHAP ")
            page.wait_for_function(
                "s => Number(document.querySelector(s)?.getAttribute('aria-valuenow')) > 0",
                arg=sel("sampling-progress"),
            )
            first = int(bar.get_attribute("aria-valuenow") or 0)
            page.wait_for_function(  # it advances
                "([s, first]) => Number(document.querySelector(s)?.getAttribute('aria-valuenow')) > first",
                arg=[sel("sampling-progress"), first],
            )
            assert bar.get_attribute("role") == "progressbar"
            assert int(bar.get_attribute("aria-valuemax") or 0) > first
            label = page.text_content(sel("sampling-progress-label")) or ""
            assert label.startswith("SHAP ") and label.endswith(" evaluations")
            assert page.is_disabled(sel("run-sampling"))
            assert contrast_failures(lab_attribution, sel(ROOT)) == []
            lab_attribution.screenshot(f"attribution-running-{theme_name(dark)}")
            page.focus(sel("cancel-sampling"))  # the keyboard reaches Cancel
            started = time.monotonic()
            page.keyboard.press("Enter")
            page.locator(sel("sampling-note")).wait_for(state="visible")
            assert kernel_run(lab_attribution, "print(view.status)").strip() == "ready"
            assert time.monotonic() - started < 3  # the kernel answered at once
            assert kernel_run(lab_attribution, "print(view.wait_sampling(2))").strip() == "True"  # stopped
        finally:
            kernel_run(lab_attribution, "view._settings.pop('shap_max_evals', None); view.cancel_sampling()")
        assert page.text_content(sel("sampling-note")) == "SHAP, LIME run cancelled"
        assert wait_for_status(lab_attribution, "ready") == "ready"
        assert bar.is_hidden() and page.is_enabled(sel("run-sampling"))
        # the previous rows and faithfulness table stay: same methods, same scores
        assert row_methods(lab_attribution) == rows_before == list(GRADIENTS)
        assert kernel_scores(lab_attribution) == scores_before
        assert page.text_content(sel("faithfulness")) == table_before
        before = version(lab_attribution, ROOT)
        page.click(sel("run-sampling"))  # a full run afterwards still adds the rows
        wait_for_newer(lab_attribution, ROOT, before)
        assert row_methods(lab_attribution) == [*GRADIENTS, "shap", "lime"]
        assert wait_for_status(lab_attribution, "ready") == "ready"
        assert page.is_hidden(sel("sampling-note"))
        faithfulness = page.text_content(sel("faithfulness")) or ""
        assert "of the change" in faithfulness and "0 (additive)" in faithfulness
        assert contrast_failures(lab_attribution, sel(ROOT)) == []
        lab_attribution.screenshot(f"attribution-{theme_name(dark)}")
        assert lab_attribution.errors == []
    finally:
        set_theme(lab_attribution, False)


def test_the_target_choice_changes_what_is_explained(lab_attribution: PageWatch) -> None:
    page = lab_attribution.page
    type_text(lab_attribution, "The risk")
    choice = page.locator(sel("target-choice"))
    assert choice.input_value() == "next"
    token, text = (
        kernel_run(lab_attribution, "print(*view._candidates[1][:2], sep='\\x00')").rstrip("\n").split("\x00")
    )
    options = choice.locator("option").all_text_contents()
    assert options[0] == "the model's next token" and options[-1] == "a continuation…"
    assert len(options) == 7 and f"“{text}”" in options[2]
    before = version(lab_attribution, ROOT)
    choice.focus()
    choice.select_option(f"token:{token}")
    wait_for_newer(lab_attribution, ROOT, before)
    assert (
        kernel_run(lab_attribution, "print(view.target)").strip()
        == f"NextToken(token={token}, score='logprob')"
    )
    assert repr(text) in (page.text_content(sel("attribution-caption")) or "")
    before = version(lab_attribution, ROOT)
    choice.select_option("continuation")
    box = page.locator(sel("target-continuation"))
    assert (
        box.is_visible()
        and page.evaluate("() => document.activeElement?.dataset.testid") == "target-continuation"
    )
    box.fill(" rose")
    box.press("Enter")
    wait_for_newer(lab_attribution, ROOT, before)
    assert "' rose'" in (page.text_content(sel("attribution-caption")) or "")
    assert kernel_run(lab_attribution, "print(view.target)").strip() == "Continuation(text=' rose')"
    assert choice.input_value() == "continuation"
    before = version(lab_attribution, ROOT)
    choice.select_option("next")
    wait_for_newer(lab_attribution, ROOT, before)
    assert "top next token" in (page.text_content(sel("attribution-caption")) or "")
    assert kernel_run(lab_attribution, "print(view.target)").strip() == "None"


def test_the_faithfulness_table_explains_itself(lab_attribution: PageWatch) -> None:
    page = lab_attribution.page
    type_text(lab_attribution, "Fever may indicate a flu, or a cold.")
    key = " ".join(page.locator(sel("faithfulness-key")).all_text_contents())
    assert "Completeness gap = Σ scores − (f(x) − f(baseline))" in key
    assert "Integrated gradients promise ≈ 0" in key and "too few ig_steps" in key
    assert "Deletion AUC" in key and "lower = more faithful" in key
    row = page.text_content(sel("faithfulness-integrated_gradients")) or ""
    assert "of the change" in row and "≈ 0" in row
    assert "none" in (page.text_content(sel("faithfulness-input_x_gradient")) or "")
