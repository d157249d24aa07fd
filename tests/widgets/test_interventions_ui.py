"""Click-to-ablate without a browser: heads and experts turned off through the views' ``_intervene``
command and a shared :class:`Interventions`; the predictions' before → after; undo restores exactly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import deepseek_viz as dv
from deepseek_viz.analysis.causal import intervention_effect
from deepseek_viz.model import ExpertAblation, HeadAblation, ModelInterface
from deepseek_viz.widgets import AttentionView, Interventions, PredictionView, RoutingView
from deepseek_viz.widgets.buffers import decode
from tests.widgets.conftest import Serving

TEXT = "Fever may indicate flu and a cough"


@pytest.fixture(scope="module")
def loaded(tiny_checkpoints: dict[str, Path], serving: Serving) -> Callable[[str], ModelInterface]:
    """``loaded(family)``: that family's tiny model, loaded once per module."""
    cache: dict[str, ModelInterface] = {}

    def load(family: str) -> ModelInterface:
        if family not in cache:
            cache[family] = serving(dv.load_model(tiny_checkpoints[family], device="cpu", max_tokens=300))
        return cache[family]

    return load


@pytest.fixture
def model(loaded: Callable[[str], ModelInterface]) -> ModelInterface:
    return loaded("deepseek_v3")


def prediction_data(view: PredictionView) -> tuple[Any, ...]:
    """Everything the prediction view sends about its text, bytes included."""
    assert view._lens_ids is not None and view._lens_probs is not None
    return (
        view._predictions,
        view._predictions_at,
        view._strings,
        view._lens_ids.data,
        view._lens_probs.data,
        view._tokens,
    )


def every_head_off(state: Interventions, model: dv.HookedModel, layers: range) -> None:
    for layer in layers:
        for head in range(model.num_heads):
            state.toggle_head(layer, head)


def test_turning_heads_off_changes_the_predictions_and_undo_restores_them_exactly(
    model: dv.HookedModel,
) -> None:
    view = PredictionView(model, TEXT, k=5)
    original = prediction_data(view)
    assert view._change is None
    every_head_off(view.interventions, model, range(model.num_layers))
    assert view.status.ok, view.status
    assert len(view._interventions) == model.num_layers * model.num_heads
    assert view._interventions[0] == {"label": "L0 head 0 off", "kind": "head", "layer": 0, "unit": 0}
    changed = prediction_data(view)
    assert changed[0] != original[0]  # the intervened run's top-k differ
    assert view.trace is not None and view.trace.interventions == view.interventions.items
    change = view._change
    assert change is not None and change["at"] == len(view._tokens) - 1
    assert change["before"] == pytest.approx(original[0][0])  # the original run's top token
    assert change["after"] == pytest.approx(changed[0][0])  # the intervened run's
    assert change["then"] is None or change["then"] != pytest.approx(change["before"][1])
    # selecting a position shows its before → after
    view.selected_token = 1
    assert view._change is not None and view._change["at"] == 1
    view.selected_token = -1
    view.interventions.clear()
    assert view.status.ok and view._interventions == [] and view._change is None
    assert prediction_data(view) == original  # bit-identical: the original run


def test_a_views_command_turns_a_head_off_and_back_on(model: dv.HookedModel) -> None:
    view = AttentionView(model, TEXT, layer=1)
    before = decode(view._thumbnails).copy()
    reply, _ = view._intervene({"action": "toggle_head", "layer": 0, "head": 1}, [])
    assert reply == {"interventions": [{"label": "L0 head 1 off", "kind": "head", "layer": 0, "unit": 1}]}
    assert view.interventions.items == (HeadAblation(0, (1,)),)
    assert view.trace is not None and view.trace.interventions == (HeadAblation(0, (1,)),)
    assert not np.array_equal(decode(view._thumbnails), before)  # layer 1 reads a changed stream
    reply, _ = view._intervene({"action": "toggle_head", "layer": 0, "head": 1}, [])
    assert reply == {"interventions": []}
    assert np.array_equal(decode(view._thumbnails), before)


