"""Texts as vectors: pooled hidden states of many texts, and one text's tokens through every layer.

Layers are indexed like ``Trace.hidden_states``: ``0`` is the embedding output, ``L`` (= ``num_layers``,
also ``-1``) the last layer's output after the final norm; negative indices count from the end.
"""

from __future__ import annotations

import hashlib
import threading
import time
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from ..model import EmptyTextError, LayerOutOfRangeError, ModelInterface, TextTooLongError, Token

Pooling = Literal["mean", "last"]
POOLINGS = ("mean", "last")

#: Pooled embeddings of sets of texts kept per model (the model object itself, weakly):
#: ``(texts digest, count, layer, pooling, max_tokens, device, dtype) -> [n, d]``. One text is not kept
#: here (its trace, in the model's own cache, answers again), so live points never push a set out.
_CACHE_SIZE = 8
_cache: weakref.WeakKeyDictionary[ModelInterface, OrderedDict[tuple[object, ...], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)
#: Guards :data:`_cache` and :data:`_running` (threads embed in the background, e.g. a Dashboard's map).
_cache_lock = threading.Lock()
#: Interleaved runs in progress, by ``(id(model), key)``: set when the run ends (cached or failed).
_running: dict[tuple[int, tuple[object, ...]], threading.Event] = {}
#: Pause between the batches of an interleaved run, so a thread waiting for the model takes it.
_YIELD_S = 0.005


def clear_embedding_cache() -> None:
    """Forget every cached result of :func:`embed_texts` (e.g. after changing a model's weights)."""
    with _cache_lock:
        _cache.clear()


def _cache_key(model: ModelInterface, texts: list[str], index: int, pooling: str) -> tuple[object, ...]:
    return (
        _texts_digest(texts),
        len(texts),
        index,
        pooling,
        model.max_tokens,
        str(model.device),
        model.dtype,
        model.interventions,
    )


def _cached(model: ModelInterface, key: tuple[object, ...]) -> np.ndarray | None:
    with _cache_lock:
        per_model = _cache.get(model)
        found = None if per_model is None else per_model.get(key)
        if found is not None and per_model is not None:
            per_model.move_to_end(key)
        return found


def _keep(model: ModelInterface, key: tuple[object, ...], result: np.ndarray) -> None:
    with _cache_lock:
        per_model = _cache.setdefault(model, OrderedDict())
        per_model[key] = result
        while len(per_model) > _CACHE_SIZE:
            per_model.popitem(last=False)


def cached_embeddings(
    model: ModelInterface, texts: Sequence[str], layer: int = -1, pooling: Pooling = "mean"
) -> np.ndarray | None:
    """What :func:`embed_texts` would return from its cache for these arguments (a fresh copy), or
    ``None`` when it would have to run the model. Never runs the model."""
    _check_model(model)
    texts = _check_texts(texts)
    found = _cached(model, _cache_key(model, texts, hidden_state_index(model, layer), pooling))
    return None if found is None else found.copy()


def hidden_state_index(model: ModelInterface, layer: int) -> int:
    """``layer`` as an index into the ``num_layers + 1`` hidden states (negative counts from the end)."""
    count = model.num_layers + 1
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise TypeError(f"layer must be an int, not {type(layer).__name__}")
    if not -count <= layer < count:
        raise LayerOutOfRangeError(
            f"layer {layer} is out of range: hidden states run from 0 (embeddings) to {count - 1} "
            f"(the last of {model.num_layers} layers); negative indices down to {-count} count from the end."
        )
    return int(layer) % count


def _check_model(model: object) -> None:
    if not isinstance(model, ModelInterface):
        raise TypeError(
            "model must be a deepseek_viz HookedModel (load_model(...)) or another ModelInterface, "
            f"not {type(model).__name__}"
        )


def _texts_digest(texts: Sequence[str]) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings; for one text pass [text]")
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}] is a {type(text).__name__}, not a str")
    return texts


