"""ArchitectureView: the structure synced as small JSON facts, ``selected_layer`` checked, and a link that
shows the clicked layer in an AttentionView and (MoE layers) a RoutingView."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import traitlets

import deepseek_viz as dv
from deepseek_viz.model.structure import ModelStructure
from tests.unit.test_model_interface import StandIn
from tests.widgets.conftest import Serving

TEXT = "Fever may indicate flu."


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu"))


def test_the_structure_is_sent_as_json_facts(hooked: dv.HookedModel) -> None:
    view = dv.ArchitectureView(hooked)
    assert str(view.status) == "ready" and view.num_layers == 3 and view.selected_layer == -1
    state = view.get_state()
    sent = json.loads(json.dumps(state["_structure"]))  # plain JSON: no buffers, no numpy
    assert ModelStructure.from_dict(sent) == view.structure == hooked.structure()
    assert sent["layers"][1]["mlp"]["kind"] == "MoE" and sent["layers"][0]["attention"]["kind"] == "MLA"
    before = view._data_id
    view.refresh()
    assert view._data_id == before + 1


def test_a_stand_in_for_the_model_is_drawn_through_the_interface(hooked: dv.HookedModel) -> None:
    view = dv.ArchitectureView(StandIn(hooked))  # type: ignore[arg-type]
    assert view.structure == hooked.structure()
    with pytest.raises(TypeError, match="HookedModel"):
        dv.ArchitectureView(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="valid"):
        dv.ArchitectureView(hooked, layer=1)  # type: ignore[call-arg]


def test_selected_layer_is_checked(hooked: dv.HookedModel) -> None:
    view = dv.ArchitectureView(hooked, selected_layer=2)
    assert view.selected_layer == 2
    with pytest.raises(traitlets.TraitError, match="selected_layer 3 is out of range"):
        view.selected_layer = 3
    view.selected_layer = -1


def test_a_failing_model_becomes_the_status(hooked: dv.HookedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    view = dv.ArchitectureView(hooked)

    def broken() -> ModelStructure:
        raise dv.UnsupportedModelError("no structure here")

    monkeypatch.setattr(hooked, "structure", broken)
    view.refresh()
    assert str(view.status) == "error: no structure here"
    assert view.structure is not None  # what it showed is kept


def test_a_link_shows_the_clicked_layer_in_attention_and_routing_views(hooked: dv.HookedModel) -> None:
    view = dv.ArchitectureView(hooked)
    attention = dv.AttentionView(hooked, TEXT)
    routing = dv.RoutingView(hooked, text=TEXT)
    to_attention = dv.link(view, attention)
    view.link(routing)
    assert routing.layer == 1
    view.selected_layer = 2
    assert (attention.layer, routing.layer) == (2, 2)
    view.selected_layer = 0  # a dense layer: the routing view keeps its MoE layer
    assert (attention.layer, routing.layer) == (0, 2) and str(view.status) == "ready"
    to_attention.unlink()
    view.selected_layer = 1
    assert (attention.layer, routing.layer) == (0, 1)
    with pytest.raises(TypeError, match="no trait 'layer'"):
        view.link(dv.SweepView(dv.HeadSweep("x", 0.0, np.zeros((3, 4)), "zero")))
