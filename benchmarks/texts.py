"""Benchmark texts of an exact token count for a model's tokenizer."""

from __future__ import annotations

from deepseek_viz import HookedModel

SOURCE = (
    "Quarterly revenue rose 12% to $4.2 billion, beating analyst estimates, while margins narrowed as "
    "costs climbed. Fever may indicate flu; a persistent cough with chest pain can be a sign of "
    "pneumonia and should be checked by a doctor. 学而时习之，不亦说乎？ The committee expects growth "
    "to slow next year as interest rates stay high and consumers spend less on travel. "
)


def token_count(model: HookedModel, text: str) -> int:
    """Tokens the model's trace of ``text`` has (BOS included)."""
    return len(model.tokenizer(text)["input_ids"])


def text_of_tokens(model: HookedModel, count: int) -> str:
    """A prefix of repeated :data:`SOURCE` that tokenizes into exactly ``count`` tokens (BOS included)."""
    source = SOURCE * (count // 20 + 2)
    ends = [end for _, end in model.tokenizer(source, return_offsets_mapping=True)["offset_mapping"]]
    for cut in range(count - 1, count + 8):
        text = source[: ends[cut]]
        if token_count(model, text) == count:
            return text
    raise ValueError(f"could not cut a text of exactly {count} tokens")
