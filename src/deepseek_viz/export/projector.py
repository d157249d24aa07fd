"""Vectors and their metadata as TensorBoard Embedding Projector files (no TensorBoard needed to write).

``write_projector(folder, vectors, metadata)`` writes

* ``tensors.tsv`` — one vector per line, tab-separated floats, no header;
* ``metadata.tsv`` — one line per vector: a single column has no header; several columns have a header
  line of column names (the projector tells the two apart by the tab in the first line);
* ``projector_config.pbtxt`` — a ``ProjectorConfig`` text proto naming both files relative to itself.

Open it with ``tensorboard --logdir folder`` (Projector tab), or load the two TSV files into
https://projector.tensorflow.org. Metadata cells are escaped so that a cell never breaks the format:
backslash, tab, newline and carriage return become ``\\\\``, ``\\t``, ``\\n`` and ``\\r``; a cell that is only
whitespace is written as ``\\uXXXX`` escapes (the projector skips blank lines, which would misalign every
later row), and a row whose cells are all empty starts with ``\\0``. :func:`read_projector` undoes all of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TENSORS_FILE = "tensors.tsv"
METADATA_FILE = "metadata.tsv"
CONFIG_FILE = "projector_config.pbtxt"

# JavaScript's String.prototype.trim() removes these; a line of only these is skipped by the projector.
_JS_WHITESPACE = " \t\n\r\x0b\x0c\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESCAPE = re.compile(r"\\(\\|t|n|r|0|u[0-9a-fA-F]{4})")


def escape_cell(value: object) -> str:
    """``value`` as one metadata cell: no tab or line break inside, never only whitespace."""
    text = str(value)
    if text and not text.strip(_JS_WHITESPACE):
        return "".join(f"\\u{ord(char):04x}" for char in text)
    return "".join(_ESCAPES.get(char, char) for char in text)


def unescape_cell(cell: str) -> str:
    """Invert :func:`escape_cell`."""

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u"):
            return chr(int(code[1:], 16))
        return {"\\": "\\", "t": "\t", "n": "\n", "r": "\r", "0": ""}[code]

    return _UNESCAPE.sub(replace, cell)


def _quote(text: str) -> str:
    """A string literal for a text proto."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _columns(metadata: Sequence[Any] | Mapping[str, Sequence[Any]] | None, rows: int) -> dict[str, list[str]]:
    if metadata is None:
        return {}
    if isinstance(metadata, Mapping):
        columns = {str(name): list(values) for name, values in metadata.items()}
    elif isinstance(metadata, str):
        raise TypeError("metadata must be a sequence of labels (one per vector) or a mapping of columns")
    else:
        columns = {"label": list(metadata)}
    for name, values in columns.items():
        if len(values) != rows:
            raise ValueError(f"metadata column {name!r} has {len(values)} values for {rows} vectors")
    return {name: [str(value) for value in values] for name, values in columns.items()}


def _line(cells: Sequence[str]) -> str:
    """Escaped cells joined by tabs; a row of empty cells starts with ``\\0`` (blank lines are skipped)."""
    escaped = [escape_cell(cell) for cell in cells]
    if not any(escaped):
        escaped[0] = "\\0"
    return "\t".join(escaped)


def write_projector(
    folder: str | Path,
    vectors: np.ndarray,
    metadata: Sequence[Any] | Mapping[str, Sequence[Any]] | None = None,
    *,
    tensor_name: str = "embeddings",
    precision: int = 7,
) -> Path:
    """Write ``vectors [n, d]`` and optional metadata as projector files in ``folder`` (created if needed).

    ``metadata`` is a sequence of ``n`` labels (one column, no header) or a mapping ``{column: n values}``
    (a header line when there are two or more columns). Values are written with ``str`` and escaped
    (see the module notes). Floats keep ``precision`` significant digits. Returns the folder.
    """
    array = np.asarray(vectors, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"vectors must be a non-empty 2-D [n, d] array, not shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("vectors contain NaN or infinite values, which the projector cannot show")
    columns = _columns(metadata, array.shape[0])
    # one column: no header (its name is dropped); several: a header line of names
    rows: list[Sequence[str]] = list(zip(*columns.values(), strict=True))
    if len(columns) > 1:
        rows.insert(0, list(columns))
    lines = [_line(row) for row in rows]

    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    np.savetxt(root / TENSORS_FILE, array, fmt=f"%.{precision}g", delimiter="\t", encoding="utf-8")
    if lines:
        (root / METADATA_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    else:
        (root / METADATA_FILE).unlink(missing_ok=True)
    config = [
        "embeddings {",
        f"  tensor_name: {_quote(tensor_name)}",
        f"  tensor_path: {_quote(TENSORS_FILE)}",
        *([f"  metadata_path: {_quote(METADATA_FILE)}"] if lines else []),
        f"  tensor_shape: {array.shape[0]}",
        f"  tensor_shape: {array.shape[1]}",
        "}",
    ]
    (root / CONFIG_FILE).write_text("\n".join(config) + "\n", encoding="utf-8", newline="\n")
    return root


@dataclass(frozen=True)
class ProjectorFiles:
    """What :func:`read_projector` found: the vectors, the metadata columns and the tensor's name."""

    vectors: np.ndarray
    metadata: dict[str, list[str]]
    tensor_name: str


def read_projector(folder: str | Path) -> ProjectorFiles:
    """Read back files written by :func:`write_projector` (paths are taken from the config)."""
    root = Path(folder)
    config = (root / CONFIG_FILE).read_text(encoding="utf-8")

    def field(name: str) -> str | None:
        match = re.search(rf'^\s*{name}:\s*"((?:[^"\\]|\\.)*)"', config, flags=re.MULTILINE)
        if match is None:
            return None
        return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), match.group(1))

    tensor_path = field("tensor_path")
    if tensor_path is None:
        raise ValueError(f"{root / CONFIG_FILE} names no tensor_path")
    vectors = np.loadtxt(root / tensor_path, delimiter="\t", dtype=np.float32, ndmin=2, encoding="utf-8")
    metadata: dict[str, list[str]] = {}
    metadata_path = field("metadata_path")
    if metadata_path is not None:
        text = (root / metadata_path).read_text(encoding="utf-8")
        lines = [line for line in text.split("\n") if line.strip(_JS_WHITESPACE)]
        if lines and "\t" in lines[0]:
            names = [unescape_cell(cell) for cell in lines[0].split("\t")]
            rows = [line.split("\t") for line in lines[1:]]
            metadata = {
                name: [unescape_cell(row[i]) if i < len(row) else "" for row in rows]
                for i, name in enumerate(names)
            }
        else:
            metadata = {"label": [unescape_cell(line) for line in lines]}
    return ProjectorFiles(vectors=vectors, metadata=metadata, tensor_name=field("tensor_name") or "")
