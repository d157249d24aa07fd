"""PredictionView without a browser: the logit lens sent a window at a time (float16, small values kept),
its last row = the model's own prediction, within 1 MiB per update at DeepSeek-V3's counts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import traitlets

import deepseek_viz as dv
from deepseek_viz.model import LogitLens, ModelInterface
from deepseek_viz.model.tokens import readable_token
from deepseek_viz.widgets.buffers import decode
from deepseek_viz.widgets.prediction_view import (
    LENS_CELL_BUDGET,
    PredictionView,
    encode_lens,
    window_columns,
)
from deepseek_viz.widgets.routing_view import RoutingView
from tests.widgets.conftest import Serving
from tests.widgets.real_shape_traces import V3_LAYERS, RealShapeTrace, message_bytes, record_messages

MiB = 1 << 20

TEXT = "Fever may indicate flu. 你好 <b>bold</b>"


@pytest.fixture(scope="module")
def models(tiny_checkpoints: dict[str, Path], serving: Serving) -> dict[str, ModelInterface]:
    return {
        family: serving(dv.load_model(tiny_checkpoints[family], device="cpu", max_tokens=300))
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


def shown(model: ModelInterface, text: str, token_id: int) -> str:
    """A predicted token's text as the view sends it (a piece of a character as its bytes)."""
    return readable_token(text, model.token_strings([token_id])[0])


def shown_texts(model: ModelInterface, lens: LogitLens) -> list[list[list[str]]]:
    """``lens.texts`` as the view sends them."""
    return [
        [
            [shown(model, t, int(i)) for t, i in zip(texts, ids, strict=True)]
            for texts, ids in zip(*row, strict=True)
        ]
        for row in zip(lens.texts, lens.token_ids, strict=True)
    ]


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
        assert texts[-1][position] == [shown(model, p.text, p.token_id) for p in own[position]]
        expected = [p.prob for p in own[position]]
        np.testing.assert_allclose(probs[-1, position], expected, rtol=1e-3, atol=1e-7)  # float16
    lens = trace.logit_lens(3)
    assert texts == shown_texts(model, lens)
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
    assert view._predictions == []
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


def run_window(view: PredictionView, start: int, count: int = 32) -> tuple[dict, np.ndarray, np.ndarray]:
    """The ``_lens_window`` command as the browser sends it: reply, ids and probs decoded."""
    reply, buffers = view._lens_window({"data_id": view._data_id, "start": start, "count": count}, [])
    assert "error" not in reply, reply
    ids = np.frombuffer(buffers[0], dtype="<u2" if reply["ids"]["dtype"] == "uint16" else "<u4")
    probs = np.frombuffer(buffers[1], dtype="<f2").astype(np.float32)
    return reply, ids.reshape(reply["ids"]["shape"]), probs.reshape(reply["probs"]["shape"])


def test_lens_window_command_fetches_other_positions(models: dict[str, dv.HookedModel]) -> None:
    model = models["deepseek_v3"]
    text = "one two three four five six seven eight nine ten " * 4
    view = PredictionView(model, text=text, k=2)
    trace = view.trace
    assert trace is not None
    n = len(trace.tokens)
    assert n > 64
    assert view._lens_ids is not None and view._lens_ids.shape == (model.num_layers + 1, 32, 2)
    assert view._lens_start == n - 32  # the window around the last position
    reply, ids, probs = run_window(view, 3)
    assert reply["start"] == 3 and ids.shape == (model.num_layers + 1, 32, 2)
    lens = trace.logit_lens(2, positions=range(3, 35))
    assert [[[reply["strings"][i] for i in ranks] for ranks in row] for row in ids] == shown_texts(
        model, lens
    )
    np.testing.assert_allclose(probs, lens.probs, rtol=1e-3, atol=1e-7)
    # clamped to the text; a request for an older text answers stale
    assert run_window(view, n - 2)[1].shape[1] == 2
    old = view._data_id
    view.text = "something else"
    reply, _ = view._lens_window({"data_id": old, "start": 0, "count": 32}, [])
    assert reply == {"data_id": view._data_id, "stale": True}


