"""EmbeddingScatter in Chromium, against a live JupyterLab kernel: drawing, hover, box selection synced
to Python, a linked AttentionView (click loads a text, editing moves the live point); in light and dark:
the caption, the live point's legend entry, the box | lasso tools, the selection panel (counts, texts
that load into the linked view, clear) and every point on the canvas in a 1024 px-wide page.

Point positions on screen come from the coordinates (read through the kernel) and the camera the widget
publishes in ``data-camera`` (``{cx, cy, scale, width, height}``: plane point at the canvas centre, CSS
pixels per unit, canvas size).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    PageWatch,
    Server,
    contrast_failures,
    kernel_run,
    kernel_value,
    notebook_in_lab,
    playwright_sync,
    sel,
    set_theme,
)

pytestmark = pytest.mark.browser

HTML_TEXT = "<img src=x onerror=alert(1)> <b>bold</b> claim"
TOPICS = ["Quarterly revenue rose", "Fever may indicate flu", "The cat sat on", "Heavy rain tomorrow in"]
TEXTS = [f"{topic} #{i}" for i in range(8) for topic in TOPICS] + [HTML_TEXT]
LABELS = [["finance", "health", "pets", "weather"][i % 4] for i in range(len(TEXTS) - 1)] + ["html"]
ROOT = sel("embedding-scatter")


@pytest.fixture(scope="module")
def scatter_notebook(write_notebook: Callable[[str, list[str]], Path], model_expression: str) -> Path:
    """An EmbeddingScatter (``scatter``, PCA) linked to an AttentionView (``view``)."""
    return write_notebook(
        "embedding_scatter",
        [
            "import json\nimport numpy as np\nimport deepseek_viz as dv\n"
            "from deepseek_viz.widgets import AttentionView\n"
            "from deepseek_viz.widgets.embedding_scatter import EmbeddingScatter\n"
            f"model = {model_expression}\ntexts = {TEXTS!r}\nlabels = {LABELS!r}",
            'scatter = EmbeddingScatter(model, texts, labels, method="pca", progress=False)\n'
            "view = AttentionView(model, text=texts[0], layer=0, heads=[0])\n"
            "link = scatter.link(view)\nscatter",
            "view",
        ],
    )


@pytest.fixture(scope="module")
def lab_scatter(
    browser: playwright_sync.Browser, jupyter_lab: Server, scatter_notebook: Path
) -> Iterator[PageWatch]:
    """The notebook open in JupyterLab, all cells run, both widgets drawn."""
    with notebook_in_lab(browser, jupyter_lab, scatter_notebook, "embedding-scatter") as watch:
        watch.page.wait_for_selector('[data-testid="attention-view"][data-ready="true"]')
        yield watch


def coords(page: PageWatch) -> list[list[float]]:
    return list(json.loads(kernel_run(page, "print(json.dumps(scatter.projection.coords.tolist()))")))


def screen_position(page: PageWatch, point: list[float]) -> tuple[float, float]:
    """Page pixel of a plane point, from the camera the widget published."""
    locator = page.page.locator(f"{ROOT} .dsv-scatter-input")
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None
    camera = json.loads(page.page.get_attribute(ROOT, "data-camera") or "{}")
    x = camera["width"] / 2 + (point[0] - camera["cx"]) * camera["scale"]
    y = camera["height"] / 2 - (point[1] - camera["cy"]) * camera["scale"]
    return box["x"] + x, box["y"] + y


def loneliest(points: list[list[float]]) -> int:
    """The point farthest from its nearest neighbour (hovering it cannot hit another)."""

    def gap(i: int) -> float:
        return min(
            (points[i][0] - p[0]) ** 2 + (points[i][1] - p[1]) ** 2 for j, p in enumerate(points) if j != i
        )

    return max(range(len(points)), key=gap)


def test_scatter_draws(lab_scatter: PageWatch) -> None:
    page = lab_scatter.page
    assert page.get_attribute(ROOT, "data-renderer") in ("webgl", "canvas")
    assert page.locator(f"{sel('scatter-legend')} .dsv-legend-entry").count() == 5
    assert page.text_content(f"{sel('legend-4')} .dsv-legend-name") == "html"
    assert page.text_content(f"{ROOT} {sel('status')}") == "ready"
    assert page.is_visible(sel("live-point"))  # the linked view's text
    page.locator(ROOT).scroll_into_view_if_needed()
    lab_scatter.screenshot("embedding-scatter")
    assert lab_scatter.errors == []


def test_hover_shows_text_and_label(lab_scatter: PageWatch) -> None:
    page = lab_scatter.page
    points = coords(lab_scatter)
    for index in (len(TEXTS) - 1, loneliest(points)):
        page.mouse.move(*screen_position(lab_scatter, points[index]))
        page.wait_for_function(
            "([selector, index]) => document.querySelector(selector)?.dataset.index === String(index)",
            arg=[sel("scatter-tooltip"), index],
        )
        assert page.is_visible(sel("scatter-tooltip"))
        assert page.inner_text(sel("scatter-tooltip")).split("\n") == [TEXTS[index], LABELS[index]]
    assert page.locator(f"{sel('scatter-tooltip')} img, {sel('scatter-tooltip')} b").count() == 0
    page.mouse.move(0, 0)
    assert lab_scatter.dialogs == []


def box_select_left_half(page: PageWatch) -> list[int]:
    """Shift-drag a box around the left half of the points; the indices inside it."""
    points = coords(page)
    positions = [screen_position(page, point) for point in points]
    xs = sorted(x for x, _ in positions)
    ys = sorted(y for _, y in positions)
    x0, x1 = xs[0] - 5, (xs[len(xs) // 2] + xs[len(xs) // 2 + 1]) / 2  # the left half of the points
    y0, y1 = ys[0] - 5, ys[-1] + 5
    expected = [i for i, (x, y) in enumerate(positions) if x0 <= x <= x1 and y0 <= y <= y1]
    assert 0 < len(expected) < len(points)
    mouse, keyboard = page.page.mouse, page.page.keyboard
    keyboard.down("Shift")
    mouse.move(x0, y0)
    mouse.down()
    mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    mouse.move(x1, y1, steps=4)
    mouse.up()
    keyboard.up("Shift")
    return expected


def test_box_select_sets_selected_in_python(lab_scatter: PageWatch) -> None:
    page = lab_scatter.page
    expected = box_select_left_half(lab_scatter)
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.textContent === text",
        arg=[sel("selection-count"), f"{len(expected)} selected"],
    )
    assert kernel_run(lab_scatter, "print(scatter.selected)").strip() == str(expected)
    kernel_run(lab_scatter, "scatter.selected = [1, 2]")
    page.wait_for_function(
        "selector => document.querySelector(selector)?.textContent === '2 selected'",
        arg=sel("selection-count"),
    )
    page.click(sel("clear-selection"))
    page.wait_for_function(
        "selector => document.querySelector(selector)?.textContent === ''", arg=sel("selection-count")
    )
    assert kernel_run(lab_scatter, "print(scatter.selected)").strip() == "[]"


def test_click_loads_the_text_into_the_linked_view(lab_scatter: PageWatch) -> None:
    page = lab_scatter.page
    points = coords(lab_scatter)
    index = loneliest(points)
    page.mouse.click(*screen_position(lab_scatter, points[index]))
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.value === text",
        arg=[sel("text-input"), TEXTS[index]],
    )
    assert (
        kernel_run(lab_scatter, f"print(scatter.clicked, view.text == texts[{index}])").strip()
        == f"{index} True"
    )


def test_the_keyboard_steps_through_the_points_and_picks_one(lab_scatter: PageWatch) -> None:
    """Focus the map: n steps the hovered point (its tooltip shows its text), Enter loads it, and the
    arrow keys pan (the camera moves), 0 fits again."""
    page = lab_scatter.page
    stage = page.locator(".dsv-scatter-input").first
    stage.focus()
    for _ in range(3):  # points 0, 1, 2
        page.keyboard.press("n")
    tooltip = page.locator(sel("scatter-tooltip")).first
    tooltip.wait_for(state="visible")
    assert tooltip.get_attribute("data-index") == "2"
    page.keyboard.press("p")
    assert tooltip.get_attribute("data-index") == "1"
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.value === text",
        arg=[sel("text-input"), TEXTS[1]],
    )
    assert kernel_run(lab_scatter, "print(scatter.clicked)").strip() == "1"
    fitted = page.get_attribute(ROOT, "data-camera")
    camera = "([root, camera]) => document.querySelector(root).dataset.camera {} camera"
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(camera.format("!=="), arg=[ROOT, fitted])
    assert (
        json.loads(page.get_attribute(ROOT, "data-camera") or "{}")["cx"] < json.loads(fitted or "{}")["cx"]
    )  # looks further left
    page.keyboard.press("0")
    page.wait_for_function(camera.format("==="), arg=[ROOT, fitted])
    page.keyboard.press("Escape")
    tooltip.wait_for(state="hidden")


def test_editing_the_view_moves_the_live_point(lab_scatter: PageWatch) -> None:
    page = lab_scatter.page
    kernel_run(lab_scatter, "view.text = texts[0]")
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.title === text",
        arg=[sel("live-point"), TEXTS[0]],
    )
    before = (
        page.get_attribute(sel("live-point"), "data-x"),
        page.get_attribute(sel("live-point"), "data-y"),
    )
    page.fill(sel("text-input"), "Fever may indicate flu, or a heart attack")
    page.wait_for_function(
        "([selector, x]) => document.querySelector(selector)?.dataset.x !== x",
        arg=[sel("live-point"), before[0]],
    )
    check = (
        "expected = scatter.projection.transform(dv.embed_texts(model, [view.text], progress=False))[0]\n"
        "print(view.text, np.allclose(scatter.live_point, expected, rtol=1e-5))"
    )
    assert kernel_run(lab_scatter, check).strip() == "Fever may indicate flu, or a heart attack True"
    assert page.is_visible(sel("live-point"))
    assert lab_scatter.errors == []


def theme_name(dark: bool) -> str:
    return "dark" if dark else "light"


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_map_says_what_it_shows_and_its_tools_switch(lab_scatter: PageWatch, dark: bool) -> None:
    page = lab_scatter.page
    set_theme(lab_scatter, dark)
    kernel_run(lab_scatter, "scatter.selected = []; view.text = texts[0]")
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.title === text",
        arg=[sel("legend-live"), TEXTS[0]],
    )
    # the caption names the method, the layer and pooling, the dimension and the count (from Python)
    layers = int(kernel_run(lab_scatter, "print(model.num_layers)"))
    caption = page.text_content(sel("scatter-caption")) or ""
    assert caption == kernel_run(lab_scatter, "print(scatter.description)").strip()
    assert f"{len(TEXTS)} texts" in caption and "PCA to 2-D" in caption
    assert f"layer {layers}'s mean-pooled hidden state" in caption

    # the live point has a legend entry, drawn as the diamond on the map
    assert page.text_content(sel("legend-live")) == "the text being edited"
    looks = page.evaluate(
        """([entry, point]) => [entry, point].map((selector) => {
            const style = getComputedStyle(document.querySelector(selector));
            return [style.backgroundColor, style.borderColor, style.transform, style.width];
        })""",
        [f"{sel('legend-live')} .dsv-live-diamond", sel("live-point")],
    )
    assert looks[0] == looks[1]

    # box | lasso: two buttons, keyboard reachable, aria-pressed on the tool in use; the hint says so
    def pressed() -> list[str | None]:
        return [page.get_attribute(sel(f"select-{tool}"), "aria-pressed") for tool in ("box", "lasso")]

    page.focus(sel("select-box"))
    page.keyboard.press("Space")
    assert pressed() == ["true", "false"]
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.testid") == "select-lasso"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible
    page.keyboard.press("Enter")
    assert pressed() == ["false", "true"]
    assert page.text_content(sel("select-lasso")) == "lasso"
    assert "shift-drag: select (lasso)" in (page.text_content(f"{ROOT} .dsv-scatter-hint") or "")
    page.click(sel("select-box"))
    assert pressed() == ["true", "false"]

    page.locator(ROOT).scroll_into_view_if_needed()
    lab_scatter.screenshot(f"embedding-map-{theme_name(dark)}")
    assert contrast_failures(lab_scatter, ROOT) == []
    assert lab_scatter.errors == []


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_selection_fills_the_panel_and_its_texts_load(lab_scatter: PageWatch, dark: bool) -> None:
    page = lab_scatter.page
    set_theme(lab_scatter, dark)
    kernel_run(lab_scatter, "scatter.selected = []; view.text = texts[0]")
    assert page.is_hidden(sel("selection-panel"))
    page.click(sel("select-box"))
    expected = box_select_left_half(lab_scatter)
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.textContent === text",
        arg=[sel("selection-count"), f"{len(expected)} selected"],
    )
    assert kernel_run(lab_scatter, "print(scatter.selected)").strip() == str(expected)
    # the count per label, most first, and the first ten texts, as text
    counts: dict[str, int] = {}
    for index in expected:
        counts[LABELS[index]] = counts.get(LABELS[index], 0) + 1
    shown = page.locator(f"{sel('selection-labels')} .dsv-selection-label")
    pairs = [
        (
            shown.nth(i).locator(".dsv-selection-label-name").text_content(),
            shown.nth(i).locator(".dsv-selection-label-count").text_content(),
        )
        for i in range(shown.count())
    ]
    assert sorted(pairs) == sorted((name, str(n)) for name, n in counts.items())
    assert [int(n or 0) for _, n in pairs] == sorted(counts.values(), reverse=True)
    items = page.locator(sel("selection-item"))
    assert items.all_text_contents() == [TEXTS[i] for i in expected[:10]]
    if len(expected) > 10:
        assert f"and {len(expected) - 10} more" in (page.text_content(sel("selection-more")) or "")
    page.locator(sel("selection-panel")).scroll_into_view_if_needed()
    lab_scatter.screenshot(f"embedding-selection-{theme_name(dark)}")
    assert contrast_failures(lab_scatter, ROOT) == []

    # a listed text is clicked like its point: it loads into the linked view (the kernel sees it)
    index = expected[1]
    page.click(f'{sel("selection-item")}[data-index="{index}"]')
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.value === text",
        arg=[sel("text-input"), TEXTS[index]],
    )
    answer = kernel_value(lab_scatter, f"(scatter.clicked, view.text == texts[{index}])", f"({index}, True)")
    assert answer == f"({index}, True)"
    # Python's `selected` is the source of truth: setting it there updates the panel
    kernel_run(lab_scatter, "scatter.selected = [len(texts) - 1]")
    page.wait_for_function(
        "selector => document.querySelector(selector)?.textContent === '1 selected'",
        arg=sel("selection-count"),
    )
    assert items.all_text_contents() == [HTML_TEXT]
    assert page.locator(f"{sel('selection-panel')} img, {sel('selection-panel')} b").count() == 0
    # clear empties `selected` in Python and hides the panel
    page.click(sel("clear-selection"))
    assert kernel_value(lab_scatter, "scatter.selected", "[]") == "[]"
    page.wait_for_selector(sel("selection-panel"), state="hidden")
    assert lab_scatter.errors == [] and lab_scatter.dialogs == []


def test_every_point_is_on_the_canvas_in_a_1024_px_page(lab_scatter: PageWatch) -> None:
    page = lab_scatter.page
    set_theme(lab_scatter, False)
    before = json.loads(page.get_attribute(ROOT, "data-camera") or "{}")["width"]
    page.set_viewport_size({"width": 1024, "height": 900})
    try:
        page.wait_for_function(
            "([selector, width]) => JSON.parse(document.querySelector(selector).dataset.camera).width < width",
            arg=[ROOT, before],
        )
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        locator = page.locator(f"{ROOT} .dsv-scatter-input")
        locator.scroll_into_view_if_needed()
        box = locator.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1024
        radius = 3.5  # half a point of a small set (palette.ts pointSize)
        for point in coords(lab_scatter):
            x, y = screen_position(lab_scatter, point)
            assert box["x"] + radius <= x <= box["x"] + box["width"] - radius
            assert box["y"] + radius <= y <= box["y"] + box["height"] - radius
        assert page.get_attribute(ROOT, "data-fit") == "all"  # and the view says so
        # the whole view fits the page's width: nothing of it is cut or scrolls sideways
        right = page.evaluate(f"() => document.querySelector('{ROOT}').getBoundingClientRect().right")
        assert right <= 1024
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})


# --- 3-D ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab_scatter_3d(
    browser: playwright_sync.Browser,
    jupyter_lab: Server,
    write_notebook: Callable[[str, list[str]], Path],
    model_expression: str,
) -> Iterator[PageWatch]:
    """A 3-D EmbeddingScatter (``scatter``, PCA, ``dims=3``) linked to an AttentionView (``view``)."""
    notebook = write_notebook(
        "embedding_scatter_3d",
        [
            "import json\nimport numpy as np\nimport deepseek_viz as dv\n"
            "from deepseek_viz.widgets import AttentionView\n"
            "from deepseek_viz.widgets.embedding_scatter import EmbeddingScatter\n"
            f"model = {model_expression}\ntexts = {TEXTS!r}\nlabels = {LABELS!r}",
            'scatter = EmbeddingScatter(model, texts, labels, method="pca", dims=3, progress=False)\n'
            "view = AttentionView(model, text=texts[0], layer=0, heads=[0])\n"
            "link = scatter.link(view)\nscatter",
            "view",
        ],
    )
    with notebook_in_lab(browser, jupyter_lab, notebook, "embedding-scatter") as watch:
        watch.page.wait_for_selector('[data-testid="attention-view"][data-ready="true"]')
        yield watch


def plane_points(page: PageWatch) -> list[list[float]]:
    """The 3-D points on the plane under the orbit the widget published (``data-orbit``), as
    ``camera.ts``'s ``orbitToPlane`` puts them."""
    orbit = json.loads(page.page.get_attribute(ROOT, "data-orbit") or "{}")
    yaw, pitch, origin = orbit["yaw"], orbit["pitch"], orbit["origin"]
    cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    rows = [(cy, 0.0, sy), (sp * sy, cp, -sp * cy)]
    out = []
    for point in coords(page):
        centred = [point[axis] - origin[axis] for axis in range(3)]
        out.append([sum(r * c for r, c in zip(row, centred, strict=True)) for row in rows])
    return out


