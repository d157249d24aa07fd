"""Every view in JupyterLab Light, Dark and Dark High Contrast (issue 17): text contrast ≥ 4.5:1 for
every text node of every view (computed in the page), each view's background follows the theme (canvases included: the map and
the heatmaps are not white in dark), and a screenshot per view per theme, ``theme-<view>-<theme>.png``.

One notebook on the bundled model: a Dashboard with generation (text box, attention, routing, predictions,
attributions — sampling run, so the SHAP/LIME rows and the faithfulness table are checked —, the embedding
map, generation), a Compare, a head-ablation SweepView, an ArchitectureView and an ExpertMapView. The page
is offline (a request leaving 127.0.0.1 is refused and fails the test), and Tab reaches every control."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.conftest import (
    ARTIFACTS,
    PageWatch,
    Server,
    contrast_failures,
    notebook_in_lab,
    playwright_sync,
    sel,
    set_theme,
    version,
    wait_for_newer,
)
from tests.browser.test_dashboard import LABELS, TEXTS

pytestmark = pytest.mark.browser

FIRST_TEXT = TEXTS[0]
OTHER = "Fever may indicate gout."

#: The views: a name for the screenshot, and the root's data-testid and its index among those roots.
VIEWS = {
    "text-box": ("text-box", 0),
    "attention": ("attention-view", 0),
    "routing": ("routing-view", 0),
    "predictions": ("prediction-view", 0),
    "attribution": ("attribution-view", 0),
    "embedding-map": ("embedding-scatter", 0),
    "generation": ("generation-view", 0),
    "compare": ("compare-view", 0),
    "sweep": ("sweep-view", 0),
    "architecture": ("architecture-view", 0),
    "expert-map": ("embedding-scatter", 1),
}


def root(name: str) -> str:
    testid, index = VIEWS[name]
    return f"{sel(testid)} >> nth={index}"


@pytest.fixture(scope="module")
def theme_notebook(write_notebook: Callable[[str, list[str]], Path]) -> Path:
    return write_notebook(
        "theme",
        [
            'import deepseek_viz as dv\nmodel = dv.load_model(device="cpu")',
            f"board = dv.Dashboard(model, {TEXTS!r}, {LABELS!r}, text={FIRST_TEXT!r}, generate=True)\nboard",
            f"compare = dv.Compare(model, {FIRST_TEXT!r}, text_b={OTHER!r}, layer=model.moe_layers[0])\ncompare",
            f"sweep = dv.SweepView.run(model, {FIRST_TEXT!r}, progress=False)\nsweep",
            "arch = dv.ArchitectureView(model)\narch",
            f"experts = dv.ExpertMapView(model, layer=model.moe_layers[0], texts={TEXTS!r})\nexperts",
        ],
    )


@pytest.fixture(scope="module")
def lab_theme(
    browser: playwright_sync.Browser, jupyter_lab: Server, theme_notebook: Path
) -> Iterator[PageWatch]:
    """The notebook in JupyterLab, every view drawn, the attribution's sampling rows run."""
    with notebook_in_lab(browser, jupyter_lab, theme_notebook, "text-box", offline=True) as watch:
        page = watch.page
        for testid, index in VIEWS.values():
            page.wait_for_function(
                "([t, i]) => document.querySelectorAll(`[data-testid=\"${t}\"]`)[i]?.dataset.ready === 'true'",
                arg=[testid, index],
            )
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=\"embedding-scatter\"]')]"
            ".every((n) => Number(n.dataset.points ?? 0) > 0)"
        )
        attribution = page.locator(root("attribution"))
        attribution.scroll_into_view_if_needed()
        before = version(watch, "attribution-view")
        attribution.locator(sel("run-sampling")).click()
        wait_for_newer(watch, "attribution-view", before)
        page.wait_for_selector(f"{sel('attribution-row-shap')}")
        page.wait_for_function(
            "s => document.querySelector(s)?.textContent.includes('SHAP')", arg=sel("faithfulness")
        )
        yield watch


