"""`make demo`'s app: `deepseek-viz app` serves the Dashboard on the bundled model with Voila, within
per-visitor limits; two visitors get kernels and texts of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    BIN,
    PageWatch,
    Server,
    free_port,
    open_page,
    playwright_sync,
    sel,
    start_server,
    version,
    wait_for_newer,
    wait_for_status,
)
from tests.browser.test_dashboard import VIEWS, shown_tokens, wait_for_every_view
from tests.browser.test_hostile_input import HOSTILE

pytestmark = pytest.mark.browser

MAX_CHARS = 300


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The command `make demo` runs, on a free port (bundled model), with a small text limit."""
    root = tmp_path_factory.mktemp("app")
    port = free_port()
    server = start_app(root, port, "--max-chars", str(MAX_CHARS))
    yield server
    server.stop()
    log = Path(root / "app.log").read_text()
    assert "deepseek-viz: serving the dashboard at http://127.0.0.1:" in log


def start_app(root: Path, port: int, *options: str) -> Server:
    """``deepseek-viz app`` with ``options`` on ``port``, logging to ``root/app.log``."""
    return start_server(
        [str(BIN / "deepseek-viz"), "app", "--host", "127.0.0.1", "--port", str(port), *options],
        f"http://127.0.0.1:{port}",
        root,
        root / "app.log",
        probe="/voila/static/voila.js",
    )


def no_traceback(page: PageWatch) -> None:
    """Nothing a visitor sees names Python internals."""
    content = page.page.content() or ""
    assert "Traceback" not in content and 'File "' not in content


def test_demo_app_draws_every_view_and_responds(app_server: Server, fresh_page: PageWatch) -> None:
    page = fresh_page.page
    page.goto(app_server.url + "/")
    wait_for_every_view(fresh_page)
    assert page.text_content(sel("status")) == "ready"
    assert page.text_content(sel("model-name")).startswith("bundled · deepseek_v3")  # type: ignore[union-attr]
    assert page.locator(f"{sel('attention-view')} {sel('token-view')} [data-index]").count() > 10
    fresh_page.screenshot("demo-app-voila")
    before = {testid: version(fresh_page, testid) for testid in VIEWS}
    page.fill(sel("text-input"), "Fever may indicate flu.")
    for testid in ("attention-view", "routing-view", "prediction-view", "attribution-view"):
        wait_for_newer(fresh_page, testid, before[testid])
    assert wait_for_status(fresh_page, "ready") == "ready"
    assert "flu" in shown_tokens(fresh_page, "attention-view")
    no_traceback(fresh_page)
    assert fresh_page.errors == [] and fresh_page.dialogs == []


def test_a_visitor_cannot_send_more_than_the_limit(app_server: Server, fresh_page: PageWatch) -> None:
    page = fresh_page.page
    page.goto(app_server.url + "/")
    wait_for_every_view(fresh_page)
    shown = shown_tokens(fresh_page, "attention-view")
    page.fill(sel("text-input"), "word " * 10_000)  # 50,000 characters
    status = wait_for_status(fresh_page, "error")
    assert status.startswith(
        f"error: the text has 50,000 characters; this dashboard takes at most {MAX_CHARS:,}"
    )
    assert page.text_content(sel("char-count")) == f"50,000 / {MAX_CHARS:,} characters"
    assert shown_tokens(fresh_page, "attention-view") == shown  # the previous views stay
    no_traceback(fresh_page)
    page.fill(sel("text-input"), "Back to a short text.")
    assert wait_for_status(fresh_page, "ready") == "ready"


def test_two_visitors_do_not_see_each_other(app_server: Server, browser: playwright_sync.Browser) -> None:
    pages = [open_page(browser) for _ in range(2)]
    try:
        for _, watch in pages:
            watch.page.set_default_timeout(180_000)
            watch.page.goto(app_server.url + "/")
        for _, watch in pages:
            wait_for_every_view(watch)
        texts = ["Alice types about revenue.", "Bob writes about a cough."]
        before = [version(watch, "attention-view") for _, watch in pages]
        for (_, watch), text in zip(pages, texts, strict=True):
            watch.page.fill(sel("text-input"), text)  # both edits are out at once
        for (_, watch), seen in zip(pages, before, strict=True):
            wait_for_newer(watch, "attention-view", seen)
            wait_for_status(watch, "ready")
        alice, bob = (shown_tokens(watch, "attention-view") for _, watch in pages)
        assert "Alice" in alice and "Bob" not in alice
        assert "Bob" in bob and "Alice" not in bob
    finally:
        for context, _ in pages:
            context.close()


def test_a_request_past_the_time_limit_is_stopped_with_a_message(
    tmp_path: Path, fresh_page: PageWatch
) -> None:
    """With ``--timeout 0`` every request stops at its first layer: the page says so and keeps working."""
    server = start_app(tmp_path, free_port(), "--timeout", "0")
    try:
        page = fresh_page.page
        page.goto(server.url + "/")
        wait_for_every_view(fresh_page)
        before = version(fresh_page, "text-box")
        page.fill(sel("text-input"), "Any text at all.")
        wait_for_newer(fresh_page, "text-box", before)  # the kernel answered this edit
        status = wait_for_status(fresh_page, "error")
        assert status.startswith("error: stopped after 0 s, the time limit for one request")
        no_traceback(fresh_page)
        assert fresh_page.errors == [] and fresh_page.dialogs == []
    finally:
        server.stop()


def test_hostile_text_in_the_app_shows_as_text(app_server: Server, fresh_page: PageWatch) -> None:
    """A stranger's HTML, script, CSS and bidi text reach every view of the public app as literal text."""
    page = fresh_page.page
    page.goto(app_server.url + "/")
    wait_for_every_view(fresh_page)
    before = {testid: version(fresh_page, testid) for testid in VIEWS}
    page.fill(sel("text-input"), HOSTILE)
    for testid in ("attention-view", "routing-view", "prediction-view", "attribution-view"):
        wait_for_newer(fresh_page, testid, before[testid])
    assert wait_for_status(fresh_page, "ready") == "ready"
    assert "<script>window.__pwned=1</script>" in shown_tokens(fresh_page, "attention-view")
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".jp-OutputArea").count() > 0  # where the widgets are
    assert page.locator(".jp-OutputArea img, .jp-OutputArea script, .jp-OutputArea b").count() == 0
    assert page.locator("body").is_visible()
    no_traceback(fresh_page)
    assert fresh_page.errors == [] and fresh_page.dialogs == []
