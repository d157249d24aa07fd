"""ExpertMapView without a browser: the points and load bands sent, clicks → selected_expert, the link
to a RoutingView both ways, layer and basis changes, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import traitlets

import deepseek_viz as dv
from deepseek_viz.widgets import ExpertMapView, RoutingView
from deepseek_viz.widgets.buffers import decode
from deepseek_viz.widgets.expert_map_view import BAND_COLOURS, LOAD_BANDS, UNUSED, load_band
from tests.widgets.conftest import Serving

TEXTS = ["Fever may indicate flu.", "Quarterly revenue rose 12%.", "你好，世界 🙂", "The cat sat on the mat."]


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu"))


@pytest.fixture
def view(hooked: dv.HookedModel) -> ExpertMapView:
    return ExpertMapView(hooked, layer=1, texts=TEXTS)


def test_points_and_load_bands_are_sent(view: ExpertMapView) -> None:
    assert view.mode == "experts" and str(view.status) == "ready" and len(view) == 8
    assert view._coords is not None and view._coords.dtype == "float32" and view._coords.shape == (8, 2)
    np.testing.assert_allclose(decode(view._coords), view.result.positions)
    assert view._labels is not None and view._labels.dtype == "uint8"
    bands = [view._label_names[i] for i in decode(view._labels).astype(int)]
    assert bands == load_band(view.result.counts, view.result.load)
    order = [UNUSED, *(name for _, name in LOAD_BANDS)]
    assert view._label_names == [name for name in order if name in bands]  # legend low → high
    assert view._colours == [BAND_COLOURS[order.index(name)] for name in view._label_names]
    assert view.description == view._caption and "co-activation" in view.description
    assert view._texts[0].startswith("expert 0 · ") and "top tokens" in "".join(view._texts)


def test_load_bands_by_share_of_even() -> None:
    counts = np.array([0, 1, 5, 14, 30])  # even share: 10 each
    assert load_band(counts, counts / counts.sum()) == [
        UNUSED,
        "< 0.5× even load",
        "0.5–0.8× even",
        "1.25–2× even",
        "≥ 2× even load",
    ]


def test_click_selects_an_expert_and_setting_it_rings_it(view: ExpertMapView) -> None:
    reply, _ = view._click({"index": 3}, [])
    assert reply == {"index": 3} and view.selected_expert == 3
    view.selected_expert = 5
    assert view.clicked == 5
    with pytest.raises(traitlets.TraitError, match="out of range"):
        view.selected_expert = 8


def test_layer_and_basis_changes_redraw_without_tracing(view: ExpertMapView, hooked: dv.HookedModel) -> None:
    view.selected_expert = 2
    before = view._data_id
    calls: list[str] = []
    original = hooked.trace
    hooked.trace = lambda *a, **k: calls.append("trace") or original(*a, **k)  # type: ignore[method-assign]
    try:
        view.layer = 2
        assert view.result.layer == 2 and view.selected_expert == -1 and view._data_id > before
        view.by = "weights"
        assert view.result.by == "weights" and "router" in view.description
    finally:
        del hooked.trace
    assert calls == []  # the corpus was counted once, for every MoE layer
    with pytest.raises(traitlets.TraitError, match="MoE layers"):
        view.layer = 0
    with pytest.raises(traitlets.TraitError, match="by must be"):
        view.by = "output"


def test_three_dimensions(hooked: dv.HookedModel) -> None:
    view = ExpertMapView(hooked, layer=2, by="weights", dims=3, texts=TEXTS)
    assert view._coords is not None and view._coords.shape == (8, 3)


def test_link_to_a_routing_view(view: ExpertMapView, hooked: dv.HookedModel) -> None:
    routing = RoutingView(hooked, text="Fever may indicate flu.", layer=2)
    link = view.link(routing)
    assert view.layer == 2  # follows the routing view's layer
    view._click({"index": 4}, [])
    assert (routing.layer, routing.selected_expert) == (2, 4)
    routing.selected_expert = 6
    assert view.selected_expert == 6
    routing.layer = 1
    assert view.layer == 1 and view.result.layer == 1 and view.selected_expert == -1
    view._click({"index": 1}, [])
    assert (routing.layer, routing.selected_expert) == (1, 1)
    link.unlink()
    view._click({"index": 7}, [])
    assert routing.selected_expert == 1
    with pytest.raises(TypeError, match="selected_expert"):
        view.link(dv.AttentionView(hooked, text="flu"))


def test_figure_and_bad_input(view: ExpertMapView, tiny_checkpoints: dict[str, Path]) -> None:
    figure = view.figure()
    assert len(figure.data) >= 1
    with pytest.raises(TypeError, match="valid"):
        ExpertMapView(view.model, layer=1, texts=TEXTS, colour="load")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="dims"):
        ExpertMapView(view.model, texts=TEXTS, dims=4)
    with pytest.raises(dv.LayerOutOfRangeError):
        ExpertMapView(view.model, layer=0, texts=TEXTS)
    dense = dv.load_model(tiny_checkpoints["llama"], device="cpu")
    with pytest.raises(ValueError, match="no MoE layers"):
        ExpertMapView(dense, texts=TEXTS)


def test_band_colours_stand_out_on_a_light_and_a_dark_stage() -> None:
    from plotly.colors import hex_to_rgb, unlabel_rgb

    def luminance(colour: str) -> float:
        rgb = hex_to_rgb(colour) if colour.startswith("#") else unlabel_rgb(colour)
        linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in (c / 255 for c in rgb)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    white, dark = 1.0, luminance("#111111")  # JupyterLab Light's and Dark's --jp-layout-color0
    levels = [luminance(colour) for colour in BAND_COLOURS]
    assert len(set(BAND_COLOURS)) == len(LOAD_BANDS) + 1
    for level in levels:
        assert (white + 0.05) / (level + 0.05) >= 2.4 and (level + 0.05) / (dark + 0.05) >= 2.4
    assert levels[1:] == sorted(levels[1:])  # darker to lighter, low load → high
