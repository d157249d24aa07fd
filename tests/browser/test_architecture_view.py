"""ArchitectureView in Chromium against a live JupyterLab kernel, light and dark, in a 1024 px window:
the parts are drawn as text, DeepSeek-V3's 58 MoE layers are one group that expands, a click (or Tab and
Enter) selects a layer in the kernel and shows it in a linked AttentionView."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.browser.conftest import PageWatch, kernel_run, kernel_value, sel, set_theme
from tests.real_counts import REAL_COUNT_CONFIGS

pytestmark = pytest.mark.browser

TEXT = "Fever may indicate flu."
V3_CONFIG = json.dumps(REAL_COUNT_CONFIGS["v3"]().to_dict())

CODE = f"""
import json, ipywidgets, torch
from transformers import AutoModelForCausalLM, DeepseekV3Config
torch.manual_seed(0)
v3 = dv.HookedModel(
    AutoModelForCausalLM.from_config(DeepseekV3Config.from_dict(json.loads({V3_CONFIG!r}))),
    model.tokenizer,
    name="v3-counts",
)
arch = dv.ArchitectureView(model)
attention = dv.AttentionView(model, {TEXT!r})
arch.link(attention)
big = dv.ArchitectureView(v3)
ipywidgets.VBox([arch, attention, big])
"""

MOE_GROUP = "layers 3–60: MLA + MoE 256 experts, 8 groups (4 a token), top-8, 1 shared"


@pytest.fixture(scope="module")
def lab_architecture(
    view_in_lab: Callable[[str, str, str], AbstractContextManager[PageWatch]],
) -> Iterator[PageWatch]:
    with view_in_lab("architecture", CODE, "architecture-view") as watch:
        watch.page.set_viewport_size({"width": 1024, "height": 900})
        watch.page.wait_for_selector(f'{sel("attention-view")}[data-ready="true"]')
        watch.page.wait_for_function(
            '() => document.querySelectorAll(\'[data-testid="architecture-view"][data-ready="true"]\').length === 2'
        )
        yield watch


def view(index: int) -> str:
    return f'[data-testid="architecture-view"] >> nth={index}'


def luminance(page: PageWatch, locator: str, prop: str) -> float:
    """Relative luminance of a computed colour property of the element ``locator`` finds."""
    rgb = page.page.locator(locator).evaluate(
        "(n, prop) => getComputedStyle(n)[prop].match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number)", prop
    )
    channels = [c / 255 for c in rgb]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_architecture_view_draws_expands_and_selects_a_layer_in_a_linked_attention_view(
    lab_architecture: PageWatch, dark: bool
) -> None:
    page = lab_architecture.page
    set_theme(lab_architecture, dark)
    kernel_run(lab_architecture, "arch.selected_layer = -1; big.selected_layer = -1; attention.layer = 0")
    small, big = page.locator(view(0)), page.locator(view(1))
    assert small.locator(sel("status")).text_content() == "ready"
    # the small model: every part drawn as text, its two groups open
    assert "400 × 32" in (small.locator(sel("arch-embedding")).text_content() or "")
    assert small.locator(sel("arch-group-label-0")).text_content() == "layer 0: MLA + dense 48"
    assert small.locator(sel("arch-group-label-1")).text_content() == (
        "layers 1–2: MLA + MoE 8 experts, 4 groups (2 a token), top-2, 1 shared"
    )
    total = kernel_run(lab_architecture, "print(f'{arch.structure.parameters:,}')").strip()
    assert total in (small.locator(sel("arch-total")).text_content() or "")
    assert (
        small.locator(sel("arch-final-norm")).is_visible() and small.locator(sel("arch-lm-head")).is_visible()
    )
    # a click selects the layer in the kernel and shows its heads in the linked attention view
    small.locator(sel("arch-layer-2")).click()
    small.locator(f"{sel('arch-layer-2')}.dsv-on").wait_for()
    assert kernel_value(lab_architecture, "arch.selected_layer, attention.layer", "2 2") == "2 2"
    page.wait_for_selector(f"{sel('head-2-0')}.dsv-on")
    assert "MoE: 8 routed experts" in (small.locator(sel("arch-details")).text_content() or "")
    # keyboard: Tab from layer 0 passes the next group's toggle to layer 1; Enter selects it
    small.locator(sel("arch-layer-0")).focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.testid") == "arch-layer-1"
    page.keyboard.press("Enter")
    small.locator(f"{sel('arch-layer-1')}.dsv-on").wait_for()
    assert kernel_value(lab_architecture, "arch.selected_layer, attention.layer", "1 1") == "1 1"
    # the text reads in this theme: a layer button's text stands out from its background
    button = f"{view(0)} >> {sel('arch-layer-0')}"
    assert (
        abs(
            luminance(lab_architecture, button, "color")
            - luminance(lab_architecture, button, "backgroundColor")
        )
        > 0.4
    )
    # V3's counts: 61 layers in two groups, the 58 MoE layers collapsed until expanded
    big.scroll_into_view_if_needed()
    assert big.locator(sel("arch-group-label-1")).text_content() == MOE_GROUP
    assert big.locator('[data-testid^="arch-group-label-"]').count() == 2
    layers = big.locator(sel("arch-group-layers-1"))
    if layers.is_visible():  # left open by the other theme's run
        big.locator(sel("arch-group-toggle-1")).click()
    assert layers.is_hidden()
    big.locator(sel("arch-group-toggle-1")).click()
    assert layers.is_visible() and layers.locator("button").count() == 58
    big.locator(sel("arch-layer-42")).click()
    big.locator(f"{sel('arch-layer-42')}.dsv-on").wait_for()
    assert kernel_run(lab_architecture, "print(big.selected_layer)").strip() == "42"
    # it fits the 1024 px window and scrolls inside its own panel
    fits = big.evaluate(
        "n => { const s = n.querySelector('[data-testid=\"arch-scroll\"]'); const b = n.getBoundingClientRect();"
        " return [b.right <= window.innerWidth, n.scrollWidth <= n.clientWidth + 1, s.clientHeight <= 560,"
        " getComputedStyle(s).overflowY]; }"
    )
    assert fits == [True, True, True, "auto"]
    lab_architecture.screenshot(f"architecture-view-{'dark' if dark else 'light'}")
    assert lab_architecture.errors == []
