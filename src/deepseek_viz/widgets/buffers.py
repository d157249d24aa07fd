"""Arrays → binary buffers for the widgets, and back (for tests).

Every array crosses to JavaScript as raw little-endian bytes plus a small metadata dict
``{"dtype": "uint8" | "float16" | "float32", "shape": [...], "scale": float}``:

- ``uint8``: values in ``[0, scale]`` quantised to ``round(value / scale * 255)``; decode with
  ``byte / 255 * scale``. One byte per value; used for attention (probabilities are in ``[0, 1]``).
- ``float16``: IEEE half floats, ``scale`` is 1. Used where the range is not known in advance.
- ``float32``: IEEE single floats, ``scale`` is 1, for values that must arrive exact.

Non-negative integers (expert ids, string-table indices) cross as little-endian ``uint16`` (or
``uint32`` when a value needs it) with ``{"dtype": "uint16" | "uint32", "shape": [...]}``
(:class:`IndexMeta`, no scale).

``js/src/lib/buffers.ts`` is the decoder on the other side; keep the two in step.
"""

from __future__ import annotations

import math
from typing import Literal, TypedDict

import numpy as np


class ArrayMeta(TypedDict):
    """How to read one encoded buffer."""

    dtype: Literal["uint8", "float16", "float32"]
    shape: list[int]
    scale: float


class IndexMeta(TypedDict):
    """How to read a buffer of unsigned integers (expert ids, string-table indices)."""

    dtype: Literal["uint16", "uint32"]
    shape: list[int]


def encode_uint8(array: np.ndarray, scale: float | None = None) -> tuple[bytes, ArrayMeta]:
    """Quantise non-negative ``array`` to one byte per value over ``[0, scale]`` (default: its max).

    Values above ``scale`` saturate at 255; a zero or empty array gets ``scale`` 1 (all bytes 0).
    """
    values = np.asarray(array, dtype=np.float32)
    if scale is None:
        scale = float(values.max()) if values.size else 0.0
    if not math.isfinite(scale) or scale <= 0:
        scale = 1.0
    quantised = np.rint(np.clip(values / scale, 0.0, 1.0) * 255.0).astype(np.uint8)
    return quantised.tobytes(), ArrayMeta(dtype="uint8", shape=list(values.shape), scale=float(scale))


def encode_float16(array: np.ndarray) -> tuple[bytes, ArrayMeta]:
    """Little-endian IEEE half floats (two bytes per value)."""
    values = np.asarray(array, dtype="<f2")
    return values.tobytes(), ArrayMeta(dtype="float16", shape=list(values.shape), scale=1.0)


def encode_float32(array: np.ndarray) -> tuple[bytes, ArrayMeta]:
    """Little-endian IEEE single floats (four bytes per value), for values that must arrive exact."""
    values = np.ascontiguousarray(array, dtype="<f4")
    return values.tobytes(), ArrayMeta(dtype="float32", shape=list(values.shape), scale=1.0)


def decode(data: bytes, meta: ArrayMeta) -> np.ndarray:
    """The float32 array a buffer encodes (the inverse of the encoders, up to quantisation)."""
    shape = tuple(meta["shape"])
    if meta["dtype"] == "uint8":
        return np.frombuffer(data, dtype=np.uint8).reshape(shape).astype(np.float32) / 255.0 * meta["scale"]
    if meta["dtype"] in ("float16", "float32"):
        little_endian = "<f2" if meta["dtype"] == "float16" else "<f4"
        return np.frombuffer(data, dtype=little_endian).reshape(shape).astype(np.float32)
    raise ValueError(f"unknown dtype {meta['dtype']!r}")


def encode_indices(array: np.ndarray) -> tuple[bytes, IndexMeta]:
    """Little-endian ``uint16`` (or ``uint32`` when a value needs it) bytes of non-negative integers."""
    values = np.asarray(array)
    wide = values.size > 0 and int(values.max()) > np.iinfo(np.uint16).max
    dtype: Literal["uint16", "uint32"] = "uint32" if wide else "uint16"
    return values.astype("<u4" if wide else "<u2").tobytes(), IndexMeta(dtype=dtype, shape=list(values.shape))


def decode_indices(data: bytes, meta: IndexMeta) -> np.ndarray:
    """The integer array :func:`encode_indices` encoded (for tests and Python readers)."""
    dtype = "<u4" if meta["dtype"] == "uint32" else "<u2"
    return np.frombuffer(data, dtype=dtype).reshape(tuple(meta["shape"])).astype(np.int64)


def max_pool(matrix: np.ndarray, max_size: int) -> tuple[np.ndarray, int]:
    """Shrink a 2-D ``matrix`` so neither side exceeds ``max_size`` by taking the max of square blocks.

    Returns the pooled matrix and the block side (1 when ``matrix`` already fits). Max rather than mean
    keeps one sharp attention weight visible in an overview of thousands of tokens. The last block of
    each axis may be partial (padded with zeros, which is the floor for probabilities).
    """
    if max_size < 1:
        raise ValueError(f"max_size must be positive, not {max_size}")
    rows, cols = matrix.shape
    block = max(1, math.ceil(max(rows, cols) / max_size))
    if block == 1:
        return matrix, 1
    out_rows, out_cols = math.ceil(rows / block), math.ceil(cols / block)
    padded = np.zeros((out_rows * block, out_cols * block), dtype=matrix.dtype)
    padded[:rows, :cols] = matrix
    return padded.reshape(out_rows, block, out_cols, block).max(axis=(1, 3)), block


def normalise_each(stack: np.ndarray) -> np.ndarray:
    """Scale each trailing 2-D slice of ``stack`` (e.g. one head's thumbnail) to a max of 1."""
    peaks = stack.max(axis=(-2, -1), keepdims=True)
    return np.divide(stack, peaks, out=np.zeros_like(stack), where=peaks > 0)
