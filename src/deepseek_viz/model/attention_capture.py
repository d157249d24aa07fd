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

# Query rows handled per step, so the float32 scores of one step stay small at long lengths.
_QUERY_CHUNK = 256


class AttentionRecorder:
    """Collects attention for one forward pass.

    ``blocks.{L}.attn.hook_pattern    # [head, query, key]`` for the layers in ``full``, and
    ``blocks.{L}.attn.hook_thumbnail  # [head, bins, bins]`` (block means) for every watched layer when
    ``thumbnail_bins`` is set, computed without keeping the full pattern of layers not in ``full``.
    """

    def __init__(self, modules: dict[int, int], full: set[int], thumbnail_bins: int | None = None) -> None:
        self._layer_of_module = modules  # id(attention module) -> layer index
        self.full = full
        self.thumbnail_bins = thumbnail_bins
        self.patterns: dict[int, torch.Tensor] = {}
        self.thumbnails: dict[int, torch.Tensor] = {}

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
        pattern, thumbnail = attention_pattern(
            query, key, mask, scaling, causal, keep_full, self.thumbnail_bins
        )
        if pattern is not None:
            self.patterns[layer] = pattern
        if thumbnail is not None:
            self.thumbnails[layer] = thumbnail


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


def attention_pattern(
    query: torch.Tensor,
    key: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    causal: bool,
    keep_full: bool = True,
    thumbnail_bins: int | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``softmax(QKᵀ·scale + mask)`` for batch item 0: the full ``[head, query, key]`` pattern (if
    ``keep_full``) and its ``[head, bins, bins]`` block means (if ``thumbnail_bins``).

    ``query`` is ``[batch, heads, q, d]`` and ``key`` ``[batch, kv_heads, k, d]`` (GQA keys are shared by
    ``heads // kv_heads`` query heads; MLA's query/key width may differ from the value width, which is not
    needed here). Scores are computed in float32; the pattern is kept in float32 for float32 models and
    float16 otherwise.
    """
    heads, q_len, k_len = query.shape[1], query.shape[2], key.shape[2]
    device = query.device
    keys = key[0].float().repeat_interleave(heads // key.shape[1], dim=0)  # [head, k, d]
    store_dtype = torch.float32 if query.dtype == torch.float32 else torch.float16
    pattern = torch.empty(heads, q_len, k_len, dtype=store_dtype, device=device) if keep_full else None
    thumbnail = None
    if thumbnail_bins is not None:
        row_bin, col_bin = bin_index(q_len, thumbnail_bins, device), bin_index(k_len, thumbnail_bins, device)
        rows, cols = int(row_bin[-1]) + 1, int(col_bin[-1]) + 1
        pool = torch.zeros(k_len, cols, device=device)
        pool[torch.arange(k_len, device=device), col_bin] = 1.0
        pool /= pool.sum(0, keepdim=True)
        thumbnail = torch.zeros(heads, rows, cols, device=device)
        rows_per_bin = torch.bincount(row_bin, minlength=rows).float()
    key_pos = torch.arange(k_len, device=device)
    for start in range(0, q_len, _QUERY_CHUNK):
        stop = min(start + _QUERY_CHUNK, q_len)
        scores = torch.matmul(query[0, :, start:stop].float(), keys.transpose(1, 2)) * scaling
        if attention_mask is not None:
            mask = attention_mask[0, :, start:stop, :k_len]
            if mask.dtype == torch.bool:
                scores = scores.masked_fill(~mask, float("-inf"))
            else:
                scores = scores + mask.float()
        elif causal:
            query_pos = torch.arange(start, stop, device=device) + (k_len - q_len)
            scores = scores.masked_fill(key_pos[None, :] > query_pos[:, None], float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        if pattern is not None:
            pattern[:, start:stop] = probs.to(store_dtype)
        if thumbnail is not None:
            thumbnail.index_add_(1, row_bin[start:stop], torch.matmul(probs, pool))
    if thumbnail is not None:
        thumbnail /= rows_per_bin[None, :, None]
    return pattern, thumbnail


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
