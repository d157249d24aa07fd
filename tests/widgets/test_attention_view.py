"""AttentionView without a browser: traits, validation, data sent, live-edit protocol, linking."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

import deepseek_viz as dv
from deepseek_viz.widgets import AttentionView, attention_view
from deepseek_viz.widgets.attention_view import OVERVIEW_SIZE, THUMBNAIL_BUDGET, thumbnail_bins
from deepseek_viz.widgets.buffers import EncodedArray, decode
from deepseek_viz.widgets.live_text import PIECE, SPECIAL, display_tokens
from tests.widgets.conftest import Serving

TEXT = "Fever may indicate flu. 你好 🚀 <img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu", max_tokens=1200))


@pytest.fixture
def view(hooked: dv.HookedModel) -> AttentionView:
    return AttentionView(hooked, text=TEXT, layer=1, heads=[2])


def heatmap(view: AttentionView) -> np.ndarray:
    assert view._heatmap is not None
    return decode(view._heatmap)


def window(reply: dict[str, Any], buffers: list[bytes]) -> np.ndarray:
    """The cells a ``_fetch_window`` reply carries, decoded as the browser does (header + buffer)."""
    return decode(EncodedArray(reply["dtype"], tuple(reply["shape"]), reply["scale"], buffers[0]))


def test_first_draw_sends_tokens_heatmap_and_thumbnails(view: AttentionView, hooked: dv.HookedModel) -> None:
    trace = hooked.trace(TEXT, layers=[1], thumbnails=view._bins)
    n = len(trace.tokens)
    assert view.status.ok
    assert (view.num_layers, view.num_heads) == (3, 4)
    assert len(view._tokens) == n and view._tokens[0][1] == SPECIAL
    assert "".join(text for text, kind in view._tokens if kind != SPECIAL) == TEXT
    assert view._heatmap is not None and view._thumbnails is not None
    assert view._heatmap.shape == (n, n) and view._heatmap_block == 1
    assert len(view._heatmap.data) == n * n  # one byte per cell shown
    expected = trace.attention(1)[2]
    assert np.abs(heatmap(view) - expected).max() <= expected.max() / 255
    assert view._colour_max == pytest.approx(expected[1:].max())
    assert view._thumbnails.shape[:2] == (3, 4)
    assert len(view._thumbnails.data) <= THUMBNAIL_BUDGET


def test_layer_heads_are_sent_for_the_browser_to_average(view: AttentionView, hooked: dv.HookedModel) -> None:
    attention = hooked.trace(TEXT, layers=[1]).attention(1)
    n = attention.shape[1]
    assert view._layer_heads is not None
    assert view._layer_heads.shape == (4, n, n) and view._layer_heads_layer == 1
    assert len(view._layer_heads.data) == 4 * n * n
    heads = decode(view._layer_heads)
    step = view._layer_heads.scale / 255
    assert np.abs(heads - attention).max() <= step / 2 + 1e-6
    # their mean (what the browser draws) is within a quantisation step of the one Python would send
    assert np.abs(heads[[0, 3]].mean(0) - attention[[0, 3]].mean(0)).max() <= step / 2 + 1e-6
    view.layer = 2
    assert view._layer_heads_layer == 2


def test_layer_heads_stay_within_the_budget(view: AttentionView, monkeypatch: pytest.MonkeyPatch) -> None:
    view.text = "ab " * 450  # over OVERVIEW_SIZE tokens
    assert view._layer_heads is None
    view.text = TEXT
    n = len(view._tokens)
    assert view._layer_heads is not None and len(view._layer_heads.data) == 4 * n * n
    monkeypatch.setattr(attention_view, "LAYER_HEADS_BUDGET", 4 * n * n - 1)
    view.layer = 0
    assert view._layer_heads is None


def test_heads_change_with_layer_heads_sent_only_updates_the_matrix(
    view: AttentionView, hooked: dv.HookedModel
) -> None:
    attention = hooked.trace(TEXT, layers=[1]).attention(1)
    before, sent = view._data_id, view._heatmap
    view.set_state({"heads": [3, 0, 3]})  # as the browser sends it
    assert view.heads == [0, 3] and view.status.ok
    assert view._data_id == before and view._heatmap == sent  # the browser draws it
    assert np.allclose(view._matrix, attention[[0, 3]].mean(0), atol=1e-6)
    assert view.figure().data[0].zmax == pytest.approx(attention[[0, 3]].mean(0)[1:].max())
    reply, buffers = view._fetch_window({"data_id": before, "q0": 0, "q1": 3, "k0": 0, "k1": 3}, [])
    assert np.abs(window(reply, buffers) - attention[[0, 3]].mean(0)[:3, :3]).max() <= 1 / 255
    view.heads = [1]  # set in Python: the browser draws it too, on the change of heads
    assert view._data_id == before and np.allclose(view._matrix, attention[1], atol=1e-6)


def test_heads_change_without_layer_heads_sends_the_heatmap(
    view: AttentionView, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attention_view, "LAYER_HEADS_BUDGET", 0)
    view.layer = 0
    assert view._layer_heads is None
    before = view._data_id
    view.set_state({"heads": [1, 3]})
    assert view._data_id == before + 1
    attention = view.trace.attention(0)  # type: ignore[union-attr]
    assert np.abs(heatmap(view) - attention[[1, 3]].mean(0)).max() <= attention.max() / 255
    view.heads = [2]
    assert view._data_id == before + 2
    assert view._colour_max == pytest.approx(attention[2][1:].max())


def test_layer_switch_runs_no_forward(view: AttentionView, monkeypatch: pytest.MonkeyPatch) -> None:
    before, trace = view._data_id, view.trace
    assert trace is not None
    model = view._hooked
    monkeypatch.setattr(model, "trace", lambda *a, **k: pytest.fail("a layer switch traced again"))
    view.layer = -1
    assert view.layer == 2 and view.status.ok
    assert view.trace is trace and 2 in trace.captured_layers
    assert view._data_id == before + 1
    expected = trace.attention(2)[view.heads].mean(0)
    assert np.abs(heatmap(view) - expected).max() <= expected.max() / 255


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("layer", 3, "layer 3 is out of range"),
        ("layer", -4, "out of range"),
        ("heads", [4], "heads [4] are out of range"),
        ("heads", [], "at least one head"),
        ("selected_token", 10_000, "selected_token 10000 is out of range"),
        ("selected_token", -2, "out of range"),
    ],
)
def test_out_of_range_selection_is_a_clear_error(
    view: AttentionView, name: str, value: object, message: str
) -> None:
    with pytest.raises(traitlets.TraitError, match=re.escape(message)):
        setattr(view, name, value)


def test_constructor_rejects_bad_arguments(hooked: dv.HookedModel) -> None:
    with pytest.raises(TypeError, match="HookedModel"):
        AttentionView("not a model", text="hi")
    with pytest.raises(TypeError):
        AttentionView(hooked, text="hi", colour="red")  # type: ignore[call-arg]
    with pytest.raises(traitlets.TraitError):
        AttentionView(hooked, text="hi", layer=7)


def test_empty_text_shows_empty_state(view: AttentionView) -> None:
    view.selected_token = 3
    view.text = ""
    assert view.status.ok
    assert view._tokens == [] and view._heatmap is None and view._thumbnails is None
    assert view._layer_heads is None
    assert view.selected_token == -1 and view.trace is None
    view.text = "again"
    assert view.status.ok and len(view._tokens) > 1


def test_too_long_text_is_an_error_that_keeps_the_previous_view(view: AttentionView) -> None:
    tokens, data = view._tokens, view._heatmap
    view.text = "z " * 2000
    assert str(view.status).startswith("error: the text is")
    assert "limit is 1200" in view.status.message
    assert view._tokens == tokens and view._heatmap == data
    view.text = TEXT
    assert view.status.ok


def test_long_text_sends_a_pooled_overview_and_exact_windows(view: AttentionView) -> None:
    view.text = "ab " * 450
    n = len(view._tokens)
    assert OVERVIEW_SIZE < n <= 2 * OVERVIEW_SIZE
    assert view._heatmap_block == 2
    assert view._heatmap is not None and max(view._heatmap.shape) <= OVERVIEW_SIZE
    reply, buffers = view._fetch_window(
        {"data_id": view._data_id, "q0": 500, "q1": 540, "k0": 0, "k1": n}, []
    )
    assert not reply["stale"] and reply["shape"] == [40, n] and reply["q0"] == 500
    exact = view.trace.attention(view.layer)[view.heads[0]]  # type: ignore[union-attr]
    assert np.abs(window(reply, buffers) - exact[500:540]).max() <= exact[500:540].max() / 255 / 2 + 1e-7
    # a token's whole row or column fits; a huge window is cut to OVERVIEW_SIZE² cells
    column, _ = view._fetch_window({"data_id": view._data_id, "q0": 0, "q1": n, "k0": 5, "k1": 6}, [])
    assert column["shape"] == [n, 1]
    big, _ = view._fetch_window({"data_id": view._data_id, "q0": 0, "q1": n, "k0": 0, "k1": n}, [])
    assert big["shape"][0] * big["shape"][1] <= OVERVIEW_SIZE**2
    stale, none = view._fetch_window({"data_id": view._data_id - 1, "q0": 0, "q1": 1, "k0": 0, "k1": 1}, [])
    assert stale == {"stale": True} and none == []


def test_edits_carry_sequence_numbers_and_stale_ones_are_dropped(view: AttentionView) -> None:
    reply, _ = view._edit({"text": "first edit", "seq": 3}, [])
    assert reply == {"seq": 3, "stale": False}
    assert view.text == "first edit" and view._seq == 3 and view.status.ok
    stale, _ = view._edit({"text": "older edit", "seq": 2}, [])
    assert stale["stale"] and view.text == "first edit" and view._seq == 3
    view._edit({"text": "first edit", "seq": 4}, [])  # unchanged text still answers its number
    assert view._seq == 4
    view._edit({"text": "", "seq": 5}, [])
    assert view._seq == 5 and view._tokens == []
    view._edit({"text": "w " * 2000, "seq": 6}, [])
    assert view._seq == 6 and str(view.status).startswith("error:")
    view.text = "set from Python"  # Python-side changes keep the last answered number
    assert view._seq == 6 and view.status.ok


def test_link_shares_text_and_selected_token_both_ways(hooked: dv.HookedModel) -> None:
    first = AttentionView(hooked, text="shared text")
    second = AttentionView(hooked, text="other", layer=2)
    link = first.link(second)
    assert second.text == "shared text"
    second.text = "changed in the second"
    assert first.text == "changed in the second"
    first.selected_token = 2
    assert second.selected_token == 2
    assert second.layer == 2 and first.layer == 0  # only text and selected token are shared
    link.unlink()
    first.text = "independent"
    assert second.text == "changed in the second"
    with pytest.raises(TypeError, match="no trait"):
        first.link(second, names=("colour",))


def test_display_tokens_shows_each_character_once(hooked: dv.HookedModel) -> None:
    text = "a 🚀 €"
    trace = hooked.trace(text, layers=[0])
    shown = display_tokens(trace.tokens)
    assert "".join(t for t, kind in shown if kind != SPECIAL) == text
    pieces = [i for i, (_, kind) in enumerate(shown) if kind == PIECE]
    assert pieces, "the tiny tokenizer should split 🚀 into byte pieces"
    assert all(shown[i][0] == "" for i in pieces)


def test_thumbnail_bins_fit_the_budget() -> None:
    assert thumbnail_bins(3, 4) == 48
    for layers, heads in [(27, 16), (61, 128), (1, 1)]:
        bins = thumbnail_bins(layers, heads)
        assert 4 <= bins <= 48
        assert layers * heads * bins * bins <= THUMBNAIL_BUDGET or bins == 4


def test_head_scores_are_sent_with_the_overview(view: AttentionView) -> None:
    assert view._head_scores is not None and view._head_scores.dtype == "float16"
    assert view._head_scores.shape == (3, 4, len(attention_view.SCORE_NAMES))
    scores = decode(view._head_scores)
    assert np.isfinite(scores).all() and (scores[..., :3] >= 0).all() and (scores[..., :3] <= 1 + 1e-3).all()


def test_layer_switch_keeps_the_overview_and_sends_no_thumbnails(
    view: AttentionView, hooked: dv.HookedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[tuple[int, ...], int | None]] = []
    trace = hooked.trace

    def recording_trace(text: str, layers: Any = None, **options: Any) -> Any:
        asked.append((tuple(layers), options.get("thumbnails")))
        return trace(text, layers, **options)

    monkeypatch.setattr(hooked, "trace", recording_trace)
    thumbnails, scores, tokens = view._thumbnails, view._head_scores, view._tokens
    sent: list[str] = []
    view.observe(lambda change: sent.append(change["name"]), names=["_thumbnails", "_head_scores", "_tokens"])
    view.layer = 0
    assert asked == []  # no trace: the view's own trace computes layer 0
    assert sent == [] and view._thumbnails is thumbnails and view._head_scores is scores
    assert view._tokens is tokens and view._layer_heads_layer == 0
    view.text = "a new text"
    assert asked[-1] == ((0,), view._bins) and "_thumbnails" in sent and "_head_scores" in sent


def update_bytes(widget: AttentionView) -> int:
    """Bytes of the widget's whole synced state, as ipywidgets sends it: JSON plus binary buffers."""
    state, _paths, buffers = _remove_buffers(widget.get_state())
    return len(json.dumps(state)) + sum(len(memoryview(buffer).cast("B")) for buffer in buffers)


