"""ExpertMapView in Chromium against a live kernel, light and dark: drawn with its load legend and
caption, hovering an expert shows its load, a click selects it here and in the linked RoutingView, a
selection is listed under the map (a listed expert selects like a click)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.browser.conftest import PageWatch, contrast_failures, kernel_run, kernel_value, sel, set_theme
from tests.browser.test_embedding_scatter import loneliest, screen_position

pytestmark = pytest.mark.browser

TEXTS = ["Fever may indicate flu.", "Quarterly revenue rose 12%.", "The cat sat on the mat.", "你好，世界"]
ROOT = sel("embedding-scatter")


@pytest.fixture(scope="module")
def lab_map(view_in_lab: Callable[[str, str, str], AbstractContextManager[PageWatch]]) -> Iterator[PageWatch]:
    code = (
        "import json\n"
        f"texts = {TEXTS!r}\n"
        "routing = dv.RoutingView(model, text=texts[0])\n"
        "experts = dv.ExpertMapView(model, layer=model.moe_layers[0], texts=texts)\n"
        "link = experts.link(routing)\n"
        "display(routing)\nexperts"
    )
    with view_in_lab("expert_map", code, "embedding-scatter") as watch:
        watch.page.wait_for_selector('[data-testid="routing-view"][data-ready="true"]')
        yield watch


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_expert_map_draws_and_a_click_selects_in_the_routing_view(lab_map: PageWatch, dark: bool) -> None:
    page = lab_map.page
    set_theme(lab_map, dark)
    facts = json.loads(
        kernel_run(
            lab_map,
            "print(json.dumps({'n': len(experts), 'bands': experts._label_names, 'layer': experts.layer, "
            "'points': experts.result.positions.tolist()}))",
        )
    )
    assert page.get_attribute(ROOT, "data-mode") == "experts"
    assert page.get_attribute(ROOT, "data-points") == str(facts["n"])
    assert page.text_content(f"{ROOT} {sel('status')}") == "ready"
    assert "co-activation" in (page.text_content(sel("scatter-caption")) or "")
    names = page.locator(f"{sel('scatter-legend')} .dsv-legend-name").all_text_contents()
    assert names == facts["bands"] or (len(facts["bands"]) < 2 and names == [])
    page.locator(ROOT).scroll_into_view_if_needed()
    lab_map.screenshot(f"expert-map-{'dark' if dark else 'light'}")
    # the caption is legible in the theme: its colour differs from the page behind it
    colours = page.evaluate(
        """selector => {
            const node = document.querySelector(selector);
            return [getComputedStyle(node).color, getComputedStyle(document.body).backgroundColor];
        }""",
        sel("scatter-caption"),
    )
    assert colours[0] != colours[1]

    points = facts["points"]
    index = loneliest(points)
    page.mouse.move(*screen_position(lab_map, points[index]))
    page.wait_for_function(
        "([selector, index]) => document.querySelector(selector)?.dataset.index === String(index)",
        arg=[sel("scatter-tooltip"), index],
    )
    assert page.inner_text(sel("scatter-tooltip")).startswith(f"expert {index} · ")
    kernel_run(lab_map, "routing.selected_expert = -1; experts.selected_expert = -1")
    page.mouse.click(*screen_position(lab_map, points[index]))
    expected = [str(index), str(index), str(facts["layer"])]
    answer: list[str] = []
    for _ in range(100):  # the click's command reaches the kernel, which sets both views
        answer = kernel_run(
            lab_map, "print(experts.selected_expert, routing.selected_expert, routing.layer)"
        ).split()
        if answer == expected:
            break
        page.wait_for_timeout(100)
    assert answer == expected
    page.wait_for_function(  # and the routing view shows it: the expert's tokens are marked
        "selector => document.querySelectorAll(selector).length > 0", arg=f"{sel('routing-view')} .dsv-routed"
    )
    assert lab_map.errors == [] and lab_map.dialogs == []


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_selected_experts_are_listed_and_a_listed_one_selects(lab_map: PageWatch, dark: bool) -> None:
    page = lab_map.page
    set_theme(lab_map, dark)
    kernel_run(
        lab_map, "experts.selected = [1, 3]; routing.selected_expert = -1; experts.selected_expert = -1"
    )
    page.wait_for_function(
        "selector => document.querySelector(selector)?.textContent === '2 selected'",
        arg=sel("selection-count"),
    )
    items = page.locator(sel("selection-item"))
    assert [text.split(" · ")[0] for text in items.all_text_contents()] == ["expert 1", "expert 3"]
    assert all("\n" not in text and "top tokens" not in text for text in items.all_text_contents())
    page.locator(sel("selection-panel")).scroll_into_view_if_needed()
    lab_map.screenshot(f"expert-map-selection-{'dark' if dark else 'light'}")
    assert contrast_failures(lab_map, ROOT) == []
    page.click(f'{sel("selection-item")}[data-index="3"]')
    assert kernel_value(lab_map, "experts.selected_expert, routing.selected_expert", "3 3") == "3 3"
    page.click(sel("clear-selection"))
    assert kernel_value(lab_map, "experts.selected", "[]") == "[]"
    assert lab_map.errors == [] and lab_map.dialogs == []
