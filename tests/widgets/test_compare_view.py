"""Compare without a browser: two runs' arrays cross as buffers, the difference is ``b − a`` of the
Comparison, two tokenizers that differ are an error in the status, an intervention shows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

import deepseek_viz as dv
from deepseek_viz.analysis.comparison import compare
from deepseek_viz.model import ModelInterface
from deepseek_viz.widgets.buffers import ArrayTrait, decode
from deepseek_viz.widgets.compare_view import Compare, lens_window, pool_signed
from tests.widgets.conftest import Serving

TEXT = "Fever may indicate flu. Revenue rose 12%."
OTHER = "Fever may indicate gout. Revenue rose 12%."


@pytest.fixture(scope="module")
def models(tiny_checkpoints: dict[str, Path], serving: Serving) -> dict[str, ModelInterface]:
    return {
        name: serving(dv.load_model(tiny_checkpoints[name], device="cpu"))
        for name in ("deepseek_v3", "llama")
    }


@pytest.fixture(scope="module")
def v3(models: dict[str, dv.HookedModel]) -> dv.HookedModel:
    return models["deepseek_v3"]


def test_arrays_cross_as_buffers_and_the_difference_is_b_minus_a(v3: dv.HookedModel) -> None:
    layer = v3.moe_layers[0]
    view = dv.Compare(v3, TEXT, text_b=OTHER, layer=layer, head=1)
    assert view.status.ok, view.status
    state, paths, _buffers = _remove_buffers(view.get_state())
    json.dumps(state)  # the rest is JSON
    sent = {path[0] for path in paths}
    arrays = {name for name, trait in view.traits(sync=True).items() if isinstance(trait, ArrayTrait)}
    assert {"_pattern_a", "_pattern_b", "_difference", "_routing_changes", "_lens_agree"} <= sent <= arrays
    comparison = compare(v3, TEXT, OTHER)
    expected = comparison.attention_difference(layer, 1)
    shown = decode(view._difference)
    assert shown.shape == expected.shape == (comparison.positions, comparison.positions)
    np.testing.assert_allclose(shown, expected, atol=1e-3)
    assert np.abs(shown).max() > 0
    differing = comparison.differing_tokens()
    assert differing and decode(view._differs).tolist() == [int(i in differing) for i in range(len(shown))]
    np.testing.assert_array_equal(decode(view._routing_changes), comparison.routing_changes(layer))
    np.testing.assert_allclose(decode(view._prob_change), comparison.prediction_changes()[1], atol=1e-3)
    window = lens_window(comparison.positions, -1)
    np.testing.assert_array_equal(decode(view._lens_agree) > 0.5, comparison.lens_agreement(window))
    # the head switch redraws from the kept traces
    before = view._data_id
    view.head = 0
    assert view._data_id > before
    np.testing.assert_allclose(decode(view._difference), comparison.attention_difference(layer, 0), atol=1e-3)


def test_identical_runs_show_zero_difference(v3: dv.HookedModel) -> None:
    view = Compare(v3, TEXT, layer=v3.moe_layers[0])
    assert view.status.ok
    assert not decode(view._differs).any()
    assert not decode(view._difference).any()
    assert not decode(view._routing_changes).any()
    assert not decode(view._prob_change).any()
    assert decode(view._lens_agree).min() == 1.0
    np.testing.assert_array_equal(decode(view._pattern_a), decode(view._pattern_b))


def test_interventions_b_differ_from_a(v3: dv.HookedModel) -> None:
    ablation = dv.HeadAblation(0, tuple(range(v3.num_heads)))
    view = Compare(v3, TEXT, interventions_b=[ablation], layer=1)
    assert view.status.ok, view.status
    assert not decode(view._differs).any()  # same tokens: every difference is the intervention's
    assert np.abs(decode(view._difference)).max() > 0  # layer 1 reads what layer 0's heads wrote
    view.layer = 0
    assert np.abs(decode(view._difference)).max() < 1e-6  # the ablated layer's own pattern is unchanged
    assert "HeadAblation L0" in view._caption
    # attributions only when asked, the intervened run explained under its interventions
    assert view._attr_a is None
    first, second = view.attribute()
    assert view._attr_a is not None and view._attr_b is not None
    assert not np.allclose(first, second)
    view.text_a = view.text_b = OTHER
    assert view._attr_a is None  # dropped with the texts


def test_two_models_that_share_a_tokenizer(models: dict[str, dv.HookedModel]) -> None:
    view = Compare(models["deepseek_v3"], TEXT, model_b=models["llama"], layer=1)
    assert view.status.ok, view.status
    assert view._routing_changes is None and "dense" in view._routing_note
    assert view._difference is not None and view.moe_layers == []


def test_two_tokenizers_that_differ_are_an_error_and_draw_nothing(v3: dv.HookedModel) -> None:
    view = Compare(dv.load_model(), TEXT, model_b=v3)
    assert view.status.failed and "tokenizers differ" in view.status.message
    assert view._pattern_a is None and view._difference is None and view._tokens_a == []


def test_dense_layer_out_of_range_and_selection(v3: dv.HookedModel) -> None:
    dense = next(layer for layer in range(v3.num_layers) if layer not in v3.moe_layers)
    view = Compare(v3, TEXT, text_b=OTHER, layer=dense)
    assert view._routing_changes is None and f"layer {dense} is dense" in view._routing_note
    with pytest.raises(traitlets.TraitError, match="out of range"):
        view.layer = v3.num_layers
    with pytest.raises(traitlets.TraitError, match="out of range"):
        view.head = v3.num_heads
    with pytest.raises(traitlets.TraitError, match="out of range"):
        view.selected_token = 999
    view.selected_token = 2
    assert view.status.ok
    view.text_a = "Fever"  # shorter: the selection no longer reaches
    assert view.comparison is not None and view.status.ok
    assert view.selected_token == (-1 if view.comparison.positions <= 2 else 2)
    view.text_a = ""
    assert view.status.ok and view._tokens_a == [] and view._difference is None
    with pytest.raises(TypeError, match="unknown keyword"):
        Compare(v3, TEXT, heads=[0])  # type: ignore[call-arg]


def test_pool_signed_keeps_the_largest_change_with_its_sign() -> None:
    matrix = np.zeros((4, 4), dtype=np.float32)
    matrix[0, 1], matrix[1, 0], matrix[3, 3] = 0.2, -0.5, 0.1
    pooled = pool_signed(matrix, 2)
    np.testing.assert_allclose(pooled, [[-0.5, 0.0], [0.0, 0.1]])
    assert lens_window(10, -1) == range(0, 10) and lens_window(200, -1) == range(136, 200)
    assert lens_window(200, 5) == range(0, 64) and lens_window(200, 100) == range(68, 132)


def test_predicted_pieces_of_characters_are_sent_as_their_bytes(v3: dv.HookedModel) -> None:
    """A top next token that is a piece of a multi-byte character arrives as "<0xE4>", never "�"."""
    view = Compare(v3, "東京は日本の首都です 😀", text_b="東京は日本の首都 😀")
    assert view.status.ok, view.status
    shown = [*view._top_a, *view._top_b]
    assert shown and not any("\ufffd" in text for text in shown)
    for run in ("a", "b"):  # each run's own top tokens, for the positions compared
        sent = getattr(view, f"_top_{run}")
        assert sent == readable(v3, view, run)[: len(sent)]


def readable(model: dv.HookedModel, view: Compare, run: str) -> list[str]:
    from deepseek_viz.model.tokens import readable_texts

    trace = model.trace(getattr(view, f"text_{run}"))
    top = trace.top_predictions(1, range(len(trace.tokens)))
    return readable_texts([p[0].text for p in top], [p[0].token_id for p in top], model.token_strings)
