"""GenerationView in Chromium against a live JupyterLab kernel on the bundled model, light and dark: tokens
appear while generating (redraws counted by a MutationObserver), Stop stops and the kernel answers at once,
clicking a generated token selects it in the kernel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    PageWatch,
    contrast_failures,
    kernel_run,
    kernel_value,
    notebook_in_lab,
    sel,
    set_theme,
    wait_for_status,
)

pytestmark = pytest.mark.browser

#: With the chat template, the bundled model reasons on for well over 200 tokens (greedy) before its EOS.
PROMPT = "What is 2+2?"

#: Records, on every change of the token area, the number of tokens shown and whether the view was
#: generating then (its button reads Stop), in ``window.dsvTokenCounts``.
OBSERVE = """() => {
  const area = document.querySelector('[data-testid="generation-tokens"]');
  window.dsvTokenCounts = [];
  window.dsvObserver?.disconnect();
  window.dsvObserver = new MutationObserver(() => {
    const count = area.querySelectorAll(".dsv-token").length;
    const generating = document.querySelector('[data-testid="stop-button"]') !== null;
    const last = window.dsvTokenCounts[window.dsvTokenCounts.length - 1];
    if (!last || last[0] !== count) window.dsvTokenCounts.push([count, generating]);
  });
  window.dsvObserver.observe(area, { childList: true, subtree: true });
}"""


#: The first colour of the legend bar's gradient and the opaque background behind the bar, as rgb lists.
LOW_END_AND_GROUND = """bar => {
  const paint = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  const rgba = (colour) => {
    paint.clearRect(0, 0, 1, 1);
    paint.fillStyle = "rgba(0, 0, 0, 0)";
    paint.fillStyle = colour;
    paint.fillRect(0, 0, 1, 1);
    return [...paint.getImageData(0, 0, 1, 1).data];
  };
  let at = bar.parentElement;
  while (at && rgba(getComputedStyle(at).backgroundColor)[3] === 0) at = at.parentElement;
  const ground = at ? rgba(getComputedStyle(at).backgroundColor).slice(0, 3) : [255, 255, 255];
  const first = bar.style.background.split("rgb(")[1].split(")")[0];
  return [rgba(`rgb(${first})`).slice(0, 3), ground];
}"""


@pytest.fixture(scope="module")
def lab_generation(
    browser: object, jupyter_lab: object, write_notebook: Callable[[str, list[str]], Path]
) -> Iterator[PageWatch]:
    notebook = write_notebook(
        "generation",
        [
            "import deepseek_viz as dv\nmodel = dv.load_model()",
            f"view = dv.GenerationView(model, {PROMPT!r}, max_new_tokens=48, chat=True)\nview",
        ],
    )
    with notebook_in_lab(browser, jupyter_lab, notebook, "generation-view") as watch:  # type: ignore[arg-type]
        yield watch


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_tokens_appear_while_generating_and_a_click_selects(lab_generation: PageWatch, dark: bool) -> None:
    page = lab_generation.page
    set_theme(lab_generation, dark)
    kernel_run(lab_generation, "view.max_new_tokens = 48; view.selected_token = -1")
    page.fill(sel("generation-prompt"), PROMPT)
    page.fill(sel("max-new-tokens"), "48")
    page.evaluate(OBSERVE)
    page.click(sel("generate-button"))
    # done: this generation redrew the tokens (the last run's stay until its first update) and ended
    page.wait_for_function(
        """() => window.dsvTokenCounts.length >= 2 && !document.querySelector('[data-testid="stop-button"]')
            && document.querySelector('[data-testid="status"]').textContent.startsWith("ready —")"""
    )
    counts = page.evaluate("() => window.dsvTokenCounts")
    while_generating = [count for count, generating in counts if generating]
    assert len(while_generating) >= 2, counts  # at least two redraws before the end
    n = int(kernel_run(lab_generation, "print(len(view.trace.tokens))").strip())
    prompt_length = int(kernel_run(lab_generation, "print(view.trace.prompt_length)").strip())
    # at least two redraws showed part of the completion (the last tokens may arrive while still writing)
    assert n - prompt_length >= 24 and len([count for count in while_generating if count < n]) >= 2, counts
    assert page.locator(f"{sel('generation-tokens')} .dsv-token").count() == n
    assert page.get_attribute(sel("generation-timeline"), "data-columns") == str(n - prompt_length)
    rows = page.get_attribute(sel("generation-timeline"), "data-rows") or ""
    assert "lens agrees from layer" in rows and "expert change" in rows  # the bundled model is MoE
    # R1's template opens <think>: the completion so far is reasoning
    assert page.locator(f"{sel('reasoning-block')} .dsv-token").count() > 0
    assert page.is_visible(sel("reasoning-block"))
    # the view reads in the theme: light text on the dark theme, dark text on the light one
    rgb = page.eval_on_selector(
        sel("generation-view"), "n => getComputedStyle(n).color.match(/\\d+/g).slice(0, 3).map(Number)"
    )
    assert (sum(rgb) > 384) == dark
    # hover shows the token's probability and entropy; a click selects it in the kernel
    target = prompt_length + 3
    page.hover(sel(f"token-{target}"))
    tooltip = page.text_content(sel("generation-tooltip")) or ""
    assert "probability" in tooltip and "entropy" in tooltip and "nats" in tooltip
    # the keyboard: the timeline's arrows show a column's tooltip, Enter selects its token
    page.focus(sel("generation-timeline"))
    for key in ("ArrowRight", "ArrowRight", "ArrowRight"):  # the first key shows column 0
        page.keyboard.press(key)
    tooltip = page.text_content(sel("generation-tooltip")) or ""
    assert tooltip.startswith(f"{prompt_length + 2}: ") and "probability" in tooltip, tooltip
    page.keyboard.press("Enter")
    assert kernel_value(lab_generation, "view.selected_token", str(prompt_length + 2)) == str(
        prompt_length + 2
    )
    page.click(sel(f"token-{target}"))
    assert kernel_value(lab_generation, "view.selected_token", str(target)) == str(target)
    assert page.locator(f"{sel(f'token-{target}')}.dsv-selected").count() == 1
    # the colours: the theme's heat scale, its low end the view's own background, with a legend
    assert page.is_visible(sel("timeline-legend"))
    ticks = page.text_content(f"{sel('timeline-legend')} .dsv-legend-ticks")
    assert ticks == "0%50%100%"
    for _ in range(30):  # a late redraw (the lens and expert rows arrive after the text) may be under way
        low, ground = page.eval_on_selector(sel("legend-bar"), LOW_END_AND_GROUND)
        if low == ground:
            break
        page.wait_for_timeout(100)
    assert low == ground, (low, ground)
    assert contrast_failures(lab_generation, sel("generation-view")) == []
    page.mouse.move(0, 0)  # the tooltip away: the screenshot shows the tokens and the legend
    lab_generation.screenshot(f"generation-{'dark' if dark else 'light'}")
    # continue from the selected token: the tokens up to it become the prompt, the rest is written again
    page.click(sel("continue-button"))
    wait_for_status(lab_generation, "ready —")
    assert kernel_value(lab_generation, "view.trace.prompt_length", str(target + 1)) == str(target + 1)
    assert lab_generation.errors == [] and lab_generation.dialogs == []


def test_stop_stops_and_the_kernel_answers(lab_generation: PageWatch) -> None:
    page = lab_generation.page
    # the prompt the chat reasons on for well over 200 tokens (not what the last test's continue left)
    kernel_run(lab_generation, "view.chat = True")
    page.fill(sel("generation-prompt"), PROMPT)
    page.fill(sel("max-new-tokens"), "2000")
    page.click(sel("generate-button"))
    page.wait_for_selector(sel("stop-button"))
    # the kernel answers while it generates; the new generation's first tokens are there
    started = (
        f"view.prompt == {PROMPT!r} and view.generating and view.trace is None"
        " and len(view._tokens) - view._prompt_length >= 3"
    )
    assert kernel_value(lab_generation, started, "True") == "True"
    page.click(sel("stop-button"))
    assert wait_for_status(lab_generation, "ready —") == "ready — stopped"
    page.wait_for_selector(sel("generate-button"))
    assert kernel_run(lab_generation, "print(1 + 1)").strip() == "2"
    m = int(kernel_run(lab_generation, "print(len(view.trace.tokens) - view.trace.prompt_length)").strip())
    assert 0 < m < 2000
    assert kernel_run(lab_generation, "print(view.stop_reason, view.generating)").strip() == "stopped False"
    assert lab_generation.errors == []
