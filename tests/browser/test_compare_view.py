"""Compare in Chromium against a live JupyterLab kernel, light and dark: both runs drawn, the difference
heatmap drawn with zero neutral in the theme, a head change redraws, the tooltips' text; the heatmaps'
and the lens strip's axes labelled with the tokens, every colour scale's legend and its ticks, contrast,
and the view inside a 1024 px window."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.browser.conftest import (
    PageWatch,
    contrast_failures,
    kernel_run,
    sel,
    set_theme,
    version,
    wait_for_newer,
)

pytestmark = pytest.mark.browser

TEXT = "Fever may indicate flu. 你好 🙂"
OTHER = "Fever may indicate gout. 你好 🙂"

#: The colour of the difference heatmap's zero in each theme (js/src/lib/compare/colours.ts).
NEUTRAL = {False: [247, 247, 247], True: [43, 43, 43]}

PIXELS = """c => {
  const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  const out = [];
  for (let i = 0; i < data.length; i += 4) out.push([data[i], data[i + 1], data[i + 2]]);
  return out;
}"""


@pytest.fixture(scope="module")
def lab_compare(
    view_in_lab: Callable[[str, str, str], AbstractContextManager[PageWatch]],
) -> Iterator[PageWatch]:
    """A notebook showing one Compare (variable ``view``) of two texts on the test model."""
    with view_in_lab(
        "compare",
        f"view = dv.Compare(model, {TEXT!r}, text_b={OTHER!r}, layer=model.moe_layers[0])\nview",
        "compare-view",
    ) as watch:
        yield watch


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_compare_draws_both_runs_and_the_difference(lab_compare: PageWatch, dark: bool) -> None:
    page = lab_compare.page
    set_theme(lab_compare, dark)
    # a head change redraws (after the theme applied), the kernel's head follows the select
    head = int(kernel_run(lab_compare, "print(view.head)").strip())
    before = version(lab_compare, "compare-view")
    page.select_option(sel("head-select"), str(1 - head))
    wait_for_newer(lab_compare, "compare-view", before)
    assert kernel_run(lab_compare, "print(view.head)").strip() == str(1 - head)
    assert page.text_content(sel("status")) == "ready"
    assert page.get_attribute(sel("compare-view"), "data-theme") == ("dark" if dark else "light")

    n = int(kernel_run(lab_compare, "print(view.comparison.positions)").strip())
    first = int(kernel_run(lab_compare, "print(view.comparison.differing_tokens()[0])").strip())
    # both runs' tokens, aligned by position, the differing one marked
    assert page.text_content(sel(f"token-a-{first}")) != page.text_content(sel(f"token-b-{first}"))
    assert page.get_attribute(sel(f"position-{first}"), "data-differs") == "true"
    assert page.get_attribute(sel("position-1"), "data-differs") is None
    # both patterns and the difference drawn, one pixel per cell
    for name in ("pattern-a", "pattern-b", "difference-heatmap"):
        assert page.eval_on_selector(sel(name), "c => [c.width, c.height]") == [n, n]
    pixels = page.eval_on_selector(sel("difference-heatmap"), PIXELS)
    assert pixels[0] == NEUTRAL[dark]  # query 0 reads only itself in both runs: no difference
    assert any(pixel != NEUTRAL[dark] for pixel in pixels[first * n :])  # from the differing token on
    pattern = page.eval_on_selector(sel("pattern-a"), PIXELS)
    assert len({tuple(pixel) for pixel in pattern}) > 1

    # tooltips: a heatmap cell, the experts of a position
    box = page.eval_on_selector(sel("difference-heatmap"), "c => c.getBoundingClientRect().toJSON()")
    page.mouse.move(box["x"] + box["width"] * (first + 0.5) / n, box["y"] + box["height"] * (n - 0.5) / n)
    page.wait_for_selector(f"{sel('heatmap-tooltip')}:visible")
    tip = page.text_content(sel("heatmap-tooltip")) or ""
    assert tip.startswith(f"query {n - 1} → key {first}") and "b − a" in tip
    # the keyboard: focus the heatmap, the arrows show a cell's tooltip (the first key shows 0 → 0)
    page.focus(sel("difference-heatmap"))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert (page.text_content(sel("heatmap-tooltip")) or "").startswith("query 0 → key 1")
    page.keyboard.press("Escape")
    page.hover(sel(f"routing-cell-{first}"))
    page.wait_for_selector(f"{sel('routing-tooltip')}:visible")
    tip = page.text_content(sel("routing-tooltip")) or ""
    assert f"position {first}" in tip and "\na: E" in tip and "\nb: E" in tip
    assert page.locator('[data-testid^="prediction-"]').count() >= n
    lab_compare.screenshot(f"compare-view-{'dark' if dark else 'light'}")
    assert lab_compare.errors == []


def test_attributions_on_demand_and_a_dense_layer(lab_compare: PageWatch) -> None:
    page = lab_compare.page
    assert page.locator('[data-testid^="attr-diff-"]').count() == 0  # not computed until asked
    page.click(sel("run-attributions"))
    page.wait_for_selector(sel("attr-diff-1"))
    assert "input × gradient" in (page.text_content(sel("attribution-caption")) or "")
    dense = kernel_run(
        lab_compare, "print(next(L for L in range(model.num_layers) if L not in model.moe_layers))"
    )
    page.select_option(sel("layer-select"), dense.strip())
    page.wait_for_selector(f"{sel('routing-note')}:visible")
    assert f"layer {dense.strip()} is dense" in (page.text_content(sel("routing-note")) or "")
    assert page.locator('[data-testid^="routing-cell-"]').count() == 0
    assert lab_compare.errors == []


#: Each axis label and its figure's edges, the figures' axis titles, and whether the view overflows.
LAYOUT = """root => {
  const box = (node) => node.getBoundingClientRect().toJSON();
  const labels = (testid) => [...root.querySelectorAll(`[data-testid="${testid}"] .dsv-cmp-axis-label`)]
    .map((node) => ({ text: node.textContent, title: node.title, box: box(node) }));
  const figures = [...root.querySelectorAll(".dsv-cmp-figure")];
  const parts = [...root.querySelectorAll("canvas, button, select, textarea, .dsv-cmp-axis-label, .dsv-legend")];
  return {
    root: box(root), scroll: root.scrollWidth, client: root.clientWidth, window: window.innerWidth,
    right: Math.max(...parts.map((part) => part.getBoundingClientRect().right)),
    titles: figures.map((figure) => [...figure.querySelectorAll(".dsv-cmp-axis-title")].map((n) => n.textContent)),
    figures: figures.map(box),
    query: Object.fromEntries(["a", "b", "difference"].map((n) => [n, labels(`query-labels-${n}`)])),
    key: Object.fromEntries(["a", "b", "difference"].map((n) => [n, labels(`key-labels-${n}`)])),
    lensRows: labels("lens-rows").map((l) => l.text),
    lensCols: labels("lens-columns"),
    lens: box(root.querySelector('[data-testid="lens-agreement"]')),
    lensShape: (c => [c.height, c.width])(root.querySelector('[data-testid="lens-agreement"]')),
  };
}"""

TICKS = "node => [...node.querySelectorAll('.dsv-legend-ticks span')].map((span) => span.textContent)"


def shown_label(text: str) -> str:
    """How the view labels a normal token (js/src/lib/tokens.ts tokenLabel): a leading space as ␣."""
    return "␣" + text[1:] if text.startswith(" ") else text


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_axes_legends_and_a_1024_px_notebook(lab_compare: PageWatch, dark: bool) -> None:
    page = lab_compare.page
    page.set_viewport_size({"width": 1024, "height": 900})
    try:
        set_theme(lab_compare, dark)
        page.wait_for_function(
            f"() => document.querySelector({sel('compare-view')!r})?.dataset.theme === {('dark' if dark else 'light')!r}"
        )
        if page.locator(sel("attr-diff-1")).count() == 0:
            page.click(sel("run-attributions"))
            page.wait_for_selector(sel("attr-diff-1"))
        page.wait_for_selector(f"{sel('attribution-legend')}:visible")
        entries = json.loads(
            kernel_run(lab_compare, "import json; print(json.dumps(view._tokens_a))").strip()
        )
        n = int(kernel_run(lab_compare, "print(view.comparison.positions)").strip())
        layers = int(kernel_run(lab_compare, "print(model.num_layers)").strip())
        layout = page.eval_on_selector(sel("compare-view"), LAYOUT)

        # three figures, each titled on both axes, each axis labelled with run a's tokens (none thinned)
        assert layout["titles"] == [["key →", "query ↓"]] * 3
        for axis in ("query", "key"):
            for name in ("a", "b", "difference"):
                labels = layout[axis][name]
                assert len(labels) == n, (axis, name)
                for index, (label, (text, kind)) in enumerate(zip(labels, entries, strict=False)):
                    assert label["title"].startswith(f"{axis} {index}: ")
                    if kind == 0 and text.isprintable():
                        assert label["text"] == shown_label(text), (axis, name, index)
                        assert label["title"] == f"{axis} {index}: {shown_label(text)}"
                # the labels follow the cells, in order, and never overlap
                along = "y" if axis == "query" else "x"
                centres = [
                    label["box"][along] + label["box"]["height" if along == "y" else "width"] / 2
                    for label in labels
                ]
                assert centres == sorted(centres)
                assert all(b - a >= 11 for a, b in itertools.pairwise(centres))
        # legends with ticks: the runs' scale 0 … colour max, b − a ±peak around 0
        colour_max = float(kernel_run(lab_compare, "print(view._colour_max)").strip())
        ticks = page.eval_on_selector(sel("pattern-legend"), TICKS)
        assert (
            ticks[0] == "0"
            and len(ticks) == 3
            and abs(float(ticks[-1].removeprefix("≥ ")) - colour_max) <= 0.01 * colour_max
        )
        ticks = page.eval_on_selector(sel("difference-legend"), TICKS)
        assert (
            ticks[1] == "0"
            and ticks[0].startswith("−")
            and ticks[2].startswith("+")
            and ticks[0][1:] == ticks[2][1:]
        )
        assert "b lower" in (page.text_content(sel("difference-legend")) or "")
        for legend in ("attr-legend-runs", "attr-legend-difference"):
            ticks = page.eval_on_selector(sel(legend), TICKS)
            assert ticks[1] == "0" and ticks[0].startswith("−") and ticks[2].startswith("+"), legend
        # the lens strip: layer rows embed … out, position columns of run a's tokens, cells ≥ 12 px
        rows, cols = layout["lensShape"]
        assert layout["lensRows"] == ["embed", *[f"L{i}" for i in range(layers - 1)], f"L{layers - 1} (out)"]
        assert rows == layers + 1
        start = int(kernel_run(lab_compare, "print(view._lens_start)").strip())
        assert len(layout["lensCols"]) == cols
        for offset, label in enumerate(layout["lensCols"]):
            text, kind = entries[start + offset]
            assert label["title"].startswith(f"position {start + offset}: ")
            if kind == 0 and text.isprintable():
                assert label["text"] == shown_label(text)
        assert (layout["lens"]["width"] - 2) / cols >= 12 and (layout["lens"]["height"] - 2) / rows >= 12
        legend = page.text_content(sel("lens-legend")) or ""
        assert "agrees" in legend and "differs" in legend

        # it fits the 1024 px notebook: nothing sticks out of the view, the view not out of the window
        assert layout["scroll"] <= layout["client"] + 1, layout
        assert layout["right"] <= layout["root"]["right"] + 1, layout
        assert layout["root"]["right"] <= layout["window"], layout
        assert contrast_failures(page, sel("compare-view")) == []
        page.set_viewport_size({"width": 1024, "height": 2400})  # the whole view in the picture
        page.locator(sel("compare-view")).scroll_into_view_if_needed()
        lab_compare.screenshot(f"compare-{'dark' if dark else 'light'}")
        assert lab_compare.errors == []
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})
