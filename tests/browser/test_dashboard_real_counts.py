"""dv.Dashboard at DeepSeek-V3's counts (61 layers × 128 heads, 256 experts in 8 groups; skinny widths)
in JupyterLab: the text views draw first, the embedding map after them (held back here until they
have), and an edit updates every view, in the light and the dark theme.

Asserts only through the DESIGN.md contract (``data-ready``/``data-version``, ``status``,
``text-input``) and the map's ``data-points``: the views themselves are being rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    PageWatch,
    Server,
    notebook_in_lab,
    playwright_sync,
    sel,
    set_theme,
    version,
    wait_for_newer,
    wait_for_status,
)
from tests.real_counts import save_real_count_checkpoint

pytestmark = pytest.mark.browser

TEXT_VIEWS = ("attention-view", "routing-view", "prediction-view", "attribution-view")
TEXTS = ["Fever may indicate flu.", "Net income fell 8%.", "Heavy rain tomorrow.", "咳嗽可能是流感。"]
LABELS = ["medical", "finance", "weather", "medical"]
#: Views at real counts on 2 shared cores: generous.
TIMEOUT_MS = 600_000
MAP = sel("embedding-scatter")

# The map's embedding waits for ``gate`` in its own thread, before it asks for the model (its texts'
# tokenization is the first thing it does), so nothing the text views need waits for it.
GATED_DASHBOARD = f"""\
import threading
gate = threading.Event()
tokenize = model.tokenize
def gated(text, **options):
    if threading.current_thread() is not threading.main_thread():
        gate.wait(600)
    return tokenize(text, **options)
model.tokenize = gated
board = dv.Dashboard(model, {TEXTS!r}, {LABELS!r}, text="Revenue rose 12% to $4.2 billion.", layer=3)
board"""


@pytest.fixture(scope="module")
def v3_dashboard(
    browser: playwright_sync.Browser,
    jupyter_lab: Server,
    write_notebook: Callable[[str, list[str]], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PageWatch]:
    """The gated dashboard on a V3-counts model in JupyterLab, the box drawn."""
    path = save_real_count_checkpoint("v3", tmp_path_factory.mktemp("v3-counts") / "v3")
    notebook = write_notebook(
        "dashboard-v3-counts",
        [
            f"import deepseek_viz as dv\nmodel = dv.load_model({str(path)!r}, device='cpu', max_tokens=64)",
            GATED_DASHBOARD,
        ],
    )
    with notebook_in_lab(browser, jupyter_lab, notebook, "text-box") as watch:
        watch.page.set_default_timeout(TIMEOUT_MS)
        yield watch


def map_status(page: PageWatch) -> str:
    return page.page.text_content(f"{MAP} {sel('status')}") or ""


def edit_and_wait(page: PageWatch, text: str) -> None:
    before = {testid: version(page, testid) for testid in TEXT_VIEWS}
    page.page.fill(f"{sel('text-box')} {sel('text-input')}", text)
    for testid in TEXT_VIEWS:
        wait_for_newer(page, testid, before[testid])
    assert wait_for_status(page, "ready") == "ready"


def test_text_views_draw_first_then_the_map(v3_dashboard: PageWatch) -> None:
    page = v3_dashboard.page
    for testid in TEXT_VIEWS:
        page.wait_for_selector(f'{sel(testid)}[data-ready="true"]')
    assert page.get_attribute(MAP, "data-points") == "0"  # the map is held back: no points yet
    assert map_status(v3_dashboard) == "computing"
    assert page.text_content(sel("status")) == "ready"  # the box: the text views are done
    v3_dashboard.screenshot("dashboard-v3-counts-before-map")
    page.evaluate(
        """async () => {
            const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            await kernel.requestExecute({ code: "gate.set()" }).done;
        }"""
    )
    page.wait_for_function(
        "([selector, n]) => document.querySelector(selector)?.dataset.points === n",
        arg=[MAP, str(len(TEXTS))],
    )
    page.wait_for_function(
        "selector => document.querySelector(selector)?.textContent === 'ready'", arg=f"{MAP} {sel('status')}"
    )
    page.wait_for_selector(f"{MAP} {sel('live-point')}", state="visible")
    v3_dashboard.screenshot("dashboard-v3-counts")
    assert v3_dashboard.errors == [] and v3_dashboard.dialogs == []


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_an_edit_updates_every_view(v3_dashboard: PageWatch, theme: str) -> None:
    set_theme(v3_dashboard, dark=theme == "JupyterLab Dark")
    edit_and_wait(v3_dashboard, f"Chest pain can be a sign ({theme.split()[-1]}).")
    assert map_status(v3_dashboard) == "ready"
    assert v3_dashboard.page.locator(f"{MAP} {sel('live-point')}").is_visible()
    v3_dashboard.screenshot(f"dashboard-v3-counts-{theme.split()[-1].lower()}")
    assert v3_dashboard.errors == [] and v3_dashboard.dialogs == []
