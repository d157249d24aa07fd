"""A standalone HTML export opened from file:// in Chromium with every network request refused: the views
draw, respond to hovering and clicking, and show model text as text. No Jupyter: the views are built in
this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ipywidgets
import pytest

import deepseek_viz as dv
from tests.browser.conftest import PageWatch, click_head, open_page, playwright_sync, refuse_network, sel

pytestmark = pytest.mark.browser

HOSTILE = "</script><script>window.__pwned=1</script>"
TEXT = f"Fever may indicate flu. {HOSTILE} 你好 🙂"
VIEWS = ["attention-view", "routing-view", "prediction-view", "attribution-view", "embedding-scatter"]
TOPICS = ["Quarterly revenue rose", "Fever may indicate flu", "The cat sat on"]
#: Long enough for the page's own timers (debounced edits) and the views' first draw on 2 busy cores.
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def exported(tiny_checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every view of the tiny DeepSeek-V3 on ``TEXT``, in boxes, saved as one page."""
    model = dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")
    texts = [f"{topic} #{i}" for i in range(4) for topic in TOPICS]
    scatter = dv.EmbeddingScatter(model, texts, [t.split()[0] for t in texts], method="pca", progress=False)
    root = ipywidgets.VBox(
        [
            ipywidgets.Label(f"Exported views {HOSTILE}"),
            ipywidgets.HBox([dv.AttentionView(model, text=TEXT), dv.RoutingView(model, text=TEXT)]),
            ipywidgets.HBox(
                [
                    dv.PredictionView(model, text=TEXT),
                    dv.AttributionView(model, TEXT, ig_steps=4, deletion_steps=2),
                ]
            ),
            scatter,
        ]
    )
    return dv.save_html(root, tmp_path_factory.mktemp("export") / "views.html", title="Export <b>test</b>")


def open_offline(
    browser: playwright_sync.Browser, page_file: Path
) -> tuple[playwright_sync.BrowserContext, PageWatch, list[str]]:
    """``page_file`` open from file:// until the export has drawn, every other request aborted and
    recorded (the list returned); console errors count as page errors."""
    context, watch = open_page(browser)
    requests = refuse_network(context)
    watch.page.on("console", lambda message: message.type == "error" and watch.errors.append(message.text))
    watch.page.set_default_timeout(TIMEOUT_MS)
    watch.page.goto(page_file.as_uri())
    watch.page.wait_for_selector('#dsv-page[data-ready="true"]')
    return context, watch, requests


@pytest.fixture(scope="module")
def offline(browser: playwright_sync.Browser, exported: Path) -> Iterator[tuple[PageWatch, list[str]]]:
    """The export open offline (:func:`open_offline`)."""
    context, watch, requests = open_offline(browser, exported)
    yield watch, requests
    context.close()


def view(name: str, testid: str) -> str:
    return f"{sel(name)} {sel(testid)}"


def test_every_view_draws_with_no_network(offline: tuple[PageWatch, list[str]]) -> None:
    watch, requests = offline
    page = watch.page
    for name in VIEWS:
        assert page.get_attribute(sel(name), "data-ready") == "true", name
    assert page.locator(view("attention-view", "head-grid") + " canvas").count() == 1  # the head overview
    assert page.get_attribute(view("attention-view", "head-grid"), "data-ready") == "true"
    assert page.get_attribute(sel("attention-heatmap"), "data-ready") == "true"
    assert page.locator(view("routing-view", "layer-picker") + " button").count() == 2  # MoE layers 1, 2
    assert page.locator(view("prediction-view", "logit-lens") + " tr").count() == 1 + 4  # header, 4 rows
    assert page.locator(f"{sel('attribution-view')} [data-testid^='attribution-row-']").count() == 2
    assert page.text_content(view("embedding-scatter", "status")) == "ready"
    watch.screenshot("standalone-export")
    assert requests == []
    assert watch.errors == []


def test_model_text_shows_as_text(offline: tuple[PageWatch, list[str]]) -> None:
    watch, _ = offline
    page = watch.page
    tokens = page.text_content(view("attention-view", "token-view")) or ""
    assert HOSTILE in tokens
    assert page.evaluate("window.__pwned") is None
    assert page.title() == "Export <b>test</b>"
    assert page.locator("h1 b").count() == 0
    assert page.locator("#dsv-page script").count() == 0
    assert page.text_content("#dsv-page > div > div:first-child") == f"Exported views {HOSTILE}"


def test_hovering_and_clicking_a_token(offline: tuple[PageWatch, list[str]]) -> None:
    watch, _ = offline
    page = watch.page
    page.hover(view("attention-view", "token-4"))
    assert "dsv-active" in (page.get_attribute(view("attention-view", "token-4"), "class") or "")
    assert "background-color" in (page.get_attribute(view("attention-view", "token-1"), "style") or "")
    page.click(view("attention-view", "token-4"))
    for name in ("attention-view", "routing-view", "prediction-view"):  # the selection is shared
        assert "dsv-selected" in (page.get_attribute(view(name, "token-4"), "class") or ""), name
    assert (page.text_content(view("routing-view", "token-experts")) or "").startswith("token 4:")
    assert page.get_attribute(view("prediction-view", "lens-position-4"), "class") == "dsv-on"
    page.click(view("prediction-view", "token-2"))
    assert "dsv-selected" in (page.get_attribute(view("attention-view", "token-2"), "class") or "")
    assert watch.errors == []


def test_editing_is_off_and_commands_say_there_is_no_kernel(offline: tuple[PageWatch, list[str]]) -> None:
    watch, requests = offline
    page = watch.page
    box = view("attention-view", "text-input")
    assert not page.is_editable(box)
    # a script changing the text anyway: the view asks for a re-trace, which cannot happen
    page.eval_on_selector(box, "area => { area.value = 'new'; area.dispatchEvent(new Event('input')); }")
    page.wait_for_function(
        "selector => document.querySelector(selector).textContent === 'error: static export: no kernel'",
        arg=view("attention-view", "status"),
    )
    assert requests == [] and watch.errors == []


def test_switching_heads_works_offline(offline: tuple[PageWatch, list[str]]) -> None:
    """The export carries every head of the shown layer, so a head click redraws without a kernel."""
    watch, requests = offline
    page = watch.page
    heatmap = view("attention-view", "attention-heatmap")
    before = int(page.get_attribute(heatmap, "data-version") or 0)
    click_head(watch, 0, 2, scope=sel("attention-view"))
    page.wait_for_function(
        "([selector, before]) => Number(document.querySelector(selector).dataset.version) > before",
        arg=[heatmap, before],
    )
    assert page.text_content(view("attention-view", "heatmap-caption")) == "layer 0 · head 2"
    assert requests == [] and watch.errors == []