def test_small_probabilities_keep_their_precision(view: PredictionView) -> None:
    lens = view.lens
    assert lens is not None
    _, probs = shown_lens(view)
    np.testing.assert_allclose(probs, lens.probs, rtol=1e-3, atol=1e-7)
    # what uint8 sent as 0: 0.13% and 0.004% arrive as themselves
    small = LogitLens(
        token_ids=np.array([[[1, 2]]]),
        probs=np.array([[[0.0013, 0.00004]]], dtype=np.float32),
        texts=[[["a", "b"]]],
        layers=(0,),
        positions=(0,),
    )
    strings, _ids, encoded = encode_lens(small)
    assert strings == ["a", "b"] and encoded.dtype == "float16"
    np.testing.assert_allclose(decode(encoded), small.probs, rtol=1e-3)


def test_selected_token_sends_its_top_predictions(view: PredictionView) -> None:
    trace = view.trace
    assert trace is not None
    n = len(trace.tokens)
    assert view._predictions_at == n - 1
    view.selected_token = 2
    assert view._predictions_at == 2
    own = trace.top_predictions(3, positions=[2])[0]
    assert [text for text, _ in view._predictions] == [shown(view.model, p.text, p.token_id) for p in own]
    np.testing.assert_allclose([prob for _, prob in view._predictions], [p.prob for p in own], rtol=1e-6)


def test_window_columns_keep_a_window_within_the_cell_budget() -> None:
    assert window_columns(4, 5) == 32
    assert window_columns(V3_LAYERS + 1, 5) == 32
    assert window_columns(V3_LAYERS + 1, 20) * (V3_LAYERS + 1) * 20 <= LENS_CELL_BUDGET


@pytest.fixture(scope="module")
def v3(real_count_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(real_count_checkpoints["v3"], device="cpu", max_tokens=4096))


def test_v3_counts_lens_has_62_rows_and_fetches_windows(v3: dv.HookedModel) -> None:
    text = "Fever may indicate flu; chest pain can be a sign of a heart attack. " * 3
    view = PredictionView(v3, text=text, k=3)
    assert view.status.ok and view._lens_probs is not None
    assert view._lens_probs.dtype == "float16" and view._lens_probs.shape[0] == V3_LAYERS + 1
    reply, ids, probs = run_window(view, 0)
    assert ids.shape[0] == V3_LAYERS + 1 and reply["start"] == 0
    trace = view.trace
    assert trace is not None
    own = trace.top_predictions(3, positions=[0])[0]
    np.testing.assert_allclose(probs[-1, 0], [p.prob for p in own], rtol=1e-3, atol=1e-7)


@pytest.mark.parametrize(("n", "k"), [(512, 5), (4096, 5), (4096, 20)])
def test_v3_counts_update_bytes_stay_under_1_mib(
    v3: dv.HookedModel, monkeypatch: pytest.MonkeyPatch, n: int, k: int
) -> None:
    view = PredictionView(v3, text="short", k=k)
    sent = record_messages(view)
    trace = RealShapeTrace(n)
    monkeypatch.setattr(v3, "trace", lambda *args, **kwargs: trace)
    view.text = f"a text of {n} tokens"  # an edit: tokens, the lens window in view, the predictions
    view.selected_token = n // 2
    assert view.status.ok and len(view._tokens) == n
    assert view._lens_probs is not None and view._lens_probs.shape[0] == V3_LAYERS + 1
    reply, buffers = view._lens_window({"data_id": view._data_id, "start": 100, "count": 32}, [])
    window = message_bytes(reply, buffers)
    print(f"PredictionView at V3 counts, {n} tokens, k={k}: messages {sent}, one window {window}")
    assert max(sent) <= MiB and window <= MiB


def test_predicted_pieces_of_characters_show_as_bytes(models: dict[str, dv.HookedModel]) -> None:
    """The tiny vocabulary has a token per byte: with k = 20 some predicted tokens are pieces of a UTF-8
    character (alone they decode to "�"); the view sends them as their bytes, "<0xE4>"."""
    model = models["deepseek_v3"]
    view = PredictionView(model, text="東京は日本の首都です 😀", k=20)
    assert view.lens is not None and view.trace is not None
    raw = {text for layer in view.lens.texts for position in layer for text in position}
    assert any("\ufffd" in text for text in raw)  # what the decoder alone shows
    assert not any("\ufffd" in text for text in view._strings)
    assert any(re.fullmatch(r"\s?(<0x[0-9A-F]{2}>)+", text) for text in view._strings)
    reply, _, _ = run_window(view, 0, 4)
    assert not any("\ufffd" in text for text in reply["strings"])
    view.k = 20
    for position in range(len(view.trace.tokens)):
        view.selected_token = position
        assert not any("\ufffd" in text for text, _ in view._predictions)