def stage_pixels(page: PageWatch) -> bytes:
    return page.page.locator(f"{ROOT} .dsv-scatter-stage").screenshot()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_3d_draws_rotates_and_a_click_loads_a_text(lab_scatter_3d: PageWatch, dark: bool) -> None:
    page = lab_scatter_3d.page
    set_theme(lab_scatter_3d, dark)
    assert page.get_attribute(ROOT, "data-dims") == "3" and page.get_attribute(ROOT, "data-orbit")
    assert page.text_content(f"{ROOT} {sel('status')}") == "ready"
    assert "drag: rotate" in (page.text_content(f"{ROOT} .dsv-scatter-hint") or "")
    page.locator(ROOT).scroll_into_view_if_needed()
    lab_scatter_3d.screenshot(f"embedding-scatter-3d-{'dark' if dark else 'light'}")

    # a drag rotates: the orbit and the pixels change, nothing is selected or clicked
    before, orbit = stage_pixels(lab_scatter_3d), page.get_attribute(ROOT, "data-orbit")
    box = page.locator(f"{ROOT} .dsv-scatter-input").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 25, steps=6)
    page.mouse.move(x + 120, y + 40, steps=6)
    page.mouse.up()
    page.wait_for_function(
        "([selector, orbit]) => document.querySelector(selector)?.dataset.orbit !== orbit", arg=[ROOT, orbit]
    )
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert stage_pixels(lab_scatter_3d) != before
    assert kernel_run(lab_scatter_3d, "print(scatter.selected)").strip() == "[]"

    # a click on a point (where the rotated projection puts it) loads its text into the linked view
    points = plane_points(lab_scatter_3d)
    index = loneliest(points)
    page.mouse.move(*screen_position(lab_scatter_3d, points[index]))
    page.wait_for_function(
        "([selector, index]) => document.querySelector(selector)?.dataset.index === String(index)",
        arg=[sel("scatter-tooltip"), index],
    )
    page.mouse.click(*screen_position(lab_scatter_3d, points[index]))
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.value === text",
        arg=[sel("text-input"), TEXTS[index]],
    )
    assert kernel_run(lab_scatter_3d, "print(scatter.clicked)").strip() == str(index)
    kernel_run(lab_scatter_3d, "view.text = texts[0]")
    assert lab_scatter_3d.errors == []
