"""RoutingView in Chromium against a live JupyterLab kernel: draws, expert → tokens, live editing, at the
tiny model and at DeepSeek-V3's counts (256 experts in 8 groups, 58 MoE layers), light and dark."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    PageWatch,
    contrast_failures,
    kernel_run,
    sel,
    set_theme,
    v3_view_in_lab,
    version,
    wait_for_newer,
    wait_for_status,
)

pytestmark = pytest.mark.browser

TEXT = "Fever may indicate flu. 你好 🙂"


@pytest.fixture(scope="module")
def lab_routing(
    view_in_lab: Callable[[str, str, str], AbstractContextManager[PageWatch]],
) -> Iterator[PageWatch]:
    """A notebook showing one RoutingView (variable ``view``) with a small corpus."""
    with view_in_lab(
        "routing",
        (
            "from deepseek_viz.widgets.routing_view import RoutingView\n"
            f"view = RoutingView(model, text={TEXT!r}, corpus=['Quarterly revenue rose.', 'Chest pain.'])\nview"
        ),
        "routing-view",
    ) as watch:
        yield watch


def test_routing_view_draws(lab_routing: PageWatch) -> None:
    page = lab_routing.page
    assert page.text_content(sel("status")) == "ready"
    assert page.get_attribute(sel("routing-heatmap"), "data-ready") == "true"
    assert page.locator('[data-testid^="expert-1-"]').count() == 8
    assert (
        page.text_content(sel("shared-experts"))
        == "+ 1 shared expert, always on for every token (weight 1, not drawn)"
    )
    assert page.locator(f"{sel('token-view')} [data-index]").count() > 5
    size = page.eval_on_selector(sel("routing-heatmap"), "c => [c.width, c.height]")
    assert size[0] > 100 and size[1] > 50
    lab_routing.screenshot("routing-view")
    assert lab_routing.errors == []


#: The ancestors of the view (up to the page) that scroll sideways: none, in a notebook 1024 px wide.
_OVERFLOWING_ANCESTORS = """
root => {
  const out = [];
  for (let at = root.parentElement; at; at = at.parentElement) {
    if (at.scrollWidth > at.clientWidth + 1) out.push(`${at.tagName}.${at.className}`.slice(0, 80));
  }
  return out;
}
"""


def fits_1024(watch: PageWatch) -> None:
    """In a 1024 px-wide JupyterLab the view's controls are on screen and nothing around it scrolls
    sideways (its own heatmaps may scroll inside their panels)."""
    page = watch.page
    page.set_viewport_size({"width": 1024, "height": 1400})
    page.wait_for_timeout(400)  # the ResizeObserver lays the view out again
    assert page.eval_on_selector(sel("routing-view"), _OVERFLOWING_ANCESTORS) == []
    for control in ("layer-prev", "layer-select", "layer-next", "text-input", "routing-scroll"):
        right = page.eval_on_selector(sel(control), "n => n.getBoundingClientRect().right")
        assert right <= 1024, control


def check_axes_and_legend(watch: PageWatch, ticks: list[int]) -> None:
    """Row labels name tokens (full text on hover), expert ticks name experts, axes have titles, the
    gate weight's legend has three ticks, and every text of the view reads in the theme."""
    page = watch.page
    labels = page.eval_on_selector_all(
        '[data-testid^="row-label-"]', "ns => ns.map(n => [n.dataset.testid, n.textContent, n.title])"
    )
    assert len(labels) > 0
    for testid, text, title in labels:
        index = testid.removeprefix("row-label-")
        assert title == f"{index}: {text}" and text.strip()
    token_text = page.text_content(sel(labels[-1][0].replace("row-label-", "token-"))) or ""
    assert labels[-1][1].replace("␣", " ").strip() in token_text.replace("␣", " ")
    for expert in ticks:
        assert page.text_content(sel(f"expert-tick-{expert}")) == str(expert)
    font = page.eval_on_selector(f"{sel('row-labels')} span", "n => parseFloat(getComputedStyle(n).fontSize)")
    assert font >= 10
    assert page.text_content(sel("token-axis-title")) == "token ↓"
    assert (page.text_content(sel("expert-axis-title")) or "").startswith("routed expert")
    weight_ticks = page.eval_on_selector_all(sel("weight-legend-tick"), "ns => ns.map(n => n.textContent)")
    assert len(weight_ticks) == 3 and weight_ticks[0] == "0" and all(weight_ticks)
    assert page.is_visible(sel("weight-legend")) and page.is_visible(sel("legend-not-routed"))
    assert page.locator(sel("load-legend-tick")).count() == 3
    assert contrast_failures(watch, sel("routing-view")) == []


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_routing_axes_legend_and_theme(lab_routing: PageWatch, dark: bool) -> None:
    page = lab_routing.page
    set_theme(lab_routing, dark)
    kernel_run(lab_routing, "view.selected_token = -1; view.selected_expert = -1; view.layer = 1")
    page.wait_for_selector('[data-testid="expert-1-0"]')
    fits_1024(lab_routing)
    # the bundled model: 8 experts in 4 groups of 2, every expert ticked, every group named
    check_axes_and_legend(lab_routing, list(range(8)))
    assert page.locator('[data-testid^="expert-tick-"]').count() == 8
    assert page.locator('[data-testid^="group-label-"]').count() == 4
    assert page.locator('[data-testid^="group-tick-"]').count() == 4
    assert page.text_content(sel("group-axis-title")) == "group"
    assert page.locator(sel("legend-chosen-group")).count() == 1
    assert page.locator(sel("group-legend-tick")).count() == 3
    # a selected token's label is bold and stays; the tooltip still names the token
    page.click(sel("token-2"))
    page.wait_for_selector(f"{sel('row-label-2')}.dsv-on")
    page.hover(sel("routing-heatmap"), position={"x": 2, "y": 2})
    page.wait_for_selector(f"{sel('routing-tooltip')}:visible")
    assert (page.text_content(sel("routing-tooltip")) or "").startswith("0: ")
    theme = "dark" if dark else "light"
    page.set_viewport_size({"width": 1024, "height": 2000})
    page.locator(sel("routing-view")).screenshot(path=str(ARTIFACTS / f"routing-{theme}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    kernel_run(lab_routing, "view.selected_token = -1")
    assert lab_routing.errors == []


def test_clicking_an_expert_marks_its_tokens(lab_routing: PageWatch) -> None:
    expert, tokens = kernel_run(
        lab_routing,
        "r = view.trace.routing(1); e = int(r.experts[1, 0]); "
        "print(e, *[i for i in range(len(r.experts)) if e in r.experts[i]])",
    ).split(maxsplit=1)
    page = lab_routing.page
    page.click(sel(f"expert-1-{expert}"))
    page.wait_for_selector(f"{sel('token-1')}[data-routed]")
    marked = page.eval_on_selector_all(
        '[data-testid^="token-"][data-routed]', "ns => ns.map(n => n.dataset.index)"
    )
    assert marked == tokens.split()
    assert kernel_run(lab_routing, "print(view.selected_expert)").strip() == expert
    page.click(sel("token-2"))
    page.wait_for_selector(sel("token-experts-2"))
    assert "E" in (page.text_content(sel("token-experts-1")) or "")
    page.select_option(sel("layer-select"), "2")
    page.wait_for_selector('[data-testid="expert-2-0"]')
    assert kernel_run(lab_routing, "print(view.layer, view.selected_token)").strip() == "2 2"


def test_the_keyboard_walks_the_heatmap_and_picks_an_expert(lab_routing: PageWatch) -> None:
    """Focus the heatmap: the arrow keys move a cursor cell (its tooltip names the token and expert),
    Enter picks it as a click would (the kernel sees the expert)."""
    page = lab_routing.page
    kernel_run(lab_routing, "view.selected_token = -1; view.selected_expert = -1; view.layer = 1")
    page.wait_for_selector('[data-testid="expert-1-0"]')
    page.focus(sel("routing-heatmap"))
    for key in ("ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight", "ArrowRight"):  # the first shows 0, 0
        page.keyboard.press(key)
    tooltip = page.locator(sel("routing-tooltip"))
    tooltip.wait_for(state="visible")
    assert (tooltip.text_content() or "").startswith("1: ") and "expert 3 " in (tooltip.text_content() or "")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{sel('row-label-1')}.dsv-on")
    assert kernel_run(lab_routing, "print(view.selected_token, view.selected_expert)").strip() == "1 3"
    kernel_run(lab_routing, "view.selected_token = -1; view.selected_expert = -1")


def test_editing_the_text_updates_the_routing(lab_routing: PageWatch) -> None:
    page = lab_routing.page
    before = version(lab_routing, "routing-view")
    page.fill(sel("text-input"), "A journey of a thousand miles")
    wait_for_newer(lab_routing, "routing-view", before)
    assert wait_for_status(lab_routing, "ready") == "ready"
    assert page.inner_text(sel("token-view")).endswith("A journey of a thousand miles")
    assert kernel_run(lab_routing, "print(view.text)").strip() == "A journey of a thousand miles"
    tokens = page.inner_text(sel("token-view"))
    page.fill(sel("text-input"), " ".join(["a"] * 5000))
    assert "the limit is 4096" in wait_for_status(lab_routing, "error:")
    assert page.inner_text(sel("token-view")) == tokens  # the previous view stays


@pytest.fixture(scope="module")
def lab_v3(
    browser: object,
    jupyter_lab: object,
    write_notebook: Callable[[str, list[str]], Path],
    real_count_checkpoints: dict[str, Path],
) -> Iterator[PageWatch]:
    """A RoutingView of a model with DeepSeek-V3's counts, on a text of about 128 tokens."""
    with v3_view_in_lab(
        browser, jupyter_lab, write_notebook, real_count_checkpoints["v3"], "RoutingView", "routing-view"
    ) as watch:
        yield watch


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_v3_counts_overview_fits_and_layer_60_works(lab_v3: PageWatch, dark: bool) -> None:
    page = lab_v3.page
    set_theme(lab_v3, dark)
    kernel_run(lab_v3, "view.selected_token = -1; view.layer = 3")  # the other theme's run changed them
    assert page.text_content(sel("status")) == "ready"
    assert page.get_attribute(sel("routing-overview"), "data-ready") == "true"
    assert page.locator('[data-testid^="overview-group-"]').count() == 8
    assert page.locator('[data-testid^="overview-layer-"]').count() == 58
    assert page.locator('[data-testid^="expert-3-"]').count() == 256
    # the overview's canvas holds all 256 columns (≥ 3 px each) and its scroller stays within the view
    canvas_w = page.eval_on_selector(sel("routing-overview"), "c => c.getBoundingClientRect().width")
    assert canvas_w >= 256 * 3
    view_w = page.eval_on_selector(sel("routing-view"), "n => n.getBoundingClientRect().width")
    box = page.eval_on_selector(
        sel("overview-scroll"), "n => [n.getBoundingClientRect().right, n.scrollWidth, n.clientWidth]"
    )
    view_right = page.eval_on_selector(sel("routing-view"), "n => n.getBoundingClientRect().right")
    assert box[0] <= view_right + 1 and box[1] >= canvas_w  # scrolls inside, never cut off
    assert view_w > 0
    # hover the overview: a tooltip with layer, expert and group
    page.hover(sel("routing-overview"), position={"x": 5, "y": 3})
    page.wait_for_selector(f"{sel('overview-tooltip')}:visible")
    tip = page.text_content(sel("overview-tooltip")) or ""
    assert tip.startswith("layer 3 · expert ") and "(group 0)" in tip and "token" in tip
    # pick layer 60 with the select; its routing arrives
    page.select_option(sel("layer-select"), "60")
    page.wait_for_selector('[data-testid="expert-60-0"]')
    assert kernel_run(lab_v3, "print(view.layer, view._routed_layer)").strip() == "60 60"
    assert (page.text_content(sel("routing-caption")) or "").startswith("layer 60 · top-8 of 256")
    # click an overview row: that layer
    row_y = page.eval_on_selector(sel("routing-overview"), "c => c.getBoundingClientRect().height") - 2
    page.click(sel("routing-overview"), position={"x": 5, "y": row_y})
    page.wait_for_function("() => document.querySelector('[data-testid=\"layer-select\"]').value === '60'")
    page.click(sel("token-3"))
    page.wait_for_selector(sel("token-experts-60"))
    assert "groups" in (page.text_content(sel("token-experts-60")) or "")
    # labels at V3's counts: 256 experts ticked every 8th (each group's first among them), 8 groups
    # named, 128 token rows labelled where they fit, the view inside a 1024 px notebook
    assert page.locator('[data-testid^="expert-tick-"]').count() == 32
    assert page.locator('[data-testid^="group-label-"]').count() == 8
    assert page.text_content(sel("group-label-7")) == "group 7"
    assert page.locator('[data-testid^="row-label-"]').count() >= 20
    assert page.eval_on_selector(sel("row-label-3"), "n => n.classList.contains('dsv-on')")
    fits_1024(lab_v3)
    check_axes_and_legend(lab_v3, [0, 8, 32, 64, 128, 248])
    # the column labels scroll with the canvas when it is wider than its panel
    scroll = page.eval_on_selector(sel("routing-scroll"), "n => [n.scrollWidth, n.clientWidth]")
    assert scroll[0] > scroll[1]  # at 1024 px, 256 columns of 3 px do not fit beside the labels
    if scroll[0] > scroll[1]:
        before = page.eval_on_selector(sel("expert-tick-248"), "n => n.getBoundingClientRect().left")
        canvas_before = page.eval_on_selector(sel("routing-heatmap"), "n => n.getBoundingClientRect().left")
        page.eval_on_selector(sel("routing-scroll"), "n => { n.scrollLeft = 200; }")
        page.wait_for_timeout(100)
        after = page.eval_on_selector(sel("expert-tick-248"), "n => n.getBoundingClientRect().left")
        canvas_after = page.eval_on_selector(sel("routing-heatmap"), "n => n.getBoundingClientRect().left")
        assert abs((before - after) - (canvas_before - canvas_after)) < 1 and before - after > 100
        labels_left = page.eval_on_selector(sel("row-labels"), "n => n.getBoundingClientRect().left")
        scroller_left = page.eval_on_selector(sel("routing-scroll"), "n => n.getBoundingClientRect().left")
        assert abs(labels_left - scroller_left) <= 2  # the token labels stay in view
        page.eval_on_selector(sel("routing-scroll"), "n => { n.scrollLeft = 0; }")
    theme = "dark" if dark else "light"
    page.set_viewport_size({"width": 1024, "height": 2400})
    page.locator(sel("routing-view")).screenshot(path=str(ARTIFACTS / f"routing-v3-{theme}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    assert lab_v3.errors == []