def mean_luminance(png: bytes) -> float:
    """Mean relative lightness (0 black – 1 white) of a screenshot."""
    image = Image.open(io.BytesIO(png)).convert("L")
    histogram = image.histogram()
    return sum(i * n for i, n in enumerate(histogram)) / (255 * sum(histogram))


#: The composited background behind each canvas-holding area of the views (the map's stage above all).
STAGE_BACKGROUND = """selector => [...document.querySelectorAll(selector)].map((node) => {
  let colour = "rgba(0, 0, 0, 0)";
  for (let at = node; at; at = at.parentElement) {
    const c = getComputedStyle(at).backgroundColor;
    if (!/rgba\\(.*, 0\\)$/.test(c) && c !== "transparent") { colour = c; break; }
  }
  return colour;
})"""


def lightness(colour: str) -> float:
    r, g, b = (float(v) for v in colour[colour.index("(") + 1 :].rstrip(")").split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def read_view(watch: PageWatch, selector: str, name: str) -> tuple[float, list[dict[str, object]]]:
    """Scroll the view ``selector`` names into sight once painted, write its screenshot as
    ``ARTIFACTS/<name>.png``; its mean lightness and the text nodes that fail the contrast rule."""
    page = watch.page
    view = page.locator(selector)
    view.scroll_into_view_if_needed()
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    ARTIFACTS.mkdir(exist_ok=True)
    png = view.screenshot()
    (ARTIFACTS / f"{name}.png").write_bytes(png)
    view.evaluate("n => n.setAttribute('data-contrast-check', '1')")
    found = contrast_failures(watch, '[data-contrast-check="1"]')
    view.evaluate("n => n.removeAttribute('data-contrast-check')")
    return mean_luminance(png), found


HIGH_CONTRAST = "JupyterLab Dark High Contrast"


def set_high_contrast(page: PageWatch) -> None:
    """Switch JupyterLab to its dark high-contrast theme and wait until its style sheet applies."""
    set_theme(page, True)  # dark first: the wait below then sees the high-contrast sheet replace it
    page.page.evaluate(
        "theme => window.jupyterapp.commands.execute('apputils:change-theme', { theme })", HIGH_CONTRAST
    )
    page.page.wait_for_function("name => document.body.dataset.jpThemeName === name", arg=HIGH_CONTRAST)
    # its sheet loaded (a <link> JupyterLab adds) before the views are read
    page.page.wait_for_function(
        """() => [...document.styleSheets].some((sheet) => {
          try { return (sheet.href || "").includes("high-contrast") && sheet.cssRules.length > 0; }
          catch { return false; }
        })"""
    )
    page.page.evaluate("() => new Promise((done) => setTimeout(() => requestAnimationFrame(done), 500))")


@pytest.mark.parametrize("theme", ["light", "dark", "high-contrast"])
def test_every_view_is_legible_in_the_theme(lab_theme: PageWatch, theme: str) -> None:
    page = lab_theme.page
    dark = theme != "light"
    if theme == "high-contrast":
        set_high_contrast(lab_theme)
    else:
        set_theme(lab_theme, dark)
    ARTIFACTS.mkdir(exist_ok=True)
    failures: dict[str, list[dict[str, object]]] = {}
    shades: dict[str, float] = {}
    for name in VIEWS:
        shades[name], found = read_view(lab_theme, root(name), f"theme-{name}-{theme}")
        if found:
            failures[name] = found
    (ARTIFACTS / f"theme-contrast-{theme}.json").write_text(
        json.dumps(failures, indent=1, ensure_ascii=False)
    )
    assert failures == {}, "\n".join(f"{name}: {found}" for name, found in failures.items())
    # the views' backgrounds (their canvases too) follow the theme
    wrong = {name: round(s, 2) for name, s in shades.items() if (s > 0.5) == dark}
    assert wrong == {}
    stages = page.evaluate(STAGE_BACKGROUND, ".dsv-scatter-stage")
    assert stages and all((lightness(c) > 0.5) != dark for c in stages), stages
    assert lab_theme.errors == []
    assert lab_theme.refused == []  # nothing asked of the network, JupyterLab's own page included


#: What a keyboard user must reach with Tab: every control, and every canvas that answers the pointer
#: (a canvas inside a focusable element is reached with it; a decorative canvas says so with aria-hidden).
CONTROLS = """roots => roots.flatMap(([testid, index]) => {
  const view = document.querySelectorAll(`[data-testid="${testid}"]`)[index];
  return [...view.querySelectorAll("button, select, input, textarea, summary, a[href], [tabindex], canvas")]
    .filter((node) => node.getAttribute("tabindex") !== "-1") // a roving grid's other cells: its arrows reach them
    .filter((node) => node.getClientRects().length > 0 && !node.disabled && node.getAttribute("aria-hidden") !== "true"
      && !node.closest("[hidden], details:not([open]) > :not(summary)"))
    .map((node) => {
      const holder = node.tagName === "CANVAS" ? node.closest('[tabindex]:not([tabindex="-1"])') : null;
      return holder && view.contains(holder) ? holder : node;
    })
    .filter((node, i, all) => all.indexOf(node) === i)
    .map((node) => { node.dataset.kbd = node.dataset.kbd || String(Math.random()).slice(2); return node.dataset.kbd; });
})"""


def test_the_keyboard_reaches_every_control(lab_theme: PageWatch) -> None:
    """Tab from the first view's first control reaches every control and pointer canvas of every view."""
    page = lab_theme.page
    wanted = page.evaluate(CONTROLS, list(VIEWS.values()))
    page.locator(f'[data-kbd="{wanted[0]}"]').focus()
    reached = {wanted[0]}
    for _ in range(4 * len(wanted) + 50):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("() => document.activeElement?.dataset?.kbd ?? ''"))
        if reached >= set(wanted):
            break
    missed = page.evaluate(
        """ids => ids.map((id) => { const n = document.querySelector(`[data-kbd="${id}"]`);
          return `${n.closest("[data-testid$='-view'], [data-testid='text-box'], [data-testid='embedding-scatter']")?.dataset.testid}: `
            + `${n.tagName.toLowerCase()}[${n.dataset.testid ?? n.getAttribute("aria-label") ?? n.textContent.slice(0, 30)}]`; })""",
        [k for k in wanted if k not in reached],
    )
    assert missed == [], "\n".join(missed)


