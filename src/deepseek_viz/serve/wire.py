"""The model service's one message format: a small JSON header and the raw bytes of its arrays.

A message is ``b"DSV1"``, the header's length (uint32, little-endian), the header (UTF-8 JSON: the
message's fields, plus ``"arrays"``: each array's name, dtype, shape and where its bytes start), then
the arrays' bytes, each starting on an 8-byte boundary. Nothing is pickled or evaluated: decoding reads
JSON and copies bytes into tensors of a fixed list of dtypes, and anything else is a :class:`WireError`.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

MAGIC = b"DSV1"
#: The media type of a message, for ``Content-Type``.
MEDIA_TYPE = "application/x-deepseek-viz"
_LENGTH = struct.Struct("<I")
_ALIGN = 8
#: The dtypes a message may carry, by the name the header gives.
DTYPES: dict[str, torch.dtype] = {
    "bool": torch.bool,
    "uint8": torch.uint8,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}
_NAMES = {dtype: name for name, dtype in DTYPES.items()}


class WireError(ValueError):
    """A message that is not one: wrong magic, bad header, an unknown dtype, bytes that do not match."""


def _padding(size: int) -> int:
    return -size % _ALIGN


def encode(fields: Mapping[str, Any], arrays: Mapping[str, torch.Tensor | np.ndarray] | None = None) -> bytes:
    """One message of JSON-able ``fields`` and ``arrays`` (tensors or numpy arrays, moved to the CPU)."""
    if "arrays" in fields:
        raise ValueError('"arrays" is the message\'s own field')
    tensors = {
        name: torch.as_tensor(array).detach().cpu().contiguous() for name, array in (arrays or {}).items()
    }
    table, chunks, offset = [], [], 0
    for name, tensor in tensors.items():
        if tensor.dtype not in _NAMES:
            raise ValueError(f"array {name!r} has dtype {tensor.dtype}, which a message cannot carry")
        raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        table.append(
            {"name": name, "dtype": _NAMES[tensor.dtype], "shape": list(tensor.shape), "offset": offset}
        )
        chunks.append(raw + bytes(_padding(len(raw))))
        offset += len(chunks[-1])
    header = json.dumps({**fields, "arrays": table}, separators=(",", ":"), allow_nan=False).encode()
    start = len(MAGIC) + _LENGTH.size + len(header)
    return b"".join([MAGIC, _LENGTH.pack(len(header)), header, bytes(_padding(start)), *chunks])


def decode(message: bytes | bytearray | memoryview) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The fields and arrays of a message made by :func:`encode`; anything else is a :class:`WireError`."""
    data = memoryview(message).cast("B")
    if bytes(data[: len(MAGIC)]) != MAGIC or len(data) < len(MAGIC) + _LENGTH.size:
        raise WireError("not a deepseek-viz message (it does not start with DSV1)")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LENGTH.size
    if start + length > len(data):
        raise WireError("the message is shorter than its header says")
    try:
        fields = json.loads(bytes(data[start : start + length]))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WireError(f"the message's header is not JSON: {error}") from None
    if not isinstance(fields, dict) or not isinstance(fields.get("arrays", []), list):
        raise WireError("the message's header must be a JSON object with a list of arrays")
    body = start + length + _padding(start + length)
    arrays = {}
    for entry in fields.pop("arrays", []):
        name, tensor = _array(entry, data, body)
        arrays[name] = tensor
    return fields, arrays


def _array(entry: object, data: memoryview, body: int) -> tuple[str, torch.Tensor]:
    if not isinstance(entry, dict):
        raise WireError("each array of a message is described by an object")
    name, dtype, shape, offset = (entry.get(key) for key in ("name", "dtype", "shape", "offset"))
    if not isinstance(name, str) or dtype not in DTYPES:
        raise WireError(f"array {name!r}: dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if not (isinstance(shape, list) and all(isinstance(size, int) and size >= 0 for size in shape)):
        raise WireError(f"array {name!r}: its shape must be a list of sizes")
    if not isinstance(offset, int) or offset < 0:
        raise WireError(f"array {name!r}: its offset must be a byte count")
    torch_dtype = DTYPES[dtype]
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    size = count * torch_dtype.itemsize
    begin = body + offset
    if begin + size > len(data):
        raise WireError(f"array {name!r} runs past the end of the message")
    raw = bytearray(data[begin : begin + size])
    tensor = torch.frombuffer(raw, dtype=torch_dtype) if size else torch.zeros(0, dtype=torch_dtype)
    return name, tensor.reshape(shape)
