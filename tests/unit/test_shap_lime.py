"""Our explanations handed to shap's and lime's own objects and plots (tiny random Llama, small samples).

shap: ``to_shap()`` draws in ``shap.plots.text`` / ``waterfall`` / ``bar`` with the token strings shown,
and SHAP's additivity holds on the shap object. lime: ``explanation.lime`` is lime's explanation of the
run, ``as_list`` gives our tokens and weights, and ``as_html`` is offline and keeps HTML-like tokens text.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import lime.explanation
import matplotlib.pyplot as plt
import numpy as np
import pytest
import shap

import deepseek_viz as dv
from deepseek_viz.analysis.attribution import Explanation, explain
from deepseek_viz.analysis.attribution.library_objects import lime_explanation, plot_label

TEXT = "Fever <b>x</b> & flu $4"
FAST = {"lime_samples": 60, "ig_steps": 8, "faithfulness": False, "batch_size": 64}


@pytest.fixture(scope="module")
def model(tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints["llama"], device="cpu")


@pytest.fixture(scope="module")
def explanation(model: dv.HookedModel) -> Explanation:
    return explain(model, TEXT, methods=("shap", "lime", "ig"), cache=False, **FAST)


def features(explanation: Explanation) -> list[int]:
    return np.flatnonzero(~explanation.special).tolist()


def test_to_shap_carries_values_base_and_token_strings(explanation: Explanation) -> None:
    kept = features(explanation)
    assert explanation.special[0] and 0 not in kept  # BOS is dropped by default
    for method in explanation.methods:  # any method can be handed over
        obj = explanation.to_shap(method)
        assert isinstance(obj, shap.Explanation) and obj.shape == (len(kept),)
        np.testing.assert_array_equal(obj.values, explanation.scores[method][kept])
        assert obj.base_values == explanation.baseline_value
        assert list(obj.data) == [explanation.tokens[i].text for i in kept]
        assert obj.feature_names == [f"token {i}" for i in kept]
    with_bos = explanation.to_shap("shap", special=True)
    assert with_bos.shape == (len(explanation.tokens),) and with_bos.values[0] == 0.0
    assert with_bos.data[0] == explanation.tokens[0].text
    with pytest.raises(ValueError, match=r"input_x_gradient.*did not run"):
        explanation.to_shap("input_x_gradient")


def test_shap_object_is_additive(explanation: Explanation) -> None:
    obj = explanation.to_shap("shap")
    # the permutation algorithm is additive by construction: only float error of the forward passes
    assert obj.values.sum() + obj.base_values == pytest.approx(explanation.value, abs=1e-4)
    assert obj.base_values == pytest.approx(explanation.details["shap"]["base_value"], abs=1e-4)
    # not a property of every method: input × gradient-like LIME weights do not sum to f(x) − f(b)
    lime_obj = explanation.to_shap("lime")
    assert lime_obj.values.sum() + lime_obj.base_values != pytest.approx(explanation.value, abs=1e-6)


def test_shap_text_plot_shows_the_tokens_escaped(explanation: Explanation) -> None:
    html = shap.plots.text(explanation.to_shap(), display=False)
    assert isinstance(html, str)
    for i in features(explanation):
        token = explanation.tokens[i].text
        assert token.replace("<", "&lt;").replace(">", "&gt;") in html
    assert "<b>x" not in html  # the token text is not markup


@pytest.mark.parametrize("plot", ["waterfall", "bar"])
def test_shap_matplotlib_plots_draw_the_tokens(explanation: Explanation, plot: str) -> None:
    obj = explanation.to_shap("shap")
    plt.close("all")
    if plot == "waterfall":
        shap.plots.waterfall(obj, max_display=len(obj.values), show=False)
    else:
        shap.plots.bar(obj, max_display=len(obj.values), show=False)
    figure = plt.gcf()
    figure.canvas.draw()  # mathtext or layout errors surface when drawing
    labels = " ".join(t.get_text() for ax in figure.axes for t in ax.get_yticklabels())
    for i in features(explanation):
        assert f"{plot_label(explanation.tokens[i].text)} = token {i}" in labels
    plt.close("all")


def test_plot_labels_are_literal_one_line_text() -> None:
    assert plot_label("$4.2 and $5") == "'\\$4.2 and \\$5'"  # no mathtext
    assert plot_label("a\nb\tc\x07") == "'a↵b⇥c␇'"
    assert plot_label("100") == "'100'" and plot_label("") == "∅"


def test_lime_object_is_limes_own_with_our_weights(explanation: Explanation) -> None:
    obj = explanation.lime
    assert isinstance(obj, lime.explanation.Explanation)
    listed = obj.as_list()
    kept = features(explanation)
    assert sorted(name for name, _ in listed) == sorted(explanation.tokens[i].text for i in kept)
    assert all(type(name) is str for name, _ in listed)
    ours = {explanation.tokens[i].text: [] for i in kept}
    for i in kept:
        ours[explanation.tokens[i].text].append(float(explanation.scores["lime"][i]))
    for name, weight in listed:
        assert weight in ours[name]
        ours[name].remove(weight)
    weights = [abs(w) for _, w in listed]
    assert weights == sorted(weights, reverse=True)
    assert obj.predicted_value == pytest.approx(explanation.value, abs=1e-5)
    assert obj.min_value <= obj.predicted_value <= obj.max_value
    figure = obj.as_pyplot_figure()
    figure.canvas.draw()
    plt.close("all")
    json.dumps(explanation.to_dict())  # lime's object stays out of the plain-JSON view


def test_lime_object_comes_from_the_run_and_the_cache(model: dv.HookedModel) -> None:
    first = explain(model, "flu $4", methods="lime", lime_samples=20, faithfulness=False)
    again = explain(model, "flu $4", methods="lime", lime_samples=20, faithfulness=False)
    assert again.cached == ("lime",) and again.lime is first.lime
    no_lime = explain(model, "flu $4", methods="shap", faithfulness=False)
    assert no_lime.library_objects == {}
    with pytest.raises(AttributeError, match="LIME did not run"):
        _ = no_lime.lime


class Tags(HTMLParser):
    """The start tags of a page and the ``src`` of its scripts (script content is not parsed as HTML)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.sources.extend(value or "" for name, value in attrs if tag == "script" and name == "src")


