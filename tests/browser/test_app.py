"""`make demo`'s app: `deepseek-viz app` serves the Dashboard on the bundled model with Voila, within
per-visitor limits; two visitors get kernels and texts of their own. The page shows its heading at once
(a loading state), then the model's info, help and export buttons, readable in light and dark
(`?theme=dark`), asking nothing of the network; SIGTERM stops Voila, its kernels and the temp folder."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.browser.conftest import (
    BIN,
    LOCAL,
    PageWatch,
    Server,
    contrast_failures,
    free_port,
    open_page,
    playwright_sync,
    refuse_network,
    sel,
    start_server,
    version,
    wait_for_newer,
    wait_for_status,
)
from tests.browser.test_dashboard import VIEWS, shown_tokens, wait_for_every_view
from tests.browser.test_hostile_input import HOSTILE
from tests.browser.test_theme_contrast import STAGE_BACKGROUND, lightness, read_view

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


THEMES = {"light": "/", "dark": "/?theme=dark"}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_page_shows_its_heading_at_once_then_the_model_readable_and_offline(
    app_server: Server, fresh_page: PageWatch, theme: str
) -> None:
    page = fresh_page.page
    refused = refuse_network(page.context, LOCAL)
    page.goto(app_server.url + THEMES[theme], wait_until="commit")
    loading = page.locator(sel("app-loading"))
    loading.wait_for(state="visible")  # while the kernel loads the model: Voila's spinner no more
    assert page.locator("#loading_text").count() == 0
    assert "deepseek-viz" in (loading.text_content() or "")
    assert "Loading the model" in (loading.text_content() or "")
    assert page.text_content(sel("app-loading-model")) == "the bundled model"
    assert contrast_failures(fresh_page, sel("app-loading")) == []
    fresh_page.screenshot(f"app-loading-{theme}")

    page.wait_for_selector(f'{sel("app-header")}[data-ready="true"]')
    wait_for_every_view(fresh_page)
    assert page.get_attribute("body", "data-jp-theme-light") == ("false" if theme == "dark" else "true")
    assert page.text_content(sel("app-title")) == "deepseek-viz"
    assert page.text_content(sel("app-model-name")) == "bundled"
    info = page.text_content(sel("app-model-info")) or ""
    assert info.startswith("deepseek_v3 · ") and " layers × " in info and "MoE: " in info
    assert info.endswith(" parameters · cpu")
    assert page.get_attribute(sel("text-input"), "placeholder")
    page.click(f"{sel('app-help')} summary")
    help_text = page.text_content(sel("app-help")) or ""
    for gesture in ("shift-click", "alt-click", "click a point"):
        assert gesture in help_text
    assert contrast_failures(fresh_page, f"{sel('app-header')}, .dsv-panel-title") == []
    views_follow_the_theme(fresh_page, theme)
    fresh_page.screenshot(f"app-{theme}")
    if theme == "light":
        exports_download(fresh_page)
    assert refused == []
    no_traceback(fresh_page)
    assert fresh_page.errors == [] and fresh_page.dialogs == []


def views_follow_the_theme(watch: PageWatch, theme: str) -> None:
    """Every view of the app's dashboard is legible in the page's theme (each text node ≥ 4.5:1) and its
    background, the map's stage included, follows the theme; a screenshot per view."""
    page, dark = watch.page, theme == "dark"
    failures = {}
    for testid in VIEWS:
        shade, found = read_view(watch, sel(testid), f"app-{testid}-{theme}")
        assert (shade > 0.5) != dark, testid
        if found:
            failures[testid] = found
    assert failures == {}
    stages = page.evaluate(STAGE_BACKGROUND, ".dsv-scatter-stage")
    assert stages and all((lightness(c) > 0.5) != dark for c in stages), stages


def exports_download(watch: PageWatch) -> None:
    """The export buttons hand the visitor files: the offline page and a figure as SVG."""
    page = watch.page
    with page.expect_download() as offline_page:
        page.click(sel("export-html"))
    assert offline_page.value.suggested_filename == "deepseek-viz-dashboard.html"
    html = Path(offline_page.value.path()).read_text(encoding="utf-8")
    assert 'data-testid="standalone-page"' in html
    assert page.text_content(sel("export-status")).startswith("saved deepseek-viz-dashboard.html")  # type: ignore[union-attr]
    page.select_option(sel("export-figure"), "attention")
    with page.expect_download() as figure:
        page.click(sel("export-svg"))
    assert figure.value.suggested_filename == "deepseek-viz-attention.svg"
    assert b"<svg" in Path(figure.value.path()).read_bytes()[:2000]
    assert page.is_hidden(sel("export-error"))


def test_sigterm_stops_voila_every_kernel_and_the_temp_folder(
    tmp_path: Path, fresh_page: PageWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM to the `deepseek-viz app` process (not its group) ends Voila and every kernel it started
    (no process left) and removes the app's temporary folder, as Ctrl-C does."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    server = start_app(tmp_path, free_port())
    try:
        fresh_page.page.goto(server.url + "/")
        fresh_page.page.wait_for_selector(f'{sel("app-header")}[data-ready="true"]')  # a kernel runs
        started = psutil.Process(server.process.pid).children(recursive=True)
        commands = [" ".join(process.cmdline()) for process in started]
        assert any("voila" in command for command in commands)
        assert any("ipykernel" in command for command in commands)
        [folder] = temp.glob("deepseek-viz-app-*")
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=120) == 0
        _, alive = psutil.wait_procs(started, timeout=30)
        assert [process for process in alive if _running(process)] == []
        assert not folder.exists()
        assert list(temp.glob("voila_*")) == []  # Voila's connection-file folder
    finally:
        server.stop()


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