#: For each view root: its overflow (scrollWidth − clientWidth) and the controls and canvases that stick
#: out past its right edge without a scrolling panel of the view holding them.
OVERFLOW = """roots => roots.map(([testid, index]) => {
  const view = document.querySelectorAll(`[data-testid="${testid}"]`)[index];
  const right = view.getBoundingClientRect().right;
  const clipped = (node) => {
    for (let at = node.parentElement; at && at !== view; at = at.parentElement) {
      if (getComputedStyle(at).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = [...view.querySelectorAll("canvas, button, input, select, textarea")]
    .filter((n) => n.getClientRects().length > 0 && n.getBoundingClientRect().right > right + 1 && !clipped(n))
    .map((n) => n.dataset.testid ?? n.tagName.toLowerCase());
  return { testid, overflow: view.scrollWidth - view.clientWidth, out };
})"""


def test_every_view_fits_a_1024_px_notebook(lab_theme: PageWatch) -> None:
    """In a 1024 px-wide JupyterLab every view lays out inside its width: no overflow of its root and
    no control or canvas past its right edge (a heatmap wider than that scrolls inside a panel)."""
    page = lab_theme.page
    page.set_viewport_size({"width": 1024, "height": 900})
    try:
        page.evaluate("() => new Promise((done) => setTimeout(() => requestAnimationFrame(done), 300))")
        found = page.evaluate(OVERFLOW, list(VIEWS.values()))
        page.locator(root("embedding-map")).scroll_into_view_if_needed()
        lab_theme.screenshot("theme-1024px")
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})
    wide = [view for view in found if view["overflow"] > 1 or view["out"]]
    assert wide == [], wide
