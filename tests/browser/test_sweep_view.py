"""SweepView in Chromium against a live JupyterLab kernel, light and dark: the heatmap is drawn, the
tooltip gives the exact value, a click selects the layer and head (or token) in the kernel and in a
linked AttentionView."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.browser.conftest import PageWatch, kernel_run, sel, set_theme

pytestmark = pytest.mark.browser

TEXT = "Fever may indicate flu. Revenue rose 12%."

CODE = f"""
import ipywidgets
TEXT = {TEXT!r}
n = len(model.tokenize(TEXT))
corrupted = next(
    TEXT.replace(old, new)
    for old, new in (("flu", "flo"), ("12%", "17%"), ("rose", "fell"), ("Fever", "Fewer"), ("may", "can"))
    if len(model.tokenize(TEXT.replace(old, new))) == n
)
heads = dv.SweepView.run(model, TEXT, progress=False)
patch = dv.SweepView.run(model, TEXT, "patch", corrupted=corrupted, progress=False)
attention = dv.AttentionView(model, TEXT)
heads.link(attention)
ipywidgets.VBox([heads, patch, attention])
"""


@pytest.fixture(scope="module")
def lab_sweep(
    view_in_lab: Callable[[str, str, str], AbstractContextManager[PageWatch]],
) -> Iterator[PageWatch]:
    with view_in_lab("sweep", CODE, "sweep-view") as watch:
        watch.page.wait_for_selector(f'{sel("attention-view")}[data-ready="true"]')
        watch.page.wait_for_function(
            '() => document.querySelectorAll(\'[data-testid="sweep-view"][data-ready="true"]\').length === 2'
        )
        yield watch


def view(index: int) -> str:
    return f'[data-testid="sweep-view"] >> nth={index}'


def click_cell(page: PageWatch, index: int, layer: int, column: int) -> None:
    root = page.page.locator(view(index))
    root.scroll_into_view_if_needed()
    point = root.evaluate("(n, [l, c]) => n.cellCentre(l, c)", [layer, column])
    page.page.mouse.click(point["x"], point["y"])


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_sweep_view_draws_tooltips_and_selects_in_a_linked_attention_view(
    lab_sweep: PageWatch, dark: bool
) -> None:
    page = lab_sweep.page
    set_theme(lab_sweep, dark)
    kernel_run(lab_sweep, "heads.selected_layer = -1; patch.selected_layer = -1")
    layers, heads, n = map(int, kernel_run(lab_sweep, "print(model.num_layers, model.num_heads, n)").split())
    heads_view, patch_view = page.locator(view(0)), page.locator(view(1))
    assert heads_view.locator(sel("status")).text_content() == "ready"
    # drawn: the canvas is layers × heads cells, its pixels coloured
    size = heads_view.locator(sel("sweep-heatmap")).evaluate("c => [c.clientWidth, c.clientHeight]")
    assert size[0] >= heads * 4 and size[1] >= layers * 4
    painted = heads_view.locator(sel("sweep-heatmap")).evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let k = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) k++; return k; }"
    )
    assert painted > 0
    assert heads_view.locator('[data-testid^="sweep-column-"]').count() == heads
    assert heads_view.locator('[data-testid^="sweep-row-"]').count() == layers
    # the patching sweep's columns are the tokens, as text
    tokens = patch_view.locator('[data-testid^="sweep-column-"]').all_text_contents()
    assert len(tokens) == n and "Fever" in "".join(tokens)
    # tooltip: the exact value of the hovered cell
    root = heads_view
    point = root.evaluate("n => n.cellCentre(1, 2)")
    page.mouse.move(point["x"], point["y"])
    tooltip = heads_view.locator(sel("sweep-tooltip"))
    tooltip.wait_for(state="visible")
    tip = tooltip.text_content() or ""
    expected = kernel_run(lab_sweep, "print(repr(float(heads.sweep.effects[1, 2])))").strip()
    assert tip.startswith("layer 1 · head 2") and "change" in tip
    assert float(tip.split("(")[1].split(")")[0]) == pytest.approx(float(expected), rel=1e-5, abs=1e-7)
    # click: selected in the kernel and in the linked attention view
    click_cell(lab_sweep, 0, 1, 2)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"sweep-selected\"]')?.dataset.cell === '1-2'"
    )
    assert kernel_run(lab_sweep, "print(heads.selected_layer, heads.selected_head)").strip() == "1 2"
    assert kernel_run(lab_sweep, "print(attention.layer, attention.heads)").strip() == "1 [2]"
    page.wait_for_selector(f"{sel('head-1-2')}.dsv-on")
    click_cell(lab_sweep, 1, 0, n - 1)
    page.wait_for_function(
        f"() => document.querySelectorAll('[data-testid=\"sweep-selected\"]')[1]?.dataset.cell === '0-{n - 1}'"
    )
    assert kernel_run(lab_sweep, "print(patch.selected_layer, patch.selected_token)").strip() == f"0 {n - 1}"
    lab_sweep.screenshot(f"sweep-view-{'dark' if dark else 'light'}")
    assert lab_sweep.errors == []


def test_the_keyboard_walks_the_sweep_and_picks_a_cell(lab_sweep: PageWatch) -> None:
    """Focus the heatmap, arrow keys move a cursor cell (its tooltip shows), Enter selects it in the kernel."""
    page = lab_sweep.page
    kernel_run(lab_sweep, "heads.selected_layer = -1")
    heatmap = page.locator(view(0)).locator(sel("sweep-heatmap"))
    heatmap.focus()
    for key in ("ArrowDown", "ArrowDown", "ArrowRight"):  # the first key shows cell 0-0
        page.keyboard.press(key)
    tooltip = page.locator(view(0)).locator(sel("sweep-tooltip"))
    tooltip.wait_for(state="visible")
    assert (tooltip.text_content() or "").startswith("layer 1 · head 1")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"sweep-selected\"]')?.dataset.cell === '1-1'"
    )
    assert kernel_run(lab_sweep, "print(heads.selected_layer, heads.selected_head)").strip() == "1 1"
    page.keyboard.press("Escape")
    tooltip.wait_for(state="hidden")
