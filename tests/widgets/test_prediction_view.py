"""PredictionView without a browser: the logit lens sent, its last row = the model's own prediction."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import traitlets

import deepseek_viz as dv
from deepseek_viz.widgets.buffers import decode
from deepseek_viz.widgets.prediction_view import PredictionView
from deepseek_viz.widgets.routing_view import RoutingView

TEXT = "Fever may indicate flu. 你好 <b>bold</b>"


@pytest.fixture(scope="module")
def models(tiny_checkpoints: dict[str, Path]) -> dict[str, dv.HookedModel]:
    return {
        family: dv.load_model(tiny_checkpoints[family], device="cpu", max_tokens=300)
        for family in ("deepseek_v3", "llama")
    }


@pytest.fixture
def view(models: dict[str, dv.HookedModel]) -> PredictionView:
    return PredictionView(models["deepseek_v3"], text=TEXT, k=3)


def shown_lens(view: PredictionView) -> tuple[list[list[list[str]]], np.ndarray]:
    """Texts ``[layer + 1][position][rank]`` and probabilities decoded from what the widget sends."""
    assert view._lens_ids is not None and view._lens_probs is not None
    indices = decode(view._lens_ids)
    texts = [[[view._strings[i] for i in ranks] for ranks in layer] for layer in indices]
    return texts, decode(view._lens_probs)


@pytest.mark.parametrize("family", ["deepseek_v3", "llama"])
def test_last_lens_row_is_the_models_own_top_prediction(
    models: dict[str, dv.HookedModel], family: str
) -> None:
    model = models[family]
    view = PredictionView(model, text=TEXT, k=3)
    assert view.status.ok
    texts, probs = shown_lens(view)
    trace = model.trace(TEXT, layers=[])
    n = len(trace.tokens)
    assert probs.shape == (model.num_layers + 1, n, 3)
    assert view._lens_ids is not None and view._lens_ids.shape == (model.num_layers + 1, n, 3)
    own = trace.top_predictions(3)
    for position in range(n):
        assert texts[-1][position] == [p.text for p in own[position]]
        expected = [p.prob for p in own[position]]
        assert np.abs(probs[-1, position] - expected).max() <= 1 / 255 / 2 + 1e-6
    lens = trace.logit_lens(3)
    assert texts == lens.texts
    assert len(view._strings) == len(np.unique(lens.token_ids))  # each predicted token's text sent once


def test_editing_and_k_resend_and_bad_text_keeps_the_view(view: PredictionView) -> None:
    before = view._data_id
    view._edit({"text": "a new text", "seq": 1}, [])
    assert view._data_id == before + 1 and view._seq == 1 and view.status.ok
    view.k = 1
    assert view._lens_probs is not None and view._lens_probs.shape[-1] == 1 and view._data_id == before + 2
    tokens, ids = view._tokens, view._lens_ids
    view._edit({"text": "z " * 400, "seq": 2}, [])
    assert str(view.status).startswith("error: the text is") and view._seq == 2
    assert view._tokens == tokens and view._lens_ids == ids
    view.selected_token = 2
    view.text = ""
    assert view.status.ok and view._tokens == [] and view._lens_ids is None and view._strings == []
    assert view.selected_token == -1 and view.lens is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("k", 0, "k must be between 1 and 20, not 0"),
        ("selected_token", 500, "selected_token 500 is out of range"),
    ],
)
def test_out_of_range_values_are_clear_errors(
    view: PredictionView, name: str, value: int, message: str
) -> None:
    with pytest.raises(traitlets.TraitError, match=re.escape(message)):
        setattr(view, name, value)


def test_link_with_the_routing_view(models: dict[str, dv.HookedModel]) -> None:
    predictions = PredictionView(models["deepseek_v3"], text="shared")
    other = RoutingView(models["deepseek_v3"], text="other")
    predictions.link(other)
    other.text = "edited elsewhere"
    assert predictions.text == "edited elsewhere" and predictions.status.ok
    other.selected_token = 1
    assert predictions.selected_token == 1
