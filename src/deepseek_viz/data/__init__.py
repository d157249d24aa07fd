"""Data shipped with the package: labelled sample texts (``scripts/sample_texts.py`` writes them)."""

from __future__ import annotations

import json
from pathlib import Path

SAMPLE_TEXTS = Path(__file__).with_name("sample_texts.json")


def sample_texts() -> tuple[list[str], list[str]]:
    """``(texts, labels)``: 240 short finance, medical and fortune texts, English and Chinese, with
    their labels (what a :class:`~deepseek_viz.Dashboard` scatters when given no texts)."""
    samples = json.loads(SAMPLE_TEXTS.read_text(encoding="utf-8"))
    return [sample["text"] for sample in samples], [sample["label"] for sample in samples]
