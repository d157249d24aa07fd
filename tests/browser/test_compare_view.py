"""Compare in Chromium against a live JupyterLab kernel, light and dark: both runs drawn, the difference
heatmap drawn with zero neutral in the theme, a head change redraws, the tooltips' text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.browser.conftest import PageWatch, kernel_run, sel, set_theme, version, wait_for_newer

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