def embed_texts(
    model: ModelInterface,
    texts: Sequence[str],
    layer: int = -1,
    pooling: Pooling = "mean",
    batch_size: int = 32,
    progress: bool = True,
    *,
    interleave: bool = False,
    seconds: float | None = None,
) -> np.ndarray:
    """One vector per text: the hidden state of ``layer`` pooled over the text's tokens.

    Returns float32 ``[len(texts), d_model]`` in the order of ``texts``.

    * ``layer`` indexes the hidden states (``0`` embeddings … ``num_layers`` last, after the final norm;
      negative from the end); out of range raises :class:`LayerOutOfRangeError`.
    * ``pooling="mean"`` averages the text's own tokens: special tokens (BOS) and padding are left out.
      ``"last"`` takes the last such token (the one that has read the whole text).
    * Each text keeps its first ``model.max_tokens`` tokens (BOS included); a warning counts the texts
      cut short.
    * Texts run in padded batches of ``batch_size`` (:meth:`ModelInterface.hidden_states`), sorted by
      length so batches carry little padding; a text's vector does not depend on the batch it ran in (to
      float rounding, ~1e-6). All batches share one deadline (:meth:`ModelInterface.time_limit`): the
      run is one request, and other threads' model calls wait until it ends.
    * ``interleave=True`` (for work in the background, e.g. a :class:`~deepseek_viz.Dashboard`'s map):
      each batch is a request of its own, with its own deadline, so other threads' model calls (a
      user's edit) run between batches. While such a run is in progress, another interleaved call for
      the same texts and options waits for it instead of repeating it; a run that finds its result
      cached by another call stops early.
    * ``seconds`` is the time limit of the run, or of each batch when interleaved (default: the model's
      ``max_seconds``; ``math.inf``: none, e.g. for an app's own corpus, which no visitor chose).
    * Results for two or more texts are cached per model object by ``(texts, layer, pooling)`` (see
      :func:`cached_embeddings`, :func:`clear_embedding_cache`); one text is answered from its trace,
      which the model caches. Each call returns a fresh array.
    """
    _check_model(model)
    texts = _check_texts(texts)
    index = hidden_state_index(model, layer)
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")

    if len(texts) == 1:  # e.g. a live text: the trace the views share (cached) has its hidden states
        return _embed_traced(model, texts[0], index, pooling)

    key = _cache_key(model, texts, index, pooling)
    mine: threading.Event | None = None  # set when this interleaved run ends
    while True:
        cached = _cached(model, key)
        if cached is not None:
            return cached.copy()
        if not interleave:
            break
        with _cache_lock:
            running = _running.get((id(model), key))
            if running is None:
                mine = _running[(id(model), key)] = threading.Event()
                break
        running.wait()  # then the cache has it, or that run failed and this one tries
    try:
        result = _embed(
            model, texts, index, pooling, batch_size, progress, seconds, key if interleave else None
        )
        result.setflags(write=False)
        _keep(model, key, result)
    finally:
        if mine is not None:
            with _cache_lock:
                del _running[(id(model), key)]
            mine.set()
    return result.copy()


def _tokens(model: ModelInterface, texts: list[str], position: int) -> tuple[list[Token], bool]:
    """The first ``max_tokens`` tokens of ``texts[position]``, and whether the text was cut."""
    text = texts[position]
    try:
        tokens, truncated = model.tokenize(text), False
    except TextTooLongError:
        tokens, truncated = model.tokenize(text, truncate=True), True
    except EmptyTextError:
        tokens, truncated = [], False
    if all(token.special for token in tokens):
        raise EmptyTextError(
            f"texts[{position}] ({text!r}) has no tokens besides special ones: remove empty texts before embedding."
        )
    return tokens, truncated


def _embed(
    model: ModelInterface,
    texts: list[str],
    index: int,
    pooling: str,
    batch_size: int,
    progress: bool,
    seconds: float | None,
    interleaved: tuple[object, ...] | None = None,
) -> np.ndarray:
    """The vectors of ``texts``, in batches under one deadline; ``interleaved`` (the cache key): each
    batch under its own, with a pause between batches, stopping early if the key gets cached."""
    if not texts:
        return np.zeros((0, model.d_model), dtype=np.float32)
    tokenized = [_tokens(model, texts, position) for position in range(len(texts))]
    truncated = sum(cut for _, cut in tokenized)
    if truncated:
        limit = model.max_tokens
        warnings.warn(
            f"{truncated} of {len(texts)} texts are longer than max_tokens={limit}; "
            f"each was cut to its first {limit} tokens.",
            stacklevel=3,
        )
    all_tokens = [tokens for tokens, _ in tokenized]
    order = sorted(range(len(texts)), key=lambda i: len(all_tokens[i]))
    result = np.empty((len(texts), model.d_model), dtype=np.float32)
    bar = tqdm(total=len(texts), desc="embedding", unit="text", disable=not progress)
    try:
        with nullcontext() if interleaved is not None else model.time_limit(seconds):  # one deadline for all
            for start in range(0, len(order), batch_size):
                if interleaved is not None:
                    if start:
                        time.sleep(_YIELD_S)  # a thread waiting for the model's lock takes it now
                    found = _cached(model, interleaved)
                    if found is not None:
                        return found.copy()
                chosen = order[start : start + batch_size]
                with model.time_limit(seconds) if interleaved is not None else nullcontext():
                    states = model.hidden_states([[t.id for t in all_tokens[i]] for i in chosen], index)
                    pooled = [
                        _pool(state, all_tokens[i], pooling) for i, state in zip(chosen, states, strict=True)
                    ]
                result[chosen] = torch.stack(pooled).cpu().numpy()
                bar.update(len(chosen))
    finally:
        bar.close()
    return result


