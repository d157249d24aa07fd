"""RoutingView in Chromium against a live JupyterLab kernel: draws, expert → tokens, live editing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.browser.conftest import (
    PageWatch,
    kernel_run,
    sel,
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
    assert page.text_content(sel("shared-experts")) == "shared ×1"
    assert page.locator(f"{sel('token-view')} [data-index]").count() > 5
    size = page.eval_on_selector(sel("routing-heatmap"), "c => [c.width, c.height]")
    assert size[0] > 100 and size[1] > 50
    lab_routing.screenshot("routing-view")
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
    page.click(sel("moe-layer-2"))
    page.wait_for_selector('[data-testid="expert-2-0"]')
    assert kernel_run(lab_routing, "print(view.layer, view.selected_token)").strip() == "2 2"


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
