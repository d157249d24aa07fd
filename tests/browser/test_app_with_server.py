"""`deepseek-viz app --server URL`: the Voila app's visitors are clients of one `deepseek-viz serve` (the
bundled model, one replica, on 127.0.0.1). Two visitors each see their own text, and the model's weights
are held by one process, the service's replica: no visitor's kernel loads them."""

from __future__ import annotations

from collections.abc import Iterator

import psutil
import pytest

from deepseek_viz import BUNDLED_MODEL
from tests.browser.conftest import (
    BIN,
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
from tests.browser.test_app import start_app
from tests.browser.test_dashboard import shown_tokens, wait_for_every_view

pytestmark = pytest.mark.browser

WEIGHTS = str(BUNDLED_MODEL / "model.safetensors")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`deepseek-viz serve` (bundled model, one replica, loopback: no token needed)."""
    root = tmp_path_factory.mktemp("service")
    port = free_port()
    command = [str(BIN / "deepseek-viz"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = start_server(command, f"http://127.0.0.1:{port}", root, root / "serve.log", probe="/v1/health")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(service: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app, its kernels clients of :func:`service`."""
    root = tmp_path_factory.mktemp("app-with-server")
    server = start_app(root, free_port(), "--server", service.url)
    yield server
    server.stop()


def holding_the_weights(root: psutil.Process) -> list[psutil.Process]:
    """``root`` and the processes under it that map the bundled model's weights file."""
    holding = []
    for process in [root, *root.children(recursive=True)]:
        try:
            if any(mapped.path == WEIGHTS for mapped in process.memory_maps()):
                holding.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return holding


def test_two_visitors_share_one_model_process(
    service: Server, app: Server, browser: playwright_sync.Browser
) -> None:
    pages = [open_page(browser) for _ in range(2)]
    try:
        for _, watch in pages:
            watch.page.set_default_timeout(180_000)
            watch.page.goto(app.url + "/")
        for _, watch in pages:
            wait_for_every_view(watch)
        texts = ["Alice asks the server about revenue.", "Bob asks it about a cough."]
        before = [version(watch, "attention-view") for _, watch in pages]
        for (_, watch), text in zip(pages, texts, strict=True):
            watch.page.fill(sel("text-input"), text)
        for (_, watch), seen in zip(pages, before, strict=True):
            wait_for_newer(watch, "attention-view", seen)
            assert wait_for_status(watch, "ready") == "ready"
        alice, bob = (shown_tokens(watch, "attention-view") for _, watch in pages)
        assert "Alice" in alice and "Bob" not in alice
        assert "Bob" in bob and "Alice" not in bob
        for _, watch in pages:
            assert watch.errors == [] and watch.dialogs == []
        # the weights are in the service alone: one replica maps them, no kernel of the app does
        kernels = psutil.Process(app.process.pid).children(recursive=True)
        assert len([k for k in kernels if "ipykernel" in " ".join(k.cmdline())]) >= 2
        assert holding_the_weights(psutil.Process(app.process.pid)) == []
        assert len(holding_the_weights(psutil.Process(service.process.pid))) == 1
    finally:
        for context, _ in pages:
            context.close()


def test_model_and_server_together_are_refused(service: Server) -> None:
    done = psutil.Popen(
        [str(BIN / "deepseek-viz"), "app", "some-model", "--server", service.url],
        stdout=-1,
        stderr=-1,
        text=True,
    )
    _, error = done.communicate(timeout=60)
    assert done.returncode == 2 and "not both" in error
