"""dv.Dashboard in Chromium: JupyterLab 4, Notebook 7 and Voila draw every view; one edit in the box
updates every view; a click on a map point, or on a token, reaches every view."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    WIDGET_TIMEOUT_MS,
    PageWatch,
    Server,
    kernel_run,
    notebook_in_lab,
    open_page,
    playwright_sync,
    sel,
    version,
    wait_for_newer,
    wait_for_status,
)
from tests.browser.test_standalone_export import open_offline

pytestmark = pytest.mark.browser

VIEWS = (
    "text-box",
    "attention-view",
    "routing-view",
    "prediction-view",
    "attribution-view",
    "embedding-scatter",
)
FIRST_TEXT = "Quarterly revenue rose 12% to $4.2 billion."
TEXTS = [
    "Fever may indicate flu.",
    "Net income fell 8% as costs climbed.",
    "Heavy rain tomorrow.",
    "咳嗽可能是流感。",
]
LABELS = ["medical", "finance", "weather", "medical"]
#: Errors Notebook 7.6 itself throws on these pages (a plain IntSlider gives them too), now and then.
NOTEBOOK7_OWN_ERRORS = {
    "Cannot read properties of undefined (reading 'schema')",
    "Command 'filebrowser:open-path' not registered.",
}


@pytest.fixture(scope="module")
def dashboard_notebook(write_notebook: Callable[[str, list[str]], Path], model_expression: str) -> Path:
    """A notebook that shows ``board = dv.Dashboard(...)`` on the test model, over four texts."""
    return write_notebook(
        "dashboard",
        [
            f"import json\nimport deepseek_viz as dv\nmodel = {model_expression}",
            f"board = dv.Dashboard(model, {TEXTS!r}, {LABELS!r}, text={FIRST_TEXT!r}, layer=1)\nboard",
        ],
    )


@pytest.fixture(scope="module")
def lab_dashboard(
    browser: playwright_sync.Browser, jupyter_lab: Server, dashboard_notebook: Path
) -> Iterator[PageWatch]:
    """The dashboard notebook in JupyterLab, all cells run, every view drawn."""
    with notebook_in_lab(browser, jupyter_lab, dashboard_notebook, "text-box") as watch:
        wait_for_every_view(watch)
        yield watch


def wait_for_every_view(page: PageWatch) -> None:
    """Every view drawn, and the map (filled after the text views) with its points."""
    for testid in VIEWS:
        page.page.wait_for_selector(f'{sel(testid)}[data-ready="true"]')
    page.page.wait_for_function(
        "selector => Number(document.querySelector(selector)?.dataset.points ?? 0) > 0",
        arg=sel("embedding-scatter"),
    )


def versions(page: PageWatch) -> dict[str, int]:
    return {testid: version(page, testid) for testid in VIEWS}


def shown_tokens(page: PageWatch, view: str) -> str:
    """The token texts a view shows, joined."""
    return page.page.locator(f"{sel(view)} {sel('token-view')}").first.text_content() or ""


def test_every_view_draws_with_one_text_box(lab_dashboard: PageWatch) -> None:
    page = lab_dashboard.page
    editors = page.locator(sel("text-input"))
    assert sum(editors.nth(i).is_visible() for i in range(editors.count())) == 1
    assert page.text_content(sel("status")) == "ready"
    for view in ("attention-view", "routing-view", "prediction-view", "attribution-view"):
        assert page.locator(f"{sel(view)} {sel('empty-state')}").is_hidden(), view
    assert "revenue" in shown_tokens(lab_dashboard, "attention-view")
    assert page.locator(f"{sel('embedding-scatter')} {sel('live-point')}").is_visible()
    lab_dashboard.screenshot("dashboard-jupyterlab")
    assert lab_dashboard.errors == [] and lab_dashboard.dialogs == []


def test_an_edit_updates_every_view(lab_dashboard: PageWatch) -> None:
    page = lab_dashboard.page
    before = versions(lab_dashboard)
    page.fill(sel("text-input"), "Chest pain can be a sign of a heart attack.")
    for testid in ("attention-view", "routing-view", "prediction-view", "attribution-view"):
        wait_for_newer(lab_dashboard, testid, before[testid])
    assert wait_for_status(lab_dashboard, "ready") == "ready"
    for view in ("attention-view", "routing-view", "attribution-view"):
        assert "heart" in page.locator(sel(view)).text_content(), view  # type: ignore[operator]
    texts = json.loads(
        kernel_run(lab_dashboard, "print(json.dumps([v.text for v in board._views.values()]))")
    )
    assert set(texts) == {"Chest pain can be a sign of a heart attack."}
    assert kernel_run(lab_dashboard, "print(board.scatter.live_text)").strip().endswith("heart attack.")


def test_a_token_click_selects_it_in_every_view(lab_dashboard: PageWatch) -> None:
    page = lab_dashboard.page
    page.locator(f"{sel('attention-view')} {sel('token-view')} [data-index='2']").click()
    page.wait_for_selector(f"{sel('routing-view')} [data-index='2'].dsv-selected")
    assert kernel_run(
        lab_dashboard, "print(board.routing.selected_token, board.predictions.selected_token)"
    ).split() == [
        "2",
        "2",
    ]


def test_clicking_a_map_point_loads_its_text_everywhere(lab_dashboard: PageWatch) -> None:
    page = lab_dashboard.page
    points = json.loads(
        kernel_run(lab_dashboard, "print(json.dumps(board.scatter.projection.coords.tolist()))")
    )
    root = sel("embedding-scatter")
    canvas = page.locator(f"{root} .dsv-scatter-input")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    camera = json.loads(page.get_attribute(root, "data-camera") or "{}")
    assert box is not None
    target = 1  # "Net income fell 8% as costs climbed."
    x = box["x"] + camera["width"] / 2 + (points[target][0] - camera["cx"]) * camera["scale"]
    y = box["y"] + camera["height"] / 2 - (points[target][1] - camera["cy"]) * camera["scale"]
    before = versions(lab_dashboard)
    page.mouse.click(x, y)
    for testid in ("attention-view", "routing-view", "prediction-view", "attribution-view"):
        wait_for_newer(lab_dashboard, testid, before[testid])
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.value === text",
        arg=[f"{sel('text-box')} {sel('text-input')}", TEXTS[target]],
    )
    assert "income" in shown_tokens(lab_dashboard, "attention-view")
    assert "income" in (page.locator(sel("attribution-view")).text_content() or "")


def test_too_long_text_is_refused_and_every_view_kept(lab_dashboard: PageWatch) -> None:
    page = lab_dashboard.page
    shown = shown_tokens(lab_dashboard, "attention-view")
    kernel_run(lab_dashboard, "board.text_box.max_chars = 50")
    page.fill(sel("text-input"), "x" * 51)
    status = wait_for_status(lab_dashboard, "error")
    assert status.startswith("error: the text has 51 characters; this dashboard takes at most 50")
    assert "dsv-over" in (page.get_attribute(sel("char-count"), "class") or "")
    assert shown_tokens(lab_dashboard, "attention-view") == shown
    kernel_run(lab_dashboard, "board.text_box.max_chars = 0")


def test_the_exported_dashboard_renders_offline(
    lab_dashboard: PageWatch, browser: playwright_sync.Browser, tmp_path: Path
) -> None:
    """``board.save_html`` in the live kernel; the file opens from file:// with every request refused."""
    exported = tmp_path / "dashboard.html"
    assert kernel_run(lab_dashboard, f"print(board.save_html({str(exported)!r}))").strip() == str(exported)
    shown = shown_tokens(lab_dashboard, "attention-view")
    context, watch, requests = open_offline(browser, exported)
    try:
        for testid in VIEWS:
            assert watch.page.get_attribute(sel(testid), "data-ready") == "true", testid
        assert shown_tokens(watch, "attention-view") == shown
        assert watch.page.locator(f"{sel('embedding-scatter')} {sel('scatter-legend')}").text_content()
        watch.screenshot("dashboard-exported-offline")
        assert requests == [] and watch.errors == []
    finally:
        context.close()


