"""Attention probabilities captured beside the fast SDPA kernel.

transformers routes every attention layer through ``ALL_ATTENTION_FUNCTIONS[config._attn_implementation]``.
We wrap its ``"sdpa"`` entry: the wrapper always returns SDPA's own output (the model's numbers do not
change), and only while an :class:`AttentionRecorder` is active in the current context and the calling
module is one it watches does it also compute ``softmax(QKᵀ·scale + mask)`` for that layer.
Inside :func:`fast_path` (every forward deepseek-viz runs) MLA's narrower values are zero-padded to the
query width so CPU SDPA keeps its fast kernel; forwards run by others are left exactly as they were.

The wrapper is installed under the name ``"sdpa"`` rather than a new name because some models branch on
that name (DeepSeek-V3.2 applies its sparse indexer's selection to the mask only for ``"eager"`` and
``"sdpa"``); keeping it means the mask we see is exactly the one SDPA uses. :func:`install` runs when the
first :class:`~deepseek_viz.HookedModel` is made, not at import.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

#: Query rows handled per step, so the float32 scores of one step stay small at long lengths.
QUERY_CHUNK = 256
#: Query rows per thumbnail bin that the all-heads summary reads (evenly spaced) of a layer whose full
#: pattern is not kept.
ROWS_PER_BIN = 4
#: The per-head scores of the summary, in the order of ``trace.head_scores``' last axis.
HEAD_SCORES = ("previous_token", "first_token", "self", "entropy")


class AttentionRecorder:
    """Collects attention for one forward pass.

    ``blocks.{L}.attn.hook_pattern    # [head, query, key]`` for the layers in ``full``, and, for every
    watched layer when ``thumbnail_bins`` is set, the all-heads summary
    ``blocks.{L}.attn.hook_thumbnail  # [head, bins, bins]`` (block means) and
    ``blocks.{L}.attn.hook_scores     # [head, 4]`` (:data:`HEAD_SCORES`), read from at most
    :data:`ROWS_PER_BIN` query rows per bin of layers not in ``full`` (see :func:`sampled_rows`).
    """

    def __init__(
        self,
        modules: dict[int, int],
        full: set[int],
        thumbnail_bins: int | None = None,
        heads: tuple[int, ...] | None = None,
    ) -> None:
        self._layer_of_module = modules  # id(attention module) -> layer index
        self.full = full
        self.thumbnail_bins = thumbnail_bins
        self.heads = heads  # the heads whose full patterns are kept (None: all); not with thumbnails
        self.patterns: dict[int, torch.Tensor] = {}
        self.thumbnails: dict[int, torch.Tensor] = {}
        self.head_scores: dict[int, torch.Tensor] = {}

    def layer_of(self, module: nn.Module) -> int | None:
        """The layer index of ``module`` if this recorder watches it, else ``None``."""
        return self._layer_of_module.get(id(module))

    def record(
        self,
        layer: int,
        query: torch.Tensor,
        key: torch.Tensor,
        mask: torch.Tensor | None,
        scaling: float,
        causal: bool,
    ) -> None:
        """Store what this recorder wants of ``layer``'s attention."""
        keep_full = layer in self.full
        if not keep_full and self.thumbnail_bins is None:
            return
        pattern, summary = attention_pattern(
            query, key, mask, scaling, causal, keep_full, self.thumbnail_bins, self.heads
        )
        if pattern is not None:
            self.patterns[layer] = pattern
        if summary is not None:
            self.thumbnails[layer], self.head_scores[layer] = summary


_active: contextvars.ContextVar[AttentionRecorder | None] = contextvars.ContextVar(
    "deepseek_viz_attention_recorder", default=None
)


_fast: contextvars.ContextVar[bool] = contextvars.ContextVar("deepseek_viz_fast_path", default=False)


@contextmanager
def fast_path() -> Iterator[None]:
    """Pad MLA's values to the query width in the forward passes run inside the block."""
    token = _fast.set(True)
    try:
        yield
    finally:
        _fast.reset(token)


@contextmanager
def recording(recorder: AttentionRecorder) -> Iterator[AttentionRecorder]:
    """Make ``recorder`` active for forward passes run inside the block; removed in ``finally``."""
    token = _active.set(recorder)
    try:
        yield recorder
    finally:
        _active.reset(token)


def bin_index(length: int, bins: int, device: torch.device) -> torch.Tensor:
    """For each of ``length`` positions, the thumbnail bin (of ``min(bins, length)``) it falls in."""
    count = min(bins, length)
    return (torch.arange(length, device=device) * count) // length


def sampled_rows(length: int, bins: int, device: torch.device | None = None) -> torch.Tensor:
    """The query rows the all-heads summary reads: all ``length`` rows when there are at most
    ``ROWS_PER_BIN · bins``, else that many evenly spaced (first and last included)."""
    count = min(length, ROWS_PER_BIN * bins)
    return torch.linspace(0, length - 1, count, device=device).round().long().unique()


