"""The views' ``figure()`` heatmaps, the attribution bar charts, and the PNG/SVG/HTML writers (kaleido and
the matplotlib fallback)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest

import deepseek_viz as dv
from deepseek_viz.export.figures import save_figure, to_png, to_svg, token_heatmap
from deepseek_viz.export.text import hover_text, label, plot_text, unescape
from deepseek_viz.widgets import attention_view
from deepseek_viz.widgets.attention_view import AttentionView
from deepseek_viz.widgets.attribution_view import AttributionView, describe_target
from deepseek_viz.widgets.prediction_view import PredictionView, string_table

#: Markup, a repeated token and a control character: every label must show them as text.
TEXT = "Fever <b>may</b> & flu. flu\x10"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")


def heatmap(figure: go.Figure) -> go.Heatmap:
    (trace,) = figure.data
    assert trace.type == "heatmap"
    return trace


def test_attention_figure_is_the_shown_matrix_with_token_labels(hooked: dv.HookedModel) -> None:
    view = AttentionView(hooked, text=TEXT, layer=1, heads=[0, 2])
    assert view.trace is not None and view._matrix is not None
    figure = view.figure()
    trace = heatmap(figure)
    np.testing.assert_array_equal(np.asarray(trace.z), view._matrix)
    texts = [token.text for token in view.trace.tokens]
    assert list(figure.layout.xaxis.ticktext) == [label(t) for t in texts]
    assert list(figure.layout.yaxis.ticktext) == list(figure.layout.xaxis.ticktext)
    assert texts.count(" flu") + texts.count("flu") >= 2 and len(trace.x) == len(texts)  # repeats kept apart
    ticks = " ".join(figure.layout.xaxis.ticktext)
    assert "<b>" not in ticks and "&lt;" in ticks and "&amp;" in ticks and "\x10" not in ticks
    assert figure.layout.title.text == "Attention, layer 1 · mean of heads 0, 2"
    assert (figure.layout.xaxis.title.text, figure.layout.yaxis.title.text) == ("key", "query")
    assert figure.layout.yaxis.autorange == "reversed"  # first query on top, as in the widget
    assert trace.zmax == pytest.approx(view._colour_max)
    view.heads = [0, 1, 2, 3]
    assert view.figure().layout.title.text == "Attention, layer 1 · mean of all 4 heads"


def test_attention_figure_of_a_long_text_is_max_pooled(
    hooked: dv.HookedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attention_view, "OVERVIEW_SIZE", 4)
    view = AttentionView(hooked, text=TEXT, layer=0)
    n = len(view._tokens)
    block = -(-n // 4)
    figure = view.figure()
    assert np.asarray(heatmap(figure).z).shape == (-(-n // block),) * 2
    assert figure.layout.xaxis.ticktext[0] == f"0–{block - 1}"
    assert figure.layout.title.text.endswith(f"max of {block} × {block} blocks")


def test_prediction_figure_is_the_logit_lens_with_predicted_tokens(hooked: dv.HookedModel) -> None:
    view = PredictionView(hooked, text=TEXT, k=3)
    assert view.lens is not None and view.trace is not None
    figure = view.figure()
    trace = heatmap(figure)
    np.testing.assert_array_equal(np.asarray(trace.z), view.lens.probs[:, :, 0])
    assert list(figure.layout.yaxis.ticktext) == ["embed", "L0", "L1", "L2 (out)"]
    strings, indices = string_table(view.lens, view._vocab)
    assert [list(row) for row in trace.text] == [[label(strings[i]) for i in row] for row in indices[:, :, 0]]
    assert not any("\ufffd" in text for row in trace.text for text in row)
    assert list(figure.layout.xaxis.ticktext) == [label(token.text) for token in view.trace.tokens]
    assert (trace.zmin, trace.zmax) == (0.0, 1.0)


def test_attribution_figure_is_a_diverging_heatmap_titled_with_the_target(hooked: dv.HookedModel) -> None:
    view = AttributionView(hooked, TEXT, ig_steps=4, deletion_steps=2)
    explanation = view.explanation
    assert explanation is not None
    figure = view.figure()
    trace = heatmap(figure)
    values = np.asarray(trace.z)
    assert values.shape == (2, len(explanation.tokens))
    np.testing.assert_allclose(np.abs(values).max(axis=1), 1.0, rtol=1e-6)  # each row scaled to its peak
    np.testing.assert_allclose(values[0], explanation.normalized("input_x_gradient"), rtol=1e-6)
    assert list(figure.layout.yaxis.ticktext) == ["input × gradient", "integrated gradients"]
    assert (trace.zmin, trace.zmax) == (-1.0, 1.0)
    assert trace.colorscale[0][1] == "rgb(5,48,97)"  # blue lowers the target, red raises it
    assert figure.layout.title.text == plot_text(describe_target(explanation))


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda m: AttentionView(m, text=""), "attention"),
        (lambda m: PredictionView(m, text=""), "predictions"),
        (lambda m: AttributionView(m, ""), "attributions"),
    ],
)
def test_an_empty_view_has_no_figure(
    hooked: dv.HookedModel, make: Callable[[dv.HookedModel], Any], what: str
) -> None:
    view = make(hooked)
    with pytest.raises(ValueError, match=f"shows no {what}: its text is empty"):
        view.figure()


def test_text_shows_literally() -> None:
    assert [label(t) for t in ["\n", "\t", "  ", "", "<b>&", "a\x10\x7f", " \x0b"]] == [
        "↵",
        "⇥",
        "␣␣",
        "∅",
        "&lt;b&gt;&amp;",
        "a␐␡",
        " ␋",
    ]
    assert plot_text("a\r\nb <i>\x00") == "a<br>b &lt;i&gt;␀"
    assert unescape(plot_text("x < y\nz & w")) == "x < y\nz & w"
    long = hover_text(("word " * 100) + "<b>")
    assert (
        long.endswith("…")
        and long.count("<br>") >= 3
        and all(len(line) <= 80 for line in unescape(long).split("\n"))
    )
    assert hover_text("a\x00<b>") == "a␀&lt;b&gt;"


def test_token_heatmap_checks_its_labels() -> None:
    with pytest.raises(ValueError, match="1 × 2 labels for a 2 × 2 heatmap"):
        token_heatmap(
            np.zeros((2, 2)),
            x_labels=["a", "b"],
            y_labels=["a"],
            title="t",
            x_title="x",
            y_title="y",
            colorscale="Viridis",
            zmin=0,
            zmax=1,
            colorbar_title="c",
        )


@pytest.fixture(scope="module")
def lens_figure(hooked: dv.HookedModel) -> go.Figure:
    """A heatmap with cell text, markup and control characters in its labels."""
    return PredictionView(hooked, text=TEXT).figure()


def test_matplotlib_draws_heatmaps_as_png_and_svg(lens_figure: go.Figure, tmp_path: Path) -> None:
    png, svg = tmp_path / "lens.png", tmp_path / "lens.svg"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning per glyph a font lacks
        assert to_png(lens_figure, png, width=400, height=300, scale=1, engine="matplotlib") == "matplotlib"
        assert to_svg(lens_figure, svg, width=400, height=300, engine="matplotlib") == "matplotlib"
    assert png.read_bytes()[:8] == PNG
    drawn = svg.read_text(encoding="utf-8")
    assert "<svg" in drawn[:400] and "L2 (out)" in drawn  # tick labels are text


def test_svg_falls_back_to_matplotlib_when_kaleido_fails(
    lens_figure: go.Figure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figure = go.Figure(lens_figure)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("no browser")

    monkeypatch.setattr(figure, "write_image", broken)
    with pytest.warns(UserWarning, match="SVG export through kaleido failed"):
        assert to_svg(figure, tmp_path / "x.svg", width=500, height=400) == "matplotlib"
    assert "<svg" in (tmp_path / "x.svg").read_text(encoding="utf-8")[:400]


@pytest.fixture
def without_kaleido(monkeypatch: pytest.MonkeyPatch) -> None:
    """plotly as on a machine without kaleido: ``write_image`` raises."""
    monkeypatch.setattr("plotly.io._kaleido.kaleido_available", lambda: False)


@pytest.mark.usefixtures("without_kaleido")
def test_bar_charts_save_without_kaleido(hooked: dv.HookedModel, tmp_path: Path) -> None:
    explanation = dv.explain(hooked, TEXT, methods=["input_x_gradient", "integrated_gradients"], ig_steps=4)
    importance = dv.global_importance(hooked, [TEXT, "a <i>b</i> & a"], method="input_x_gradient")
    for figure, name in [
        (dv.token_bar_chart(explanation), "tokens"),  # vertical bars, grouped: two methods per token
        (dv.global_bar_chart(importance, top_k=4), "global"),  # horizontal bars
    ]:
        with pytest.warns(UserWarning, match="PNG export through kaleido failed"):
            assert save_figure(figure, tmp_path / f"{name}.png").read_bytes()[:8] == PNG
        with pytest.warns(UserWarning, match="SVG export through kaleido failed"):
            drawn = save_figure(figure, tmp_path / f"{name}.svg").read_text(encoding="utf-8")
        assert "<svg" in drawn[:400]
        shown = [label(t) for t in (explanation.token_texts if name == "tokens" else importance.tokens[:4])]
        for text in shown:  # each tick label, unescaped, is in the SVG (as a comment beside its glyphs)
            assert escape(unescape(text), quote=False) in drawn
        assert "&amp;lt;" not in drawn and "&amp;amp;" not in drawn  # "<" shown as itself, not as "&lt;"


def test_matplotlib_draws_bars_at_their_positions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    drawn: list[tuple[str, list[float], list[float]]] = []
    save = Figure.savefig

    def record(self: Figure, *args: Any, **kwargs: Any) -> None:
        for axes in self.axes:
            for patch in axes.patches:
                box = patch.get_bbox()
                drawn.append((axes.get_title(), sorted([box.x0, box.x1]), sorted([box.y0, box.y1])))
        save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    grouped = go.Figure([go.Bar(x=[0, 1], y=[2.0, -1.0], name="a"), go.Bar(x=[0, 1], y=[1.0, 3.0], name="b")])
    grouped.update_layout(title="grouped")
    to_png(grouped, tmp_path / "grouped.png", engine="matplotlib")
    sideways = go.Figure(go.Bar(x=[5.0, 7.0], y=["x", "y"], orientation="h"), layout={"title": "h"})
    to_svg(sideways, tmp_path / "sideways.svg", engine="matplotlib")
    bars = {title: [(x, y) for t, x, y in drawn if t == title] for title in ("grouped", "h")}
    assert bars["grouped"] == [
        (pytest.approx([-0.4, 0.0]), pytest.approx([0.0, 2.0])),
        (pytest.approx([0.6, 1.0]), pytest.approx([-1.0, 0.0])),
        (pytest.approx([0.0, 0.4]), pytest.approx([0.0, 1.0])),
        (pytest.approx([1.0, 1.4]), pytest.approx([0.0, 3.0])),
    ]
    assert bars["h"] == [
        (pytest.approx([0.0, 5.0]), pytest.approx([-0.4, 0.4])),
        (pytest.approx([0.0, 7.0]), pytest.approx([0.6, 1.4])),
    ]


def test_matplotlib_refuses_what_it_cannot_draw(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="draws scatter, heatmap and bar traces, not 'pie'"):
        to_png(go.Figure(go.Pie(values=[1, 2])), tmp_path / "pie.png", engine="matplotlib")
    stacked = go.Figure([go.Bar(y=[1]), go.Bar(y=[2])], layout={"barmode": "stack"})
    with pytest.raises(ValueError, match="grouped and overlaid bars, not barmode 'stack'"):
        to_png(stacked, tmp_path / "stack.png", engine="matplotlib")


def test_save_figure_picks_the_format_by_suffix(lens_figure: go.Figure, tmp_path: Path) -> None:
    path = save_figure(lens_figure, tmp_path / "lens.HTML")
    assert path == tmp_path / "lens.HTML" and "Plotly.newPlot" in path.read_text(encoding="utf-8")
    assert save_figure(lens_figure, tmp_path / "lens.png", engine="matplotlib").read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match=r"cannot tell the format of 'lens\.pdf'"):
        save_figure(lens_figure, tmp_path / "lens.pdf")


@pytest.mark.slow
def test_kaleido_writes_png_and_svg_with_labels_as_text(
    lens_figure: go.Figure, hooked: dv.HookedModel, tmp_path: Path
) -> None:
    pytest.importorskip("kaleido")
    try:
        to_png(lens_figure, tmp_path / "lens.png", width=500, height=350, scale=1, engine="kaleido")
    except Exception as error:  # no Chrome/Chromium on this machine
        pytest.skip(f"kaleido cannot render here: {error}")
    assert (tmp_path / "lens.png").read_bytes()[:8] == PNG
    attention = AttentionView(hooked, text=TEXT).figure()
    assert save_figure(attention, tmp_path / "attention.svg", engine="kaleido") == tmp_path / "attention.svg"
    drawn = (tmp_path / "attention.svg").read_text(encoding="utf-8")
    assert drawn.startswith("<svg") and "Attention, layer 0 · head 0" in drawn
    markup = token_heatmap(
        np.eye(2),
        x_labels=["<b>bold</b>", "x\x10"],
        y_labels=["a", "b"],
        title="<i>t</i>",
        x_title="key",
        y_title="query",
        colorscale="Viridis",
        zmin=0,
        zmax=1,
        colorbar_title="w",
    )
    assert to_svg(markup, tmp_path / "markup.svg", engine="kaleido") == "kaleido"
    drawn = (tmp_path / "markup.svg").read_text(encoding="utf-8")
    assert "&#60;b&#62;bold&#60;/b&#62;" in drawn and "&#60;i&#62;t&#60;/i&#62;" in drawn and "x␐" in drawn
    assert "font-weight:bold" not in drawn.replace(" ", "") and "italic" not in drawn
