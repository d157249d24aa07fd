"""Arrays → binary buffers for the widgets, and back (for tests): the codec and the trait that carries it.

Every array a view sends is one :class:`ArrayTrait`, whose value is an :class:`EncodedArray` (or
``None``: nothing to show). It crosses to JavaScript as ``{"dtype", "shape", "scale", "buffer"}``, the
buffer being raw little-endian bytes that ipywidgets sends as a binary part of the message (never JSON):

- ``uint8``: values in ``[0, scale]`` quantised to ``round(value / scale * 255)``; decode with
  ``byte / 255 * scale``. One byte per value; used for attention (probabilities are in ``[0, 1]``).
- ``float16``: IEEE half floats, ``scale`` is 1. Used where the range is not known in advance.
- ``float32``: IEEE single floats, ``scale`` is 1, for values that must arrive exact.
- ``uint16`` / ``uint32``: non-negative integers (expert ids, string-table indices), ``scale`` is 1;
  ``uint32`` only when a value needs it.

``js/src/lib/buffers.ts`` is the decoder on the other side; keep the two in step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import traitlets

DType = Literal["uint8", "float16", "float32", "uint16", "uint32"]

#: numpy's little-endian dtype of each wire dtype.
_NUMPY_DTYPES: dict[str, str] = {
    "uint8": "u1",
    "float16": "<f2",
    "float32": "<f4",
    "uint16": "<u2",
    "uint32": "<u4",
}


@dataclass(frozen=True)
class EncodedArray:
    """One array as it crosses to the browser: its bytes and how to read them."""

    dtype: DType
    shape: tuple[int, ...]
    scale: float
    data: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if self.dtype not in _NUMPY_DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; expected one of {', '.join(_NUMPY_DTYPES)}")
        expected = math.prod(self.shape) * np.dtype(_NUMPY_DTYPES[self.dtype]).itemsize
        if len(self.data) != expected:
            raise ValueError(
                f"{len(self.data)} bytes for {self.dtype} {list(self.shape)}: expected {expected}"
            )

    def header(self) -> dict[str, Any]:
        """``{"dtype", "shape", "scale"}``: everything but the bytes, as JSON (e.g. beside a command's
        reply buffer)."""
        return {"dtype": self.dtype, "shape": list(self.shape), "scale": self.scale}


def _encoded(values: np.ndarray, dtype: DType, scale: float = 1.0) -> EncodedArray:
    little_endian = np.ascontiguousarray(values, dtype=_NUMPY_DTYPES[dtype])
    return EncodedArray(
        dtype, tuple(int(side) for side in values.shape), float(scale), little_endian.tobytes()
    )


def encode_uint8(array: np.ndarray, scale: float | None = None) -> EncodedArray:
    """Quantise non-negative ``array`` to one byte per value over ``[0, scale]`` (default: its max).

    Values above ``scale`` saturate at 255; a zero or empty array gets ``scale`` 1 (all bytes 0).
    """
    values = np.asarray(array, dtype=np.float32)
    if scale is None:
        scale = float(values.max()) if values.size else 0.0
    if not math.isfinite(scale) or scale <= 0:
        scale = 1.0
    return _encoded(np.rint(np.clip(values / scale, 0.0, 1.0) * 255.0), "uint8", scale)


def encode_float16(array: np.ndarray) -> EncodedArray:
    """Little-endian IEEE half floats (two bytes per value)."""
    return _encoded(np.asarray(array), "float16")


def encode_float32(array: np.ndarray) -> EncodedArray:
    """Little-endian IEEE single floats (four bytes per value), for values that must arrive exact."""
    return _encoded(np.asarray(array), "float32")


def encode_indices(array: np.ndarray) -> EncodedArray:
    """Little-endian ``uint16`` (or ``uint32`` when a value needs it) bytes of non-negative integers."""
    values = np.asarray(array)
    wide = values.size > 0 and int(values.max()) > np.iinfo(np.uint16).max
    return _encoded(values, "uint32" if wide else "uint16")


def decode(encoded: EncodedArray) -> np.ndarray:
    """The array ``encoded`` holds, as the browser reads it: float32 for the float dtypes (uint8 scaled
    back, up to quantisation), int64 for the integer ones."""
    values = np.frombuffer(encoded.data, dtype=_NUMPY_DTYPES[encoded.dtype]).reshape(encoded.shape)
    if encoded.dtype == "uint8":
        return values.astype(np.float32) / 255.0 * encoded.scale
    if encoded.dtype in ("uint16", "uint32"):
        return values.astype(np.int64)
    return values.astype(np.float32)


def array_to_json(value: EncodedArray | None, _widget: Any = None) -> dict[str, Any] | None:
    """The wire value of an :class:`ArrayTrait`: ``{"dtype", "shape", "scale", "buffer"}``, the buffer a
    memoryview that ipywidgets sends as a binary part of the message; ``None`` → ``null``."""
    if value is None:
        return None
    return {**value.header(), "buffer": memoryview(value.data)}


class ArrayTrait(traitlets.TraitType["EncodedArray | None", "EncodedArray | None"]):
    """A synced array: an :class:`EncodedArray` (from ``encode_uint8``/``encode_float16``/
    ``encode_float32``/``encode_indices``) or ``None``, serialised by :func:`array_to_json`.

    Declare it like any trait: ``_heatmap = ArrayTrait().tag(sync=True)``.
    """

    info_text = "an EncodedArray (see deepseek_viz.widgets.buffers) or None"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_value=None, allow_none=True, **kwargs)
        self.tag(to_json=array_to_json)

    def validate(self, obj: Any, value: Any) -> EncodedArray | None:
        """``value`` itself when it is an :class:`EncodedArray` or ``None``; else :class:`traitlets.TraitError`."""
        if value is None or isinstance(value, EncodedArray):
            return value
        self.error(obj, value)


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
