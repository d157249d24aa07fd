"""dv.Dashboard(generate=True) in JupyterLab, light and dark: Generate writes in the generation panel,
every view then shows the text the model wrote, and a generated token clicked there is selected in the
attention, routing and prediction views and explained by the attributions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    PageWatch,
    kernel_run,
    kernel_value,
    notebook_in_lab,
    playwright_sync,
    sel,
    set_theme,
)

pytestmark = pytest.mark.browser

PROMPT = "Fever may indicate"


@pytest.fixture(scope="module")
def lab_board(
    browser: playwright_sync.Browser, jupyter_lab: object, write_notebook: Callable[[str, list[str]], Path]
) -> Iterator[PageWatch]:
    notebook = write_notebook(
        "dashboard_generation",
        [
            "import deepseek_viz as dv\nmodel = dv.load_model()",
            f"board = dv.Dashboard(model, ['Fever may indicate flu.', 'Net income fell 8%.'], ['medical', 'finance'],"
            f" text={PROMPT!r}, generate=True, max_new_tokens=16)\nboard",
        ],
    )
    with notebook_in_lab(browser, jupyter_lab, notebook, "generation-view") as watch:  # type: ignore[arg-type]
        for view in ("attention-view", "routing-view", "prediction-view", "attribution-view"):
            watch.page.wait_for_selector(f'{sel(view)}[data-ready="true"]')
        yield watch


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_views_follow_what_the_model_wrote(lab_board: PageWatch, dark: bool) -> None:
    page = lab_board.page
    set_theme(lab_board, dark)
    kernel_run(lab_board, "board.text = 'Fever may indicate'")
    page.click(sel("generate-button"))
    done = "not board.generation.generating and board.generation.trace is not None and board.text == board.generation.trace.text"
    assert kernel_value(lab_board, done, "True", attempts=600) == "True"
    n = int(kernel_run(lab_board, "print(len(board.generation.trace.tokens))"))
    assert kernel_run(lab_board, "print(len(board.attention.trace.tokens))").strip() == str(n)
    target = n - 2  # a generated token
    page.wait_for_selector(f"{sel('generation-view')} {sel(f'token-{target}')}")
    page.click(f"{sel('generation-view')} {sel(f'token-{target}')}")
    for view in ("attention-view", "routing-view", "prediction-view"):
        page.wait_for_selector(f"{sel(view)} [data-index='{target}'].dsv-selected")
    explained = kernel_value(
        lab_board,
        "board.attribution.target.token == board.generation.trace.tokens[board.generation.selected_token].id",
        "True",
    )
    assert explained == "True"
    lab_board.screenshot(f"dashboard-generation-{'dark' if dark else 'light'}")
    set_theme(lab_board, False)
    assert lab_board.errors == []
