"""Click-to-ablate in a Dashboard in JupyterLab (the bundled model), light and dark: alt-click a head →
the predictions show the original run against the intervened one and the list names the head; clearing
it brings back exactly the original predictions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    PageWatch,
    Server,
    click_head,
    kernel_run,
    notebook_in_lab,
    playwright_sync,
    sel,
    set_theme,
)

pytestmark = pytest.mark.browser

TEXT = "Fever and a cough may indicate flu."
TEXTS = ["Fever may indicate flu.", "Net income fell 8% as costs climbed."]


@pytest.fixture(scope="module")
def lab_board(
    browser: playwright_sync.Browser, jupyter_lab: Server, write_notebook: Callable[[str, list[str]], Path]
) -> Iterator[PageWatch]:
    notebook = write_notebook(
        "interventions_dashboard",
        [
            'import deepseek_viz as dv\nmodel = dv.load_model(device="cpu")',
            f"board = dv.Dashboard(model, {TEXTS!r}, ['medical', 'finance'], text={TEXT!r}, layer=1)\nboard",
        ],
    )
    with notebook_in_lab(browser, jupyter_lab, notebook, "text-box") as watch:
        for testid in ("attention-view", "routing-view", "prediction-view"):
            watch.page.wait_for_selector(f'{sel(testid)}[data-ready="true"]')
        yield watch


def text_of(page: PageWatch, scope: str, testid: str) -> str:
    return page.page.locator(f"{sel(scope)} {sel(testid)}").first.inner_text()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_alt_click_a_head_shows_before_and_after_and_clearing_restores(
    lab_board: PageWatch, dark: bool
) -> None:
    page = lab_board.page
    kernel_run(lab_board, "board.interventions.clear()")
    set_theme(lab_board, dark)
    predictions = sel("prediction-view")
    page.wait_for_selector(f"{predictions} {sel('prediction-change')}", state="hidden")
    original = text_of(lab_board, "prediction-view", "predictions")
    version = int(page.get_attribute(predictions, "data-version") or 0)

    click_head(lab_board, 1, 0, modifiers=("Alt",), scope=sel("attention-view"))
    page.wait_for_function(
        "([selector, than]) => Number(document.querySelector(selector)?.dataset.version ?? 0) > than",
        arg=[predictions, version],
    )
    main = page.locator(f"{predictions} {sel('change-main')}")
    main.wait_for()
    assert "→" in main.inner_text() and "(" in main.inner_text()
    # the kernel's state is the one the views run under; every view lists it
    assert (
        kernel_run(lab_board, "print(board.interventions.describe()[0]['label'])").strip() == "L1 head 0 off"
    )
    for view in ("attention-view", "routing-view", "prediction-view"):
        page.wait_for_selector(f"{sel(view)} {sel('intervention-0')}")
        assert "L1 head 0 off" in text_of(lab_board, view, "intervention-0")
    mark = page.locator(f"{sel('attention-view')} {sel('head-1-0')}")
    assert "dsv-ablated" in (mark.get_attribute("class") or "")
    assert kernel_run(lab_board, "print(board.status)").strip() == "ready"
    # legible in the theme: the text is light on dark, dark on light
    ink = main.evaluate("node => getComputedStyle(node).color.match(/\\d+/g).slice(0, 3).map(Number)")
    assert (sum(ink) > 384) == dark, ink
    theme = "dark" if dark else "light"
    lab_board.screenshot(f"interventions-dashboard-{theme}")
    page.locator(predictions).screenshot(path=str(ARTIFACTS / f"interventions-predictions-{theme}.png"))

    # "clear all" in the routing view puts it back everywhere: the original predictions exactly
    page.locator(f"{sel('routing-view')} {sel('interventions-clear')}").click()
    page.wait_for_selector(f"{predictions} {sel('prediction-change')}", state="hidden")
    page.wait_for_selector(f"{sel('attention-view')} {sel('intervention-0')}", state="detached")
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.innerText === text",
        arg=[f"{predictions} {sel('predictions')}", original],
    )
    ablated = page.locator(f"{sel('attention-view')} .dsv-mark.dsv-ablated")
    assert ablated.count() == 0
    assert kernel_run(lab_board, "print(len(board.interventions))").strip() == "0"

    # alt-click an expert's bar in the routing view: off in every view; the × in the predictions' list undoes it
    routing = sel("routing-view")
    bar = page.locator(f"{routing} {sel('expert-1-0')}")
    bar.click(modifiers=["Alt"])
    page.wait_for_function(
        "selector => document.querySelector(selector)?.classList.contains('dsv-ablated')",
        arg=f"{routing} {sel('expert-1-0')}",
    )
    page.wait_for_selector(f"{predictions} {sel('intervention-0')}")
    assert "L1 expert 0 off" in text_of(lab_board, "prediction-view", "intervention-0")
    page.locator(f"{routing}").screenshot(path=str(ARTIFACTS / f"interventions-routing-{theme}.png"))
    page.locator(f"{predictions} {sel('intervention-remove-0')}").click()
    page.wait_for_selector(f"{routing} {sel('intervention-0')}", state="detached")
    assert "dsv-ablated" not in (bar.get_attribute("class") or "")
    assert lab_board.errors == [] and lab_board.dialogs == []
