"""lime's page of an explanation (``explanation.lime.as_html()``) opened from file:// in Chromium with
every network request refused: lime's inlined JavaScript draws its bars and the highlighted text, and
tokens that look like HTML stay text. No model: LIME's text explainer runs on a toy target."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepseek_viz.analysis.attribution.library_objects import lime_explanation
from tests.browser.conftest import playwright_sync, refuse_network

pytestmark = pytest.mark.browser

SEGMENTS = ["</script><b>x</b>", " <img src=x onerror=alert(1)>", " & flu 🙂", " $4"]
TIMEOUT_MS = 30_000


def lime_page(path: Path) -> Path:
    from lime.lime_text import LimeTextExplainer

    explainer = LimeTextExplainer(
        split_expression=lambda _text: list(SEGMENTS),
        bow=False,
        mask_string="\ue000",
        feature_selection="none",
        random_state=0,
        class_names=["target"],
    )

    def classifier(texts: list[str]) -> np.ndarray:  # one point per segment kept, the first counts twice
        return np.array([[2.0 * (SEGMENTS[0] in t) + sum(s in t for s in SEGMENTS[1:])] for t in texts])

    result = explainer.explain_instance(
        "".join(SEGMENTS), classifier, labels=(0,), num_features=len(SEGMENTS), num_samples=40
    )
    obj = lime_explanation(result, 5.0, 0.0, 5.0)
    path.write_text(obj.as_html(), encoding="utf-8")
    return path


def test_lime_page_draws_offline_with_tokens_as_text(
    browser: playwright_sync.Browser, tmp_path: Path
) -> None:
    page_file = lime_page(tmp_path / "lime.html")
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    dialogs: list[str] = []
    try:
        requests = refuse_network(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(page_file.as_uri())
        page.wait_for_selector(".lime.explanation svg text")
        page.wait_for_selector(".lime.text_div span")
        # the bars: one label per token, drawn as SVG text
        labels = page.eval_on_selector_all(".lime.explanation svg text", "els => els.map(e => e.textContent)")
        for segment in SEGMENTS:
            assert any(segment.strip()[:10] in label for label in labels), (segment, labels)
        # the highlighted text is the real text, with one highlight per token
        shown = page.text_content(".lime.text_div > span") or ""
        assert shown == "".join(SEGMENTS)
        highlights = page.eval_on_selector_all(
            ".lime.text_div > span > span", "els => els.map(e => e.textContent)"
        )
        assert sorted(highlights) == sorted(SEGMENTS)
        # nothing became markup, nothing ran, nothing was fetched
        assert page.locator("b, img").count() == 0
        assert dialogs == [] and errors == [] and requests == []
    finally:
        context.close()
