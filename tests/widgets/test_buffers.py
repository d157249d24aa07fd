"""The array → buffer codecs the widgets send (decoded again in js/src/lib/buffers.ts)."""

from __future__ import annotations

import numpy as np
import pytest

from deepseek_viz.widgets.buffers import (
    decode,
    decode_indices,
    encode_float16,
    encode_indices,
    encode_uint8,
    max_pool,
    normalise_each,
)


def test_uint8_round_trip_within_half_a_step() -> None:
    values = np.random.default_rng(0).random((7, 5)).astype(np.float32) * 0.3
    data, meta = encode_uint8(values)
    assert len(data) == values.size
    assert meta == {"dtype": "uint8", "shape": [7, 5], "scale": pytest.approx(float(values.max()))}
    assert np.abs(decode(data, meta) - values).max() <= meta["scale"] / 255 / 2 + 1e-7


def test_uint8_saturates_above_scale_and_handles_zeros() -> None:
    data, _ = encode_uint8(np.array([0.0, 0.5, 2.0]), scale=1.0)
    assert list(data) == [0, 128, 255]
    zeros, zero_meta = encode_uint8(np.zeros(3))
    assert list(zeros) == [0, 0, 0] and zero_meta["scale"] == 1.0
    empty, empty_meta = encode_uint8(np.zeros((0, 4)))
    assert empty == b"" and empty_meta["shape"] == [0, 4]


def test_float16_is_little_endian_halves() -> None:
    data, meta = encode_float16(np.array([1.0, -2.0, 0.333251953125]))
    assert data[:4] == bytes([0x00, 0x3C, 0x00, 0xC0])
    assert decode(data, meta).tolist() == [1.0, -2.0, 0.333251953125]


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


def test_index_codec_widens_only_when_needed() -> None:
    data, meta = encode_indices(np.array([[0, 65535]]))
    assert meta == {"dtype": "uint16", "shape": [1, 2]} and len(data) == 4
    data, meta = encode_indices(np.array([70000, 3]))
    assert meta["dtype"] == "uint32"
    np.testing.assert_array_equal(decode_indices(data, meta), [70000, 3])