@pytest.fixture(scope="module")
def v3_counts(real_count_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(real_count_checkpoints["v3"], device="cpu", max_tokens=4096))


def test_v3_counts_view_draws_and_switches(v3_counts: dv.HookedModel) -> None:
    text = " ".join(["a"] * 63)  # BOS + 63 tokens with the test tokenizer
    view = AttentionView(v3_counts, text=text, layer=3, heads=[5])
    assert view.status.ok and (view.num_layers, view.num_heads) == (61, 128)
    assert view._thumbnails is not None and view._thumbnails.shape[:2] == (61, 128)
    assert len(view._thumbnails.data) <= THUMBNAIL_BUDGET
    assert view._head_scores is not None and view._head_scores.shape == (61, 128, 4)
    assert view._layer_heads is None  # 128 heads × 128² bytes are over the budget: a round trip
    assert update_bytes(view) <= attention_view.UPDATE_BUDGET
    before = view._data_id
    view.heads = [7]
    assert view._data_id == before + 1 and view.status.ok
    expected = view.trace.attention(3)[7]  # type: ignore[union-attr]
    assert np.abs(heatmap(view) - expected).max() <= expected.max() / 255
    trace = view.trace
    view.layer = 60  # no forward: layer 60 is computed from its input by that layer alone
    # 128 heads never fit the browser: the forward kept no pattern, each read computes the head shown
    assert view.trace is trace and trace is not None and trace.captured_layers == ()
    expected = trace.attention(60)[7]
    assert np.abs(heatmap(view) - expected).max() <= expected.max() / 255