def test_dashboard_in_notebook_7(
    browser: playwright_sync.Browser, jupyter_lab: Server, dashboard_notebook: Path
) -> None:
    """The same notebook in Notebook 7's own page (/notebooks/…), served by the same Jupyter server."""
    context, watch = open_page(browser)
    page = watch.page
    page.set_default_timeout(WIDGET_TIMEOUT_MS)
    try:
        page.goto(f"{jupyter_lab.url}/notebooks/{dashboard_notebook.name}")
        page.wait_for_function("() => window.jupyterapp?.shell?.currentWidget?.sessionContext")
        page.evaluate(
            """async () => {
                const session = window.jupyterapp.shell.currentWidget.sessionContext;
                await session.ready;
                while (session.session?.kernel?.status !== "idle") await new Promise((r) => setTimeout(r, 200));
                window.jupyterapp.commands.execute("notebook:run-all-cells");
            }"""
        )
        wait_for_every_view(watch)
        before = version(watch, "attention-view")
        page.fill(sel("text-input"), "Fever may indicate flu.")
        wait_for_newer(watch, "attention-view", before)
        assert "flu" in shown_tokens(watch, "attention-view")
        assert wait_for_status(watch, "ready") == "ready"
        watch.screenshot("dashboard-notebook7")
        assert [
            error for error in watch.errors if error not in NOTEBOOK7_OWN_ERRORS
        ] == [] and watch.dialogs == []
    finally:
        context.close()


def test_dashboard_in_voila(
    voila_server: Callable[[Path], Server], dashboard_notebook: Path, fresh_page: PageWatch
) -> None:
    server = voila_server(dashboard_notebook)
    page = fresh_page.page
    page.goto(server.url + "/")
    wait_for_every_view(fresh_page)
    before = versions(fresh_page)
    page.fill(sel("text-input"), "Heavy rain tomorrow in Paris.")
    for testid in ("attention-view", "routing-view", "prediction-view", "attribution-view"):
        wait_for_newer(fresh_page, testid, before[testid])
    assert "Paris" in shown_tokens(fresh_page, "attention-view")
    assert wait_for_status(fresh_page, "ready") == "ready"
    fresh_page.screenshot("dashboard-voila")
    assert fresh_page.errors == [] and fresh_page.dialogs == []
