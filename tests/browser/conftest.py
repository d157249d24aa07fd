"""Browser-test fixtures: a real JupyterLab and Voila on 127.0.0.1, Debian Chromium via Playwright.

One JupyterLab server and one Chromium per session. The model the notebooks load is a tiny random
DeepSeek-V3 written to a temporary folder (max 4,096 tokens); set ``DEEPSEEK_VIZ_BROWSER_MODEL`` to a
checkpoint folder, or to ``bundled`` for ``dv.load_model()``, to drive the widgets with another model.
Screenshots go to ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.conftest import CONFIGS, build_tokenizer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BIN = Path(sys.executable).parent
SERVER_START_TIMEOUT_S = 120
#: Generous: a notebook imports torch and loads a model on 2 shared CPU cores.
WIDGET_TIMEOUT_MS = 180_000

playwright_sync = pytest.importorskip("playwright.sync_api")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip browser tests where Debian's Chromium is not installed."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (make chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answers(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@dataclass
class Server:
    """A server process this test session started (its own process group), and its base URL."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(command: list[str], url: str, cwd: Path, log: Path, probe: str = "") -> Server:
    env = {
        **os.environ,
        # keep the user's Jupyter settings, kernels and runtime files out of the test
        "JUPYTER_CONFIG_DIR": str(cwd / ".jupyter-config"),
        "JUPYTER_DATA_DIR": str(cwd / ".jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(cwd / ".jupyter-runtime"),
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(url, process, log)
    try:
        wait_until_answers(url + probe, process, log)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def model_expression(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Python source that loads the model the notebooks use (see the module docstring)."""
    chosen = os.environ.get("DEEPSEEK_VIZ_BROWSER_MODEL")
    if chosen == "bundled":
        return 'dv.load_model(device="cpu")'
    if chosen:
        return f'dv.load_model({str(Path(chosen).resolve())!r}, device="cpu")'
    path = tmp_path_factory.mktemp("browser-model") / "deepseek_v3"
    torch.manual_seed(0)
    config = CONFIGS["deepseek_v3"]()
    config.max_position_embeddings = 4096
    AutoModelForCausalLM.from_config(config).save_pretrained(path)
    build_tokenizer().save_pretrained(path)
    return f'dv.load_model({str(path)!r}, device="cpu")'


@pytest.fixture(scope="session")
def notebook_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder JupyterLab serves and notebooks are written to."""
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="session")
def write_notebook(notebook_dir: Path) -> Callable[[str, list[str]], Path]:
    """``write_notebook(name, cells)``: a python3 notebook of code cells in :func:`notebook_dir`."""

    def write(name: str, cells: list[str]) -> Path:
        notebook = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(source) for source in cells],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        )
        path = notebook_dir / f"{name}.ipynb"
        nbformat.write(notebook, path)
        return path

    return write


@pytest.fixture(scope="session")
def attention_notebook(write_notebook: Callable[[str, list[str]], Path], model_expression: str) -> Path:
    """A notebook showing one AttentionView (variable ``view``) on a short text."""
    return write_notebook(
        "attention",
        [
            "import deepseek_viz as dv\nfrom deepseek_viz.widgets import AttentionView\n"
            f"model = {model_expression}",
            'view = AttentionView(model, text="Fever may indicate flu. 你好 🙂", layer=0, heads=[0])\nview',
        ],
    )


def lab_user_settings(root: Path) -> Path:
    """JupyterLab user settings for tests: no news toast, no kernel dialog on start, no autosave."""
    settings = root / ".lab-user-settings"
    values = {
        "apputils-extension/notification": {"fetchNews": "false"},
        "notebook-extension/tracker": {"autoStartDefaultKernel": True},
        "docmanager-extension/plugin": {"autosave": False},
    }
    for name, value in values.items():
        package, plugin = name.split("/")
        path = settings / "@jupyterlab" / package / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    return settings