def page_tags(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser


def test_lime_html_is_offline(explanation: Explanation) -> None:
    html = explanation.lime.as_html()
    parsed = page_tags(html)
    assert parsed.sources == []  # lime inlines its bundle.js: no script is fetched
    assert not any(s.startswith(("http://", "https://", "//")) for s in parsed.sources)
    assert "lime.Explanation" in html and "d3" in html
    assert set(parsed.tags) <= {"html", "meta", "head", "script", "body", "div"}


BUNDLE = (Path(lime.explanation.__file__).parent / "bundle.js").read_text(encoding="utf-8")


def hostile_run(segments: list[str]) -> object:
    """LIME's text explainer run directly on hostile segments (a token may hold any text)."""
    from lime.lime_text import LimeTextExplainer

    explainer = LimeTextExplainer(
        split_expression=lambda _text: list(segments),
        bow=False,
        mask_string="\ue000",
        feature_selection="none",
        random_state=0,
        class_names=["target"],
    )

    def classifier(texts: list[str]) -> np.ndarray:
        return np.array([[float(t.count("\ue000"))] for t in texts])

    return explainer.explain_instance(
        "".join(segments), classifier, labels=(0,), num_features=len(segments), num_samples=30
    )


def test_html_in_tokens_stays_text_in_limes_page() -> None:
    segments = ["</script><b>x</b>", " <img src=x onerror=alert(1)>", " & flu"]
    result = hostile_run(segments)
    unsafe = lime.explanation.Explanation.as_html(result)
    assert "b" in page_tags(unsafe).tags  # lime's own page: the token ends the script and becomes markup
    obj = lime_explanation(result, 0.0, -3.0, 0.0, class_names=("<i>down</i>", "up"))
    html = obj.as_html()
    parsed = page_tags(html)
    assert set(parsed.tags) <= {"html", "meta", "head", "script", "body", "div"}, parsed.tags
    ours = html.replace(BUNDLE, "")  # what is written around lime's bundle.js
    assert ours.count("</script>") == 2 and "<b>" not in ours and "<img" not in ours
    # the real text reaches the page (as script-safe JSON), not lime's '|' replacement
    assert (
        json.dumps("".join(segments), ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        in html
    )
    assert [name for name, _ in obj.as_list()] != [] and {n for n, _ in obj.as_list()} == set(segments)


def test_show_in_notebook_works(explanation: Explanation, capsys: pytest.CaptureFixture[str]) -> None:
    explanation.lime.show_in_notebook()  # lime's own imports IPython.core.display.display, gone in IPython 9
    assert "HTML" in capsys.readouterr().out