def _embed_traced(model: ModelInterface, text: str, index: int, pooling: str) -> np.ndarray:
    """``[1, d_model]``: ``text`` embedded from its trace (what :func:`_embed` gives for one text)."""
    trace = model.trace(text, layers=[], truncate=True)
    if trace.truncated:
        warnings.warn(
            f"the text is longer than max_tokens={model.max_tokens}; it was cut to its first tokens.",
            stacklevel=4,
        )
    if all(token.special for token in trace.tokens):
        raise EmptyTextError(f"{text!r} has no tokens besides special ones: there is nothing to embed.")
    hidden = torch.from_numpy(trace.hidden_state(index))
    return _pool(hidden, trace.tokens, pooling)[None].numpy()


def _pool(hidden: torch.Tensor, tokens: list[Token], pooling: str) -> torch.Tensor:
    """``hidden [position, d]`` pooled over the positions of the non-special ``tokens``: ``[d]``."""
    own = hidden[torch.tensor([not token.special for token in tokens], device=hidden.device)]
    return own.mean(dim=0) if pooling == "mean" else own[-1]


@dataclass(frozen=True, eq=False)
class TokenPaths:
    """The tokens of one text through every layer, for "token mode" (a point per token per layer).

    ``vectors`` is float32 ``[num_layers + 1, n_tokens, d_model]`` (row ``0``: embeddings, row ``L``: the
    last layer after the final norm); ``tokens[j]`` is the token of column ``j`` and ``positions[j]`` its
    position in the traced sequence (special tokens are left out unless asked for).

    Flattened (``flat()``), the points are layer-major: point ``p`` is layer ``point_layer[p]`` of token
    ``point_token[p]``; :meth:`unflatten` turns ``[points, ...]`` arrays (e.g. projected coordinates) back
    into ``[layer, token, ...]``, whose ``[:, j]`` is the path of token ``j`` through the layers.
    """

    text: str
    tokens: list[Token]
    positions: np.ndarray
    vectors: np.ndarray

    @property
    def num_layers(self) -> int:
        """Decoder layers (the paths have ``num_layers + 1`` points each)."""
        return int(self.vectors.shape[0]) - 1

    @property
    def num_tokens(self) -> int:
        return len(self.tokens)

    def flat(self) -> np.ndarray:
        """All points as float32 ``[(num_layers + 1) * n_tokens, d_model]``, layer-major."""
        return self.vectors.reshape(-1, self.vectors.shape[-1])

    @property
    def point_layer(self) -> np.ndarray:
        """``[points]`` the layer of each flattened point."""
        return np.repeat(np.arange(self.vectors.shape[0]), self.num_tokens)

    @property
    def point_token(self) -> np.ndarray:
        """``[points]`` the token column of each flattened point."""
        return np.tile(np.arange(self.num_tokens), self.vectors.shape[0])

    def point_labels(self) -> list[str]:
        """A short description of every flattened point, e.g. ``"L2 · 'flu' (#5)"``."""
        return [
            f"L{layer} · {self.tokens[column].text!r} (#{int(self.positions[column])})"
            for layer, column in zip(self.point_layer.tolist(), self.point_token.tolist(), strict=True)
        ]

    def unflatten(self, values: np.ndarray) -> np.ndarray:
        """``[points, ...]`` (layer-major) back to ``[num_layers + 1, n_tokens, ...]``."""
        values = np.asarray(values)
        expected = self.vectors.shape[0] * self.num_tokens
        if values.shape[0] != expected:
            raise ValueError(f"expected {expected} points (layers × tokens), got {values.shape[0]}")
        return values.reshape(self.vectors.shape[0], self.num_tokens, *values.shape[1:])


def token_embeddings(
    model: ModelInterface, text: str, *, include_special: bool = False, truncate: bool = False
) -> TokenPaths:
    """Every token of ``text`` at every layer (see :class:`TokenPaths`), from one (cached) trace.

    Special tokens (BOS) are left out by default: their hidden states are outliers whose norm would
    dominate a joint projection. ``truncate=True`` keeps the first ``model.max_tokens`` tokens of a
    longer text instead of raising :class:`TextTooLongError`.
    """
    _check_model(model)
    trace = model.trace(text, layers=[], truncate=truncate)
    columns = [i for i, token in enumerate(trace.tokens) if include_special or not token.special]
    if not columns:
        raise EmptyTextError(f"{text!r} has no tokens besides special ones.")
    positions = np.asarray(columns, dtype=np.int64)
    vectors = np.ascontiguousarray(trace.hidden_states[:, positions], dtype=np.float32)
    vectors.setflags(write=False)
    positions.setflags(write=False)
    return TokenPaths(
        text=text, tokens=[trace.tokens[i] for i in columns], positions=positions, vectors=vectors
    )