def test_one_shared_state_refreshes_each_view_once(
    model: dv.HookedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = Interventions(model)
    views = [
        AttentionView(model, TEXT, interventions=state),
        RoutingView(model, TEXT, interventions=state),
        PredictionView(model, TEXT, interventions=state),
    ]
    assert all(view.interventions is state for view in views)
    calls: dict[str, int] = {}
    for view in views:
        name = type(view).__name__
        original = view.refresh

        def counted(name: str = name, original: Any = original) -> None:
            calls[name] = calls.get(name, 0) + 1
            original()

        monkeypatch.setattr(view, "refresh", counted)
    expert = int(decode(views[1]._experts)[0, 0])
    layer = views[1].layer
    # a click in the routing view turns the expert off in every view sharing the state
    reply, _ = views[1]._intervene({"action": "toggle_expert", "layer": layer, "expert": expert}, [])
    assert "error" not in reply
    assert calls == {"AttentionView": 1, "RoutingView": 1, "PredictionView": 1}
    assert all(view._interventions == reply["interventions"] for view in views)
    assert all(view.trace is not None and view.trace.interventions for view in views)
    assert expert not in decode(views[1]._experts)  # every token routed elsewhere
    views[0]._intervene({"action": "clear"}, [])
    assert calls == {"AttentionView": 2, "RoutingView": 2, "PredictionView": 2}
    assert all(view._interventions == [] for view in views)


def test_two_experts_of_one_layer_are_both_off(model: dv.HookedModel) -> None:
    view = RoutingView(model, TEXT)
    first = decode(view._experts)[0]
    view.interventions.toggle_expert(view.layer, int(first[0]))
    view.interventions.toggle_expert(view.layer, int(first[1]))
    assert view.interventions.items == tuple(ExpertAblation(view.layer, (int(e),)) for e in first[:2])
    routed = decode(view._experts)
    assert int(first[0]) not in routed and int(first[1]) not in routed
    assert [entry["kind"] for entry in view._interventions] == ["expert", "expert"]
    view._intervene({"action": "remove", "index": 0}, [])
    assert view.interventions.items == (ExpertAblation(view.layer, (int(first[1]),)),)


@pytest.mark.parametrize(
    ("family", "msg", "message"),
    [
        ("deepseek_v3", {"action": "toggle_head", "layer": 99, "head": 0}, "layer 99 is out of range"),
        ("deepseek_v3", {"action": "toggle_head", "layer": 0, "head": 99}, "head 99 is out of range"),
        ("deepseek_v3", {"action": "toggle_expert", "layer": 0, "expert": 0}, "layer 0 is dense"),
        ("deepseek_v3", {"action": "toggle_expert", "layer": 1, "expert": 999}, "expert 999 is out of range"),
        ("deepseek_v3", {"action": "remove", "index": 3}, "no intervention 3"),
        ("llama", {"action": "toggle_expert", "layer": 0, "expert": 0}, "layer 0 is dense"),
    ],
)
def test_a_bad_click_says_why_in_the_status_and_loses_nothing(
    loaded: Callable[[str], dv.HookedModel], family: str, msg: dict[str, Any], message: str
) -> None:
    model = loaded(family)
    view = PredictionView(model, TEXT)
    view.interventions.toggle_head(0, 0)
    data, items = prediction_data(view), view.interventions.items
    reply, _ = view._intervene(msg, [])
    assert message in reply["error"]
    assert view.status.failed and message in view.status.message
    assert view.interventions.items == items and prediction_data(view) == data
    assert len(view._interventions) == 1


def test_too_many_experts_off_is_refused_before_anything_changes(model: dv.HookedModel) -> None:
    state = Interventions(model)
    layer = model.moe_layers[0]
    allowed = model.num_experts - model.experts_per_token
    for expert in range(allowed):
        state.toggle_expert(layer, expert)
    with pytest.raises(ValueError, match="leaves too few"):
        state.toggle_expert(layer, allowed)
    assert len(state) == allowed


def test_interventions_set_from_python_show_in_the_list_and_are_run(model: dv.HookedModel) -> None:
    view = PredictionView(model, TEXT)
    view.interventions.add(dv.HeadScale(0, (0, 1), 2.0))
    assert view._interventions == [{"label": "L0 heads 0, 1 ×2", "kind": "other", "layer": 0, "unit": -1}]
    assert view.trace is not None and view.trace.interventions == (dv.HeadScale(0, (0, 1), 2.0),)
    view.interventions.clear()
    patches = [
        dv.HeadPatch.from_run(model, TEXT, 1, [0, 2], positions=[1]),
        dv.ExpertPatch.from_run(model, TEXT, 1, 3),
        dv.ResidualPatch.from_trace(model.trace(TEXT), 2, [0, 1]),
    ]
    view.interventions.add(*patches)
    labels = [entry["label"] for entry in view._interventions]
    assert labels == [
        "L1 heads 0, 2 patched at 1",
        f"L1 expert 3 patched at {len(model.tokenize(TEXT))} positions",
        "L2 residual patched at 0, 1",
    ]
    with pytest.raises(TypeError, match="not an intervention"):
        view.interventions.add("head 3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Interventions"):
        PredictionView(model, TEXT, interventions=[HeadAblation(0, (0,))])  # type: ignore[arg-type]


def test_a_dashboard_shares_one_state_between_its_views(model: dv.HookedModel) -> None:
    dash = dv.Dashboard(model, texts=["a b", "c d"], labels=[0, 1], text=TEXT)
    dash.wait_for_map(60)
    assert dash.routing is not None
    assert dash.attention.interventions is dash.interventions
    assert dash.routing.interventions is dash.interventions
    assert dash.predictions.interventions is dash.interventions
    assert dash.attribution.interventions is dash.interventions
    before = dash.predictions._predictions
    every_head_off(dash.interventions, model, range(model.num_layers))
    assert dash.predictions._predictions != before
    assert dash.predictions._change is not None
    assert len(dash.attention._interventions) == model.num_layers * model.num_heads
    assert dash.status.ok
    assert "with interventions" in dash.attribution._caption
    dash.interventions.clear()
    assert dash.predictions._predictions == before and dash.predictions._change is None
    assert "with interventions" not in dash.attribution._caption


def test_the_attribution_view_explains_the_intervened_run_of_the_original_target(
    model: dv.HookedModel,
) -> None:
    view = dv.AttributionView(model, TEXT, methods=("input_x_gradient",), sampling_methods=())
    original = view.explanation
    assert original is not None and view._scores is not None
    original_bytes, caption = view._scores.data, view._caption
    top = int(model.trace(TEXT, layers=[]).top_predictions(1)[-1][0].token_id)
    view.interventions.add(*(HeadAblation(layer, tuple(range(model.num_heads))) for layer in range(2)))
    assert view.status.ok, view.status
    under = view.explanation
    assert under is not None and under.target_spec == dv.NextToken(token=top)  # pinned on the original run
    effect = intervention_effect(model, TEXT, list(view.interventions.items), dv.NextToken(token=top))
    assert under.value == pytest.approx(effect.after, abs=1e-5) and effect.change != 0
    assert f"original {effect.before:.4g} → {effect.after:.4g}" in view._caption
    assert view._scores.data != original_bytes
    assert [entry["kind"] for entry in view._interventions] == ["other", "other"]
    view.interventions.clear()
    assert view._scores.data == original_bytes and view._caption == caption