def attention_pattern(
    query: torch.Tensor,
    key: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    causal: bool,
    keep_full: bool = True,
    thumbnail_bins: int | None = None,
    only_heads: tuple[int, ...] | None = None,
) -> tuple[torch.Tensor | None, tuple[torch.Tensor, torch.Tensor] | None]:
    """``softmax(QKᵀ·scale + mask)`` for batch item 0: the full ``[head, query, key]`` pattern (if
    ``keep_full``; of ``only_heads`` alone, in that order, when given) and, if ``thumbnail_bins``, the
    summary: ``[head, bins, bins]`` block means and ``[head, 4]`` :data:`HEAD_SCORES`, from every row
    when the full pattern is computed, else from :func:`sampled_rows` (each bin's mean over its sampled
    rows).

    ``query`` is ``[batch, heads, q, d]`` and ``key`` ``[batch, kv_heads, k, d]`` (GQA keys are shared by
    ``heads // kv_heads`` query heads; MLA's query/key width may differ from the value width, which is not
    needed here). Scores are computed in float32; the pattern is kept in float32 for float32 models and
    float16 otherwise. The scores, per head, are means over the rows read: the weight on the previous
    token (rows after the first), on the first token (BOS), on the query's own position, and the
    entropy of the row in nats.
    """
    if only_heads is not None and thumbnail_bins is not None:
        raise ValueError("the all-heads summary needs every head: no only_heads with thumbnail_bins")
    heads, q_len, k_len = query.shape[1], query.shape[2], key.shape[2]
    device = query.device
    group = heads // key.shape[1]  # query heads per key head (GQA)
    if only_heads is None:
        keys = key[0].float().repeat_interleave(group, dim=0)  # [head, k, d]
    else:  # only the key heads of the heads asked for: not a [head, k, d] copy of every head
        chosen = torch.tensor(only_heads, dtype=torch.long, device=device)
        query, keys, heads = query[:, chosen], key[0, chosen // group].float(), len(only_heads)
    store_dtype = torch.float32 if query.dtype == torch.float32 else torch.float16
    pattern = torch.empty(heads, q_len, k_len, dtype=store_dtype, device=device) if keep_full else None
    rows = (
        torch.arange(q_len, device=device)
        if keep_full or thumbnail_bins is None
        else sampled_rows(q_len, thumbnail_bins, device)
    )
    thumbnail = None
    if thumbnail_bins is not None:
        row_bin, col_bin = bin_index(q_len, thumbnail_bins, device), bin_index(k_len, thumbnail_bins, device)
        bins_down, bins_across = int(row_bin[-1]) + 1, int(col_bin[-1]) + 1
        pool = torch.zeros(k_len, bins_across, device=device)
        pool[torch.arange(k_len, device=device), col_bin] = 1.0
        pool /= pool.sum(0, keepdim=True)
        thumbnail = torch.zeros(heads, bins_down, bins_across, device=device)
        rows_per_bin = torch.bincount(row_bin[rows], minlength=bins_down).float().clamp(min=1)
        totals = torch.zeros(heads, len(HEAD_SCORES), device=device)
    key_pos = torch.arange(k_len, device=device)
    for start in range(0, len(rows), QUERY_CHUNK):
        chunk = rows[start : start + QUERY_CHUNK]
        scores = torch.matmul(query[0, :, chunk].float(), keys.transpose(1, 2)) * scaling
        query_pos = chunk + (k_len - q_len)
        if attention_mask is not None:
            mask = attention_mask[0, :, chunk, :k_len]
            if mask.dtype == torch.bool:
                scores = scores.masked_fill(~mask, float("-inf"))
            else:
                scores = scores + mask.float()
        elif causal:
            scores = scores.masked_fill(key_pos[None, :] > query_pos[:, None], float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        if pattern is not None:
            pattern[:, chunk] = probs.to(store_dtype)
        if thumbnail is not None:
            thumbnail.index_add_(1, row_bin[chunk], torch.matmul(probs, pool))
            step = torch.arange(len(chunk), device=device)
            has_previous = query_pos >= 1
            totals[:, 0] += (probs[:, step, (query_pos - 1).clamp(min=0)] * has_previous).sum(-1)
            totals[:, 1] += probs[:, :, 0].sum(-1)
            totals[:, 2] += probs[:, step, query_pos].sum(-1)
            totals[:, 3] += torch.special.entr(probs).sum(-1).sum(-1)
    if thumbnail is None:
        return pattern, None
    thumbnail /= rows_per_bin[None, :, None]
    read, after_first = len(rows), max(int((rows + (k_len - q_len) >= 1).sum()), 1)
    counts = torch.tensor([after_first, read, read, read], dtype=torch.float32, device=device)
    return pattern, (thumbnail, totals / counts)


def _sdpa_with_capture(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    recorder = _active.get()
    value_width = value.shape[-1]
    if _fast.get() and query.shape[-1] > value_width:
        # MLA's values are narrower than its queries/keys, which sends CPU SDPA to its slow math kernel;
        # zero columns make the widths equal (same result, ~6x faster) and are cut off again below.
        value = torch.nn.functional.pad(value, (0, query.shape[-1] - value_width))
    output, _ = sdpa_attention_forward(
        module,
        query,
        key,
        value,
        attention_mask,
        dropout=dropout,
        scaling=scaling,
        is_causal=is_causal,
        **kwargs,
    )
    output = output[..., :value_width]
    layer = recorder.layer_of(module) if recorder is not None else None
    if recorder is not None and layer is not None:
        scale = scaling if scaling is not None else query.shape[-1] ** -0.5
        causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
        with torch.no_grad():
            recorder.record(layer, query, key, attention_mask, scale, causal)
    return output, None


def install() -> None:
    """Wrap transformers' SDPA attention function for the whole process (idempotent)."""
    AttentionInterface.register("sdpa", _sdpa_with_capture)