class _SyntheticTrace:
    """Stands in for a V3-counts trace of ``n`` tokens (the real one at 4,096 tokens computes 7,808
    softmaxes of 4,096² for its thumbnails): what the view reads, with the real shapes."""

    def __init__(self, model: dv.HookedModel, text: str, bins: int | None) -> None:
        self.text = text
        self.tokens = model.tokenize(text)
        n = len(self.tokens)
        self._pattern = torch.tril(torch.ones(n, n)).div_(torch.arange(1, n + 1)[:, None])
        rng = np.random.default_rng(0)
        self.thumbnails = (
            None
            if bins is None
            else rng.random((model.num_layers, model.num_heads, min(bins, n), min(bins, n)), dtype=np.float32)
        )
        self.head_scores = rng.random((model.num_layers, model.num_heads, 4), dtype=np.float32)
        self.captured_layers = ()

    def attention_tensor(self, layer: int, heads: Any = None) -> torch.Tensor:
        count = 128 if heads is None else len(heads)
        return self._pattern.expand(count, -1, -1)  # one n × n matrix seen as every head: no copy

    def attention(self, layer: int) -> np.ndarray:
        return self.attention_tensor(layer).numpy()


@pytest.mark.parametrize("n_tokens", [512, 4096])
def test_one_update_at_v3_counts_fits_one_mebibyte(
    v3_counts: dv.HookedModel, monkeypatch: pytest.MonkeyPatch, n_tokens: int
) -> None:
    def synthetic_trace(text: str, layers: Any = None, *, thumbnails: int | None = None, **_: Any) -> Any:
        return _SyntheticTrace(v3_counts, text, thumbnails)

    monkeypatch.setattr(v3_counts, "trace", synthetic_trace)
    text = " ".join(["a"] * (n_tokens - 1))
    view = AttentionView(v3_counts, text=text, layer=2)
    assert view.status.ok and len(view._tokens) == n_tokens
    total = update_bytes(view)
    print(f"V3 counts, {n_tokens} tokens: {total / 1024:.0f} KiB in one update")
    assert total <= attention_view.UPDATE_BUDGET
    view.layer = 3  # a layer switch sends the heatmap (and layer heads) only
    assert view._thumbnails is not None and view.status.ok