def start_jupyter_lab(root: Path) -> Server:
    """A JupyterLab (and Notebook 7, at ``/notebooks/…``) serving ``root`` on 127.0.0.1 without a token,
    ``window.jupyterapp`` exposed."""
    port = free_port()
    return start_server(
        [
            str(BIN / "jupyter"),
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",  # Notebook 7's pages, served beside Lab
            "--LabApp.extension_manager=readonly",
            "--allow-root",
            "--LabServerApp.workspaces_dir=" + str(root / ".workspaces"),
            "--LabServerApp.user_settings_dir=" + str(lab_user_settings(root)),
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        f"http://127.0.0.1:{port}",
        root,
        root / "jupyterlab.log",
        probe="/api/status",
    )


@pytest.fixture(scope="session")
def jupyter_lab(notebook_dir: Path) -> Iterator[Server]:
    """A JupyterLab on 127.0.0.1 serving :func:`notebook_dir` (see :func:`start_jupyter_lab`)."""
    server = start_jupyter_lab(notebook_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def voila_server(notebook_dir: Path) -> Iterator[Callable[[Path], Server]]:
    """``voila_server(notebook)``: serve one notebook with Voila on 127.0.0.1 (stopped at session end)."""
    started: list[Server] = []

    def start(notebook: Path) -> Server:
        port = free_port()
        server = start_server(
            [
                str(BIN / "voila"),
                str(notebook),
                "--no-browser",
                "--Voila.ip=127.0.0.1",
                f"--port={port}",
                "--Voila.port_retries=0",
            ],
            f"http://127.0.0.1:{port}",
            notebook_dir,
            notebook_dir / f"voila-{port}.log",
            probe="/voila/static/voila.js",  # a static file: probing "/" would run the notebook
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian Chromium, headless, network limited to what the page asks of 127.0.0.1."""
    with playwright_sync.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageWatch:
    """A page plus what it did that a test may assert on: dialogs (all dismissed), page errors and, when
    it was opened offline, the requests refused for leaving 127.0.0.1."""

    page: playwright_sync.Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def refuse_network(
    context: playwright_sync.BrowserContext, allowed: tuple[str, ...] = ("file:",)
) -> list[str]:
    """Abort every request of ``context`` whose URL does not start with one of ``allowed``; the list
    returned records the URLs refused (an offline page must leave it empty)."""
    refused: list[str] = []

    def route(request_route: playwright_sync.Route) -> None:
        if request_route.request.url.startswith(allowed):
            request_route.continue_()
        else:
            refused.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    return refused


def open_page(browser: playwright_sync.Browser) -> tuple[playwright_sync.BrowserContext, PageWatch]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watch = PageWatch(page)

    def on_dialog(dialog: playwright_sync.Dialog) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    return context, watch


def open_notebook(page: playwright_sync.Page, lab: Server, name: str) -> None:
    """Open notebook ``name`` in ``lab`` in a workspace of its own (reset, so notebooks other tests
    opened are not restored beside it) and wait until its kernel is idle (running cells before that
    makes JupyterLab ask for a kernel in a dialog)."""
    stem = Path(name).stem
    page.goto(f"{lab.url}/lab/workspaces/{stem}/tree/{name}?reset")
    page.wait_for_function(
        "name => window.jupyterapp?.shell.currentWidget?.context?.path === name && "
        "window.jupyterapp.shell.currentWidget.sessionContext",
        arg=name,
    )
    page.evaluate(
        """async () => {
            const session = window.jupyterapp.shell.currentWidget.sessionContext;
            await session.ready;
            while (session.session?.kernel?.status !== "idle") await new Promise((r) => setTimeout(r, 200));
        }"""
    )


@contextmanager
def notebook_in_lab(
    browser: playwright_sync.Browser,
    lab: Server,
    notebook: Path,
    root_testid: str,
    offline: bool = False,
) -> Iterator[PageWatch]:
    """``notebook`` open in ``lab`` with all cells run on a live kernel, until the element with
    ``data-testid=root_testid`` has drawn (``data-ready="true"``). ``offline``: every request that
    would leave 127.0.0.1 is refused and recorded in ``watch.refused``."""
    context, watch = open_page(browser)
    if offline:
        watch.refused = refuse_network(context, LOCAL)
    page = watch.page
    page.set_default_timeout(WIDGET_TIMEOUT_MS)
    try:
        open_notebook(page, lab, notebook.name)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        page.wait_for_selector(f'{sel(root_testid)}[data-ready="true"]')
        yield watch
    finally:
        context.close()


@pytest.fixture(scope="module")
def lab_attention(
    browser: playwright_sync.Browser, jupyter_lab: Server, attention_notebook: Path
) -> Iterator[PageWatch]:
    """``attention.ipynb`` open in JupyterLab with all cells run on a live kernel; the widget drawn."""
    with notebook_in_lab(browser, jupyter_lab, attention_notebook, "attention-view") as watch:
        yield watch


@pytest.fixture(scope="session")
def view_in_lab(
    browser: playwright_sync.Browser,
    jupyter_lab: Server,
    write_notebook: Callable[[str, list[str]], Path],
    model_expression: str,
) -> Callable[[str, str, str], AbstractContextManager[PageWatch]]:
    """``view_in_lab(name, code, root_testid)``: notebook ``name`` whose first cell imports ``dv`` and
    loads the test model as ``model`` and whose second cell is ``code`` (ending with the view to
    show), open in JupyterLab until the view has drawn (see :func:`notebook_in_lab`)."""

    def open_view(name: str, code: str, root_testid: str) -> AbstractContextManager[PageWatch]:
        notebook = write_notebook(name, [f"import deepseek_viz as dv\nmodel = {model_expression}", code])
        return notebook_in_lab(browser, jupyter_lab, notebook, root_testid)

    return open_view


# --- page helpers shared by the views' tests ---------------------------------------------------------

HTML_TEXT = "<img src=x onerror=alert(1)> <b>bold</b> <script>alert(2)</script>"


def sel(name: str) -> str:
    """CSS selector of the element with data-testid `name`."""
    return f'[data-testid="{name}"]'


def version(page: PageWatch, name: str) -> int:
    return int(page.page.get_attribute(sel(name), "data-version") or 0)


def wait_for_newer(page: PageWatch, name: str, than: int) -> None:
    page.page.wait_for_function(
        "([selector, than]) => Number(document.querySelector(selector)?.dataset.version ?? 0) > than",
        arg=[sel(name), than],
    )


def wait_for_status(page: PageWatch, prefix: str) -> str:
    page.page.wait_for_function(
        "([selector, prefix]) => document.querySelector(selector)?.textContent.startsWith(prefix)",
        arg=[sel("status"), prefix],
    )
    return page.page.text_content(sel("status")) or ""


def kernel_run(page: PageWatch, code: str) -> str:
    """Run ``code`` in the open notebook's kernel; its printed output (or error)."""
    return str(
        page.page.evaluate(
            """async (code) => {
                const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
                const future = kernel.requestExecute({ code });
                let out = "";
                future.onIOPub = (msg) => {
                    if (msg.header.msg_type === "stream") out += msg.content.text;
                    if (msg.header.msg_type === "error") out += `${msg.content.ename}: ${msg.content.evalue}`;
                };
                await future.done;
                return out;
            }""",
            code,
        )
    )


def kernel_value(page: PageWatch, expression: str, expected: str, attempts: int = 100) -> str:
    """``expression`` printed by the kernel, asked again until it reads ``expected`` (a trait set from
    the browser arrives as a message of its own) or ``attempts`` run out."""
    value = ""
    for _ in range(attempts):
        value = kernel_run(page, f"print({expression})").strip()
        if value == expected:
            break
        time.sleep(0.1)
    return value


@pytest.fixture
def fresh_page(browser: playwright_sync.Browser) -> Iterator[PageWatch]:
    """A new page of its own, closed after the test."""
    context, watch = open_page(browser)
    watch.page.set_default_timeout(WIDGET_TIMEOUT_MS)
    yield watch
    context.close()


def click_head(
    page: PageWatch, layer: int, head: int, *, modifiers: tuple[str, ...] = (), scope: str = ""
) -> None:
    """Click head (``layer``, ``head``) of the head overview (``head-grid`` inside ``scope``, a CSS
    selector): scroll it into view, then click its position (holding ``modifiers``, e.g. ``"Shift"``).
    The cells are drawn on one canvas; ``head-grid``'s ``revealHead`` gives the cell's centre (asked
    again once the scroll has settled)."""
    grid = page.page.locator(f"{scope} {sel('head-grid')}".strip())
    grid.scroll_into_view_if_needed()
    # the cell's place settles a frame after a scroll, and again after a theme's stylesheet lands: ask until
    # two frames agree and the grid is what lies under that point
    settled = """async (grid, [layer, head]) => {
      const frames = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
      let point = grid.revealHead(layer, head);
      for (let tries = 0; tries < 50; tries++) {
        await frames();
        const again = grid.revealHead(layer, head);
        const under = document.elementFromPoint(again.x, again.y);
        if (again.x === point.x && again.y === point.y && under && grid.contains(under)) return again;
        point = again;
      }
      throw new Error(`head ${layer}.${head} never settled under the pointer`);
    }"""
    point = grid.evaluate(settled, [layer, head])
    for key in modifiers:
        page.page.keyboard.down(key)
    page.page.mouse.click(point["x"], point["y"])
    for key in reversed(modifiers):
        page.page.keyboard.up(key)


def set_theme(page: PageWatch, dark: bool) -> None:
    """Switch JupyterLab to its dark (or light) theme and wait until it applies."""
    page.page.evaluate(
        "theme => window.jupyterapp.commands.execute('apputils:change-theme', { theme })",
        "JupyterLab Dark" if dark else "JupyterLab Light",
    )
    page.page.wait_for_function(
        "light => document.body.dataset.jpThemeLight === light", arg="false" if dark else "true"
    )
    # the theme's style sheet loads after the flag flips: wait until its colours (and so the layout) apply
    page.page.wait_for_function(
        """dark => {
          const colour = getComputedStyle(document.body).getPropertyValue("--jp-layout-color0").trim();
          const probe = document.createElement("div");
          probe.style.color = colour;
          document.body.append(probe);
          const [r, g, b] = getComputedStyle(probe).color.match(/\\d+/g).map(Number);
          probe.remove();
          return (r + g + b < 384) === dark;
        }""",
        arg=dark,
    )
    page.page.evaluate(
        "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )


#: A text of about 128 tokens for the views at DeepSeek-V3's counts.
V3_TEXT = "Fever may indicate flu; chest pain can be a sign. " * 10


@contextmanager
def v3_view_in_lab(
    browser: object,
    jupyter_lab: object,
    write_notebook: Callable[[str, list[str]], Path],
    checkpoint: Path,
    view: str,
    testid: str,
) -> Iterator[PageWatch]:
    """``view`` (a class of ``deepseek_viz.widgets``) of the V3-counts ``checkpoint`` on :data:`V3_TEXT`,
    open in JupyterLab until the block ends."""
    notebook = write_notebook(
        f"{testid}_v3",
        [
            f"import deepseek_viz as dv\nmodel = dv.load_model({str(checkpoint)!r}, device='cpu')",
            f"view = dv.{view}(model, text={V3_TEXT!r})\nview",
        ],
    )
    with notebook_in_lab(browser, jupyter_lab, notebook, testid) as watch:  # type: ignore[arg-type]
        yield watch


#: WCAG 2's least contrast for normal-size text.
MIN_CONTRAST = 4.5

_CONTRAST_JS = """
([rootSelector, minimum]) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  const paint = canvas.getContext("2d", { willReadFrequently: true });
  // any CSS colour (rgb, hex, color(), oklch…) as [r, g, b, a] in 0–255 / 0–1, through a canvas pixel
  const rgba = (colour) => {
    paint.clearRect(0, 0, 1, 1);
    paint.fillStyle = "rgba(0, 0, 0, 0)";
    paint.fillStyle = colour;
    paint.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = paint.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, below) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat(1);
  };
  // the opaque colour behind `node`: its ancestors' background colours composited from the page down
  const background = (node) => {
    const layers = [];
    for (let at = node; at; at = at.parentElement) layers.push(rgba(getComputedStyle(at).backgroundColor));
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const luminance = ([r, g, b]) => {
    const [R, G, B] = [r, g, b].map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  const failures = [];
  for (const root of document.querySelectorAll(rootSelector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      const element = text.parentElement;
      if (!element || !text.textContent.trim()) continue;
      if (!element.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
      if (element.closest(":disabled")) continue; // WCAG exempts inactive controls
      const range = document.createRange();
      range.selectNodeContents(text);
      const box = range.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      const back = background(element);
      const fore = over(rgba(getComputedStyle(element).color), back);
      const [light, dark] = [luminance(fore), luminance(back)].sort((a, b) => b - a);
      const ratio = (light + 0.05) / (dark + 0.05);
      if (ratio < minimum) {
        failures.push({
          text: text.textContent.trim().slice(0, 60),
          color: getComputedStyle(element).color,
          background: `rgb(${back.slice(0, 3).map(Math.round).join(", ")})`,
          ratio: Math.round(ratio * 100) / 100,
        });
      }
    }
  }
  return failures;
}
"""


def contrast_failures(
    page: PageWatch | playwright_sync.Page, root_selector: str, minimum: float = MIN_CONTRAST
) -> list[dict[str, object]]:
    """The visible text nodes under every element matching ``root_selector`` whose colour contrasts
    less than ``minimum`` (WCAG ratio) with the opaque colour behind them (the ancestors' background
    colours composited; background images are not seen), computed in the page: each as ``{text, color,
    background, ratio}``. Text inside a disabled control is skipped (WCAG exempts it)."""
    target = page.page if isinstance(page, PageWatch) else page
    return list(target.evaluate(_CONTRAST_JS, [root_selector, minimum]))


#: Where a page on a test server may fetch from: the server itself.
LOCAL = ("http://127.0.0.1:", "https://127.0.0.1:")
