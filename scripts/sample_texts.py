"""Write the labelled sample texts the Dashboard scatters when given no texts of its own.

``python scripts/sample_texts.py`` writes ``src/deepseek_viz/data/sample_texts.json``: short finance and
medical texts (English and Chinese, from the training corpus generators with another seed) and
English and Chinese fortunes, each with its label. Deterministic; standard library only.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tiny_corpus import (
    finance_doc,
    finance_doc_zh,
    fortune_files,
    medical_doc,
    medical_doc_zh,
    read_fortunes,
)

OUTPUT = Path(__file__).resolve().parents[1] / "src/deepseek_viz/data/sample_texts.json"
PER_LABEL = 40
MAX_CHARS = 240
SEED = 7


def sample_texts(seed: int = SEED) -> list[dict[str, str]]:
    """``[{"text", "label"}, …]``: :data:`PER_LABEL` texts of each label, at most :data:`MAX_CHARS` long."""
    rng = random.Random(seed)
    samples: list[dict[str, str]] = []
    for label, make in (
        ("finance", finance_doc),
        ("finance 中文", finance_doc_zh),
        ("medical", medical_doc),
        ("medical 中文", medical_doc_zh),
    ):
        texts: set[str] = set()
        while len(texts) < PER_LABEL:
            text = make(rng)
            if len(text) <= MAX_CHARS:
                texts.add(text)
        samples.extend({"text": text, "label": label} for text in sorted(texts))
    for label, chinese in (("fortune", False), ("fortune 中文", True)):
        pool = sorted(
            {doc for path in fortune_files(chinese) for doc in read_fortunes(path) if len(doc) <= MAX_CHARS}
        )
        samples.extend({"text": text, "label": label} for text in rng.sample(pool, min(PER_LABEL, len(pool))))
    return samples


if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(sample_texts(), ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")
