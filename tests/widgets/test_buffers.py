"""The array → buffer codecs and the array trait the widgets send (decoded again in js/src/lib/buffers.ts)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

from deepseek_viz.widgets.buffers import (
    ArrayTrait,
    EncodedArray,
    array_to_json,
    decode,
    encode_float16,
    encode_float32,
    encode_indices,
    encode_uint8,
    max_pool,
    normalise_each,
)


def test_uint8_round_trip_within_half_a_step() -> None:
    values = np.random.default_rng(0).random((7, 5)).astype(np.float32) * 0.3
    encoded = encode_uint8(values)
    assert len(encoded.data) == values.size
    assert (encoded.dtype, encoded.shape) == ("uint8", (7, 5))
    assert encoded.scale == pytest.approx(float(values.max()))
    assert np.abs(decode(encoded) - values).max() <= encoded.scale / 255 / 2 + 1e-7


def test_uint8_saturates_above_scale_and_handles_zeros() -> None:
    assert list(encode_uint8(np.array([0.0, 0.5, 2.0]), scale=1.0).data) == [0, 128, 255]
    zeros = encode_uint8(np.zeros(3))
    assert list(zeros.data) == [0, 0, 0] and zeros.scale == 1.0
    empty = encode_uint8(np.zeros((0, 4)))
    assert empty.data == b"" and empty.shape == (0, 4) and decode(empty).shape == (0, 4)


def test_float16_is_little_endian_halves() -> None:
    encoded = encode_float16(np.array([1.0, -2.0, 0.333251953125]))
    assert encoded.data[:4] == bytes([0x00, 0x3C, 0x00, 0xC0])
    assert decode(encoded).tolist() == [1.0, -2.0, 0.333251953125]


def test_float32_is_exact_and_little_endian() -> None:
    values = np.array([[0.1, -3.5e-8], [7.0, 1e30]], dtype=np.float32)
    encoded = encode_float32(values.T)  # a non-contiguous view is sent row-major
    assert encoded.header() == {"dtype": "float32", "shape": [2, 2], "scale": 1.0}
    assert encoded.data[:4] == np.array([0.1], dtype="<f4").tobytes()
    np.testing.assert_array_equal(decode(encoded), values.T)


def test_index_codec_widens_only_when_needed() -> None:
    narrow = encode_indices(np.array([[0, 65535]]))
    assert narrow.header() == {"dtype": "uint16", "shape": [1, 2], "scale": 1.0} and len(narrow.data) == 4
    wide = encode_indices(np.array([70000, 3]))
    assert wide.dtype == "uint32"
    decoded = decode(wide)
    assert decoded.dtype == np.int64
    np.testing.assert_array_equal(decoded, [70000, 3])


def test_encoded_array_refuses_bytes_that_do_not_fit_its_shape() -> None:
    with pytest.raises(ValueError, match="3 bytes for uint16 \\[2\\]: expected 4"):
        EncodedArray("uint16", (2,), 1.0, b"abc")
    with pytest.raises(ValueError, match="unknown dtype 'int8'"):
        EncodedArray("int8", (1,), 1.0, b"a")  # type: ignore[arg-type]


class Holder(traitlets.HasTraits):
    """A widget-like owner of one array trait."""

    values = ArrayTrait().tag(sync=True)


def test_array_trait_holds_encoded_arrays_or_none_and_refuses_the_rest() -> None:
    holder = Holder()
    assert holder.values is None
    holder.values = encode_uint8(np.ones(2))
    assert holder.values is not None and holder.values.shape == (2,)
    holder.values = None
    for wrong in (b"\x00\x01", np.ones(2), {"dtype": "uint8", "shape": [2], "scale": 1.0, "buffer": b"ab"}):
        with pytest.raises(traitlets.TraitError, match="EncodedArray"):
            holder.values = wrong


def test_array_trait_crosses_as_header_plus_one_binary_buffer() -> None:
    """What ipywidgets sends: the header as JSON, the bytes as a binary part at ``[name, "buffer"]``."""
    encoded = encode_uint8(np.arange(6.0).reshape(2, 3))
    to_json = Holder.class_traits()["values"].metadata["to_json"]
    assert to_json is array_to_json
    state, paths, buffers = _remove_buffers({"values": to_json(encoded, None), "none": to_json(None, None)})
    assert state == {"values": {"dtype": "uint8", "shape": [2, 3], "scale": 5.0}, "none": None}
    assert paths == [["values", "buffer"]]
    assert isinstance(buffers[0], memoryview) and bytes(buffers[0]) == encoded.data
    json.dumps(state)  # the rest is plain JSON: no list of byte values


def test_max_pool_keeps_sharp_peaks_and_partial_blocks() -> None:
    matrix = np.zeros((10, 10), dtype=np.float32)
    matrix[9, 0] = 0.9
    matrix[4, 5] = 0.5
    pooled, block = max_pool(matrix, 4)
    assert block == 3 and pooled.shape == (4, 4)
    assert pooled[3, 0] == pytest.approx(0.9)
    assert pooled[1, 1] == pytest.approx(0.5)
    assert pooled.sum() == pytest.approx(1.4)
    same, one = max_pool(matrix, 10)
    assert one == 1 and same is matrix
    with pytest.raises(ValueError):
        max_pool(matrix, 0)


def test_normalise_each_scales_every_slice_to_one() -> None:
    stack = np.array([[[0.0, 0.2], [0.1, 0.4]], [[0.0, 0.0], [0.0, 0.0]]], dtype=np.float32)
    normalised = normalise_each(stack)
    assert normalised[0].max() == pytest.approx(1.0)
    assert normalised[0, 0, 1] == pytest.approx(0.5)
    assert not normalised[1].any()
