"""`make demo`'s app: `deepseek-viz app` serves the main view on the bundled model with Voila."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    BIN,
    PageWatch,
    Server,
    free_port,
    sel,
    start_server,
    version,
    wait_for_newer,
    wait_for_status,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The command `make demo` runs, on a free port (bundled model)."""
    root = tmp_path_factory.mktemp("app")
    port = free_port()
    server = start_server(
        [str(BIN / "deepseek-viz"), "app", "--host", "127.0.0.1", "--port", str(port)],
        f"http://127.0.0.1:{port}",
        root,
        root / "app.log",
        probe="/voila/static/voila.js",
    )
    yield server
    server.stop()
    assert "deepseek-viz: serving the dashboard at http://127.0.0.1:" in Path(root / "app.log").read_text()


def test_demo_app_draws_and_responds(app_server: Server, fresh_page: PageWatch) -> None:
    page = fresh_page.page
    page.goto(app_server.url + "/")
    page.wait_for_selector('[data-testid="attention-view"][data-ready="true"]')
    assert page.text_content(sel("status")) == "ready"
    assert page.locator(f"{sel('token-view')} [data-index]").count() > 10
    fresh_page.screenshot("demo-app-voila")
    before = version(fresh_page, "attention-heatmap")
    page.fill(sel("text-input"), "Fever may indicate flu.")
    wait_for_newer(fresh_page, "attention-heatmap", before)
    assert wait_for_status(fresh_page, "ready") == "ready"
    assert "flu" in (page.text_content(sel("token-view")) or "")
    # no traceback is ever shown to a visitor of the app
    assert "Traceback" not in (page.content() or "")
    assert fresh_page.errors == [] and fresh_page.dialogs == []
