"""AttentionView in Chromium, against a live JupyterLab kernel (and once under Voila).

The tests share one notebook and widget (module fixture ``lab_attention``); each sets the text it
needs, so their order does not matter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser.conftest import (
    HTML_TEXT,
    PageWatch,
    Server,
    kernel_run,
    sel,
    version,
    wait_for_newer,
    wait_for_status,
)

pytestmark = pytest.mark.browser


def type_text(page: PageWatch, text: str) -> None:
    """Replace the text as a user would, and wait until the widget redrew it."""
    before = version(page, "token-view")
    page.page.fill(sel("text-input"), text)
    wait_for_newer(page, "token-view", before)
    assert wait_for_status(page, "ready") == "ready"


def test_widget_draws(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    assert page.text_content(sel("status")) == "ready"
    assert page.locator(f"{sel('head-grid')} canvas").count() == 3 * 4
    assert page.get_attribute(sel("attention-heatmap"), "data-ready") == "true"
    assert page.locator(f"{sel('token-view')} [data-index]").count() > 5
    assert page.is_visible(sel("colour-legend"))
    lab_attention.screenshot("attention-view-jupyterlab")
    assert lab_attention.errors == []


def test_clicking_a_head_changes_the_heatmap(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    before = version(lab_attention, "attention-heatmap")
    page.click(sel("head-2-1"))
    wait_for_newer(lab_attention, "attention-heatmap", before)
    assert page.text_content(sel("heatmap-caption")) == "layer 2 · head 1"
    assert "dsv-on" in (page.get_attribute(sel("head-2-1"), "class") or "")
    page.click(sel("head-2-3"), modifiers=["Shift"])
    wait_for_newer(lab_attention, "attention-heatmap", before + 1)
    assert page.text_content(sel("heatmap-caption")) == "layer 2 · mean of heads 1, 3"
    assert kernel_run(lab_attention, "print(view.layer, view.heads)").strip() == "2 [1, 3]"


def test_head_switch_within_the_layer_is_drawn_without_the_kernel(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, "one two three four five")
    kernel_run(lab_attention, "view.layer = 0; view.heads = [0]")
    page.wait_for_function(
        "selector => document.querySelector(selector).textContent === 'layer 0 · head 0'",
        arg=sel("heatmap-caption"),
    )
    data_id, n, sent_heads = kernel_run(
        lab_attention, "print(view._data_id, len(view._tokens), view._layer_heads is not None)"
    ).split()
    assert sent_heads == "True"
    before = version(lab_attention, "attention-heatmap")
    page.click(sel("head-0-2"))
    wait_for_newer(lab_attention, "attention-heatmap", before)
    assert page.text_content(sel("heatmap-caption")) == "layer 0 · head 2"
    box = page.locator(sel("attention-heatmap")).bounding_box()
    assert box is not None
    query, key = int(n) - 1, int(n) // 2
    page.mouse.move(
        box["x"] + box["width"] * (key + 0.5) / int(n), box["y"] + box["height"] * (query + 0.5) / int(n)
    )
    shown = float((page.text_content(sel("heatmap-tooltip")) or "").rsplit(": ", 1)[1])
    state = kernel_run(
        lab_attention,
        "exact = view.trace.attention(0)[2]\n"
        f"print(view.heads, view._data_id, abs(view._matrix - exact).max() < 1e-6, exact[{query}, {key}])",
    )
    heads, sent, matrix, weight = state.rsplit(" ", 3)
    assert (heads, sent, matrix) == ("[2]", data_id, "True")  # Python follows; it sent no heatmap
    assert abs(shown - float(weight)) <= 1 / 255 + 5e-3  # the tooltip shows 3 significant digits
    assert lab_attention.errors == []


def test_traits_set_from_python_reach_the_browser(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, "set from the browser")
    before = version(lab_attention, "attention-heatmap")
    kernel_run(lab_attention, "view.layer = 1; view.heads = [0, 1, 2, 3]; view.selected_token = 2")
    wait_for_newer(lab_attention, "attention-heatmap", before)
    page.wait_for_function(
        "selector => document.querySelector(selector).textContent === 'layer 1 · mean of all 4 heads'",
        arg=sel("heatmap-caption"),
    )
    assert "dsv-selected" in (page.get_attribute(sel("token-2"), "class") or "")
    kernel_run(lab_attention, 'view.text = "typed in Python"')
    page.wait_for_function(
        "selector => document.querySelector(selector).value === 'typed in Python'", arg=sel("text-input")
    )
    page.click(sel("token-1"))
    page.wait_for_function(
        "selector => document.querySelector(selector)", arg=sel("token-1") + ".dsv-selected"
    )
    assert kernel_run(lab_attention, "print(view.text, view.selected_token)").strip() == "typed in Python 1"
    assert "TraitError" in kernel_run(lab_attention, "view.layer = 99")


def test_hover_shows_weight_and_shades_tokens(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, "one two three")
    box = page.locator(sel("attention-heatmap")).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3)  # last query → last key
    tooltip = page.text_content(sel("heatmap-tooltip")) or ""
    assert "→" in tooltip and tooltip.rsplit(": ", 1)[1].replace(".", "").isdigit()
    page.hover(sel("token-3"))
    shaded = page.eval_on_selector(sel("token-1"), "node => node.style.backgroundColor")
    assert shaded.startswith("rgba(")


def test_typing_updates_tokens_and_heatmap(lab_attention: PageWatch) -> None:
    before = version(lab_attention, "attention-heatmap")
    type_text(lab_attention, "The heart attack risk rose 12%.")
    assert version(lab_attention, "attention-heatmap") > before
    assert lab_attention.page.inner_text(sel("token-view")).endswith("The heart attack risk rose 12%.")


def test_long_text_draws_and_zooms(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, " ".join(["a"] * 2047))  # BOS + 2,047 tokens with the test tokenizer
    assert page.locator(sel("token-2047")).count() == 1
    assert page.locator(sel("token-2048")).count() == 0
    for _ in range(6):
        page.click(sel("zoom-in"))
    box = page.locator(sel("attention-heatmap")).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(  # the full-resolution window arrived: the tooltip weight is exact
        "selector => !document.querySelector(selector).textContent.includes('zoom in')",
        arg=sel("heatmap-tooltip"),
    )
    lab_attention.screenshot("attention-view-2048-tokens")
    page.hover(sel("token-1500"))  # its row comes as a full-resolution window
    page.wait_for_function(
        "selector => document.querySelector(selector).style.backgroundColor.startsWith('rgba(')",
        arg=sel("token-1400"),
    )


def test_html_in_tokens_is_shown_as_text(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, HTML_TEXT)
    assert page.inner_text(sel("token-view")).endswith(HTML_TEXT)
    assert page.locator(f"{sel('attention-view')} img, {sel('attention-view')} b").count() == 0
    assert page.locator(f"{sel('token-view')} script").count() == 0
    assert lab_attention.dialogs == []


def test_empty_and_over_long_text(lab_attention: PageWatch) -> None:
    page = lab_attention.page
    type_text(lab_attention, "short text")
    page.fill(sel("text-input"), "")
    page.wait_for_selector(f"{sel('empty-state')}:visible")
    assert wait_for_status(lab_attention, "ready") == "ready"
    type_text(lab_attention, "back again")
    tokens = page.inner_text(sel("token-view"))
    page.fill(sel("text-input"), " ".join(["a"] * 5000))
    status = wait_for_status(lab_attention, "error:")
    assert "tokens long; the limit is 4096" in status
    assert page.inner_text(sel("token-view")) == tokens  # the previous view stays


def test_voila_renders_and_responds(
    fresh_page: PageWatch, voila_server: Callable[[Path], Server], attention_notebook: Path
) -> None:
    server = voila_server(attention_notebook)
    page = fresh_page.page
    page.goto(server.url)
    page.wait_for_selector('[data-testid="attention-view"][data-ready="true"]')
    before = version(fresh_page, "attention-heatmap")
    page.click(sel("head-1-2"))
    wait_for_newer(fresh_page, "attention-heatmap", before)
    assert page.text_content(sel("heatmap-caption")) == "layer 1 · head 2"
    fresh_page.screenshot("attention-view-voila")
    assert fresh_page.errors == []
