"""Embedding texts (pooled hidden states, batched) and one text's token paths, on tiny random checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import deepseek_viz as dv
from deepseek_viz.analysis import embeddings
from deepseek_viz.analysis.embeddings import (
    TokenPaths,
    clear_embedding_cache,
    embed_texts,
    token_embeddings,
)
from tests.conftest import CONFIGS

TEXTS = [
    "Fever may indicate flu",
    "Quarterly revenue rose 12% to $4.2 billion, beating estimates.",
    "hi",
    "你好，世界 🙂",
    "chest pain can be a sign of a heart attack",
]


@pytest.fixture(scope="module")
def v3(tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    clear_embedding_cache()


def test_shape_dtype_and_order(v3: dv.HookedModel) -> None:
    vectors = embed_texts(v3, TEXTS, progress=False)
    assert vectors.shape == (len(TEXTS), 32) and vectors.dtype == np.float32
    reversed_order = embed_texts(v3, TEXTS[::-1], progress=False)
    np.testing.assert_allclose(reversed_order[::-1], vectors, atol=1e-5)
    assert embed_texts(v3, [], progress=False).shape == (0, 32)


@pytest.mark.parametrize("layer", [0, 1, -1, 3, -4])
@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_matches_the_trace_without_bos(v3: dv.HookedModel, layer: int, pooling: str) -> None:
    vectors = embed_texts(v3, TEXTS, layer=layer, pooling=pooling, batch_size=2, progress=False)
    for text, vector in zip(TEXTS, vectors, strict=True):
        trace = v3.trace(text, layers=[])
        assert trace.tokens[0].special and not any(token.special for token in trace.tokens[1:])
        own = trace.hidden_states[layer][1:]  # BOS left out
        expected = own.mean(axis=0) if pooling == "mean" else own[-1]
        np.testing.assert_allclose(vector, expected, atol=1e-5)
    if pooling == "mean":  # BOS really is excluded, not merely harmless
        with_bos = v3.trace(TEXTS[0], layers=[]).hidden_states[layer].mean(axis=0)
        assert np.abs(vectors[0] - with_bos).max() > 1e-4


@pytest.mark.parametrize("family", list(CONFIGS))
@pytest.mark.parametrize("side", ["right", "left"])
def test_padding_does_not_change_a_vector(family: str, side: str, tiny_checkpoints: dict[str, Path]) -> None:
    """A text embedded alone equals the same text embedded in a padded batch (both pad sides).

    DeepSeek-V3.2's sparse indexer picks each query's top-``index_topk`` keys by ReLU scores, which on this
    random model tie at exactly 0; ``torch.topk`` breaks such ties differently once the key axis is
    longer, so a padded batch may keep a different (equally scored) key. That is the model's own
    arbitrariness, not padding leaking in: with the indexer covering every key, padding is exact.
    """
    extra = {"index_topk": 64} if family == "deepseek_v32" else {}
    model = dv.load_model(tiny_checkpoints[family], device="cpu", **extra)
    model.tokenizer.padding_side = side
    lengths = [len(model.tokenizer(text)["input_ids"]) for text in TEXTS]
    assert len(set(lengths)) > 2  # the batch really is padded
    for pooling in ("mean", "last"):
        batched = embed_texts(model, TEXTS, pooling=pooling, batch_size=len(TEXTS), progress=False)
        for text, vector in zip(TEXTS, batched, strict=True):
            alone = embed_texts(model, [text], pooling=pooling, progress=False)
            np.testing.assert_allclose(vector, alone[0], atol=1e-5, rtol=0)


def test_layer_out_of_range(v3: dv.HookedModel) -> None:
    for layer in (4, -5):
        with pytest.raises(dv.LayerOutOfRangeError, match="out of range"):
            embed_texts(v3, TEXTS, layer=layer, progress=False)


def test_bad_arguments(v3: dv.HookedModel) -> None:
    with pytest.raises(TypeError, match="sequence of strings"):
        embed_texts(v3, "one text", progress=False)
    with pytest.raises(ValueError, match="pooling"):
        embed_texts(v3, TEXTS, pooling="max", progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        embed_texts(v3, TEXTS, batch_size=0, progress=False)
    with pytest.raises(dv.EmptyTextError, match=r"texts\[1\]"):
        embed_texts(v3, ["fine", ""], progress=False)


def test_long_texts_are_truncated_at_max_tokens(tiny_checkpoints: dict[str, Path]) -> None:
    model = dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu", max_tokens=6)
    long_text = TEXTS[1]
    with pytest.warns(UserWarning, match="1 of 2 texts"):
        vectors = embed_texts(model, [long_text, "hi"], progress=False)
    trace = model.trace(long_text, layers=[], truncate=True)
    assert trace.truncated and len(trace.tokens) == 6
    np.testing.assert_allclose(vectors[0], trace.hidden_states[-1][1:].mean(axis=0), atol=1e-5)


def test_results_are_cached_per_model_and_options(
    v3: dv.HookedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, str]] = []
    original = embeddings._embed

    def counting(
        model: dv.HookedModel, texts: list[str], index: int, pooling: str, *rest: object
    ) -> np.ndarray:
        calls.append((index, pooling))
        return original(model, texts, index, pooling, *rest)

    monkeypatch.setattr(embeddings, "_embed", counting)
    first = embed_texts(v3, TEXTS, progress=False)
    first[:] = 0  # the caller's copy; the cache must not see this
    again = embed_texts(v3, TEXTS, batch_size=1, progress=False)
    assert len(calls) == 1 and np.abs(again).max() > 0
    embed_texts(v3, TEXTS, layer=0, progress=False)
    embed_texts(v3, TEXTS, pooling="last", progress=False)
    embed_texts(v3, [*TEXTS, "one more"], progress=False)
    assert calls == [(3, "mean"), (0, "mean"), (3, "last"), (3, "mean")]


def test_progress_bar(v3: dv.HookedModel, capsys: pytest.CaptureFixture[str]) -> None:
    embed_texts(v3, TEXTS, batch_size=2, progress=True)
    assert "embedding" in capsys.readouterr().err


def test_token_paths(v3: dv.HookedModel) -> None:
    text = "Fever may indicate flu; 你好 🙂"
    paths = token_embeddings(v3, text)
    trace = v3.trace(text, layers=[])
    n = len(trace.tokens) - 1
    assert isinstance(paths, TokenPaths)
    assert paths.vectors.shape == (4, n, 32) and paths.vectors.dtype == np.float32
    assert paths.num_layers == 3 and paths.num_tokens == n
    assert [token.text for token in paths.tokens] == [token.text for token in trace.tokens[1:]]
    assert paths.positions.tolist() == list(range(1, n + 1))
    np.testing.assert_array_equal(paths.vectors, trace.hidden_states[:, 1:])

    flat = paths.flat()
    assert flat.shape == (4 * n, 32)
    point = 2 * n + 3  # layer 2, token 3
    assert paths.point_layer[point] == 2 and paths.point_token[point] == 3
    np.testing.assert_array_equal(flat[point], paths.vectors[2, 3])
    assert paths.point_labels()[point].startswith("L2 · ")
    np.testing.assert_array_equal(paths.unflatten(flat), paths.vectors)
    with pytest.raises(ValueError, match="points"):
        paths.unflatten(flat[:-1])

    with_bos = token_embeddings(v3, text, include_special=True)
    assert with_bos.num_tokens == n + 1 and with_bos.tokens[0].special


def test_token_paths_of_a_long_text(tiny_checkpoints: dict[str, Path]) -> None:
    model = dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu", max_tokens=4)
    with pytest.raises(dv.TextTooLongError):
        token_embeddings(model, TEXTS[1])
    assert token_embeddings(model, TEXTS[1], truncate=True).vectors.shape == (4, 3, 32)
