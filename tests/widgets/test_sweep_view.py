"""SweepView: a sweep's arrays as float32 array traits, clicks as selected layer/head/token traits, and a
link that selects them in an AttentionView."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import traitlets

import deepseek_viz as dv
from deepseek_viz.analysis.causal import HeadSweep, PatchSweep
from deepseek_viz.widgets.buffers import decode
from tests.unit.test_interventions import TEXT, corrupted_text
from tests.widgets.conftest import Serving


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu"))


def head_sweep() -> HeadSweep:
    effects = np.arange(12, dtype=np.float32).reshape(3, 4) - 6
    return HeadSweep("log p(' flu')", 1.5, effects, "zero")


def patch_sweep(kind: str = "residual") -> PatchSweep:
    values = np.linspace(-2, 0, 15, dtype=np.float32).reshape(3, 5)
    tokens = ["<b>", " flu", "\n", "x", "y"]
    return PatchSweep(
        "log p(' flu')", 0.0, -2.0, values if kind == "residual" else values[:, :4], tokens, kind
    )


def test_a_head_sweep_is_sent_as_float32_arrays() -> None:
    view = dv.SweepView(head_sweep())
    assert view.columns == "head" and view._scale == "change" and view.shape == (3, 4)
    assert view._values is not None and view._values.dtype == "float32"
    np.testing.assert_array_equal(decode(view._values), head_sweep().effects)
    np.testing.assert_array_equal(decode(view._targets), 1.5 + head_sweep().effects)  # type: ignore[arg-type]
    assert view._column_labels == ["0", "1", "2", "3"] and "zero-ablated" in view._caption
    state = view.get_state()
    assert isinstance(state["_values"]["buffer"], memoryview | bytes)  # binary, not a JSON list


@pytest.mark.parametrize("kind", ["residual", "heads"])
def test_a_patch_sweep_shows_the_share_recovered(kind: str) -> None:
    sweep = patch_sweep(kind)
    view = dv.SweepView(sweep)
    assert view._scale == "recovered"
    np.testing.assert_allclose(decode(view._values), sweep.recovered)  # type: ignore[arg-type]
    np.testing.assert_array_equal(decode(view._targets), sweep.values)  # type: ignore[arg-type]
    if kind == "residual":
        assert view.columns == "position" and view._column_labels == sweep.tokens
    else:
        assert view.columns == "head" and view._column_labels == ["0", "1", "2", "3"]


def test_selections_are_checked_and_a_new_sweep_clears_them() -> None:
    view = dv.SweepView(head_sweep(), selected_layer=2, selected_head=3)
    with pytest.raises(traitlets.TraitError, match="selected_layer 3"):
        view.selected_layer = 3
    with pytest.raises(traitlets.TraitError, match="selected_token"):
        view.selected_token = 0  # a head sweep has no token columns
    before = view._data_id
    view.sweep = patch_sweep()
    assert (view.selected_layer, view.selected_head, view._data_id) == (-1, -1, before + 1)
    view.selected_token = 4
    with pytest.raises(traitlets.TraitError, match="HeadSweep or PatchSweep"):
        view.sweep = np.zeros((2, 2))
    with pytest.raises(TypeError, match="valid"):
        dv.SweepView(head_sweep(), layer=1)  # type: ignore[call-arg]


def test_a_link_selects_the_layer_and_head_or_token_in_an_attention_view(hooked: dv.HookedModel) -> None:
    attention = dv.AttentionView(hooked, TEXT)
    heads = dv.SweepView(head_sweep())
    link = dv.link(heads, attention)
    heads.selected_layer, heads.selected_head = 2, 3
    assert (attention.layer, attention.heads) == (2, [3])
    link.unlink()
    heads.selected_head = 1
    assert attention.heads == [3]  # unlinked: nothing forwarded
    n = len(hooked.tokenize(TEXT))
    tokens = dv.SweepView(PatchSweep("t", 0.0, 1.0, np.zeros((3, n + 3), np.float32), ["a"] * (n + 3)))
    tokens.link(attention)
    tokens.selected_layer, tokens.selected_token = 1, 2
    assert (attention.layer, attention.selected_token) == (1, 2)
    tokens.selected_token = n + 1  # beyond the attention view's text: refused there, said here
    assert tokens.status.failed and "refused" in tokens.status.message and attention.selected_token == 2
    with pytest.raises(TypeError, match="AttentionView"):
        tokens.link(traitlets.HasTraits())


def test_run_sweeps_and_shows(hooked: dv.HookedModel) -> None:
    heads = dv.SweepView.run(hooked, TEXT, progress=False)
    assert heads.shape == (hooked.num_layers, hooked.num_heads)
    np.testing.assert_array_equal(decode(heads._values), dv.head_ablation_sweep(hooked, TEXT).effects)  # type: ignore[arg-type]
    patch = dv.SweepView.run(hooked, TEXT, "patch", corrupted=corrupted_text(hooked), progress=False)
    assert patch.columns == "position" and patch.shape == (hooked.num_layers, len(hooked.tokenize(TEXT)))
    head_patch = dv.SweepView.run(
        hooked, TEXT, "head_patch", corrupted=corrupted_text(hooked), progress=False
    )
    assert head_patch.columns == "head"
    with pytest.raises(ValueError, match="corrupted="):
        dv.SweepView.run(hooked, TEXT, "patch")
    with pytest.raises(ValueError, match="kind"):
        dv.SweepView.run(hooked, TEXT, "experts")
