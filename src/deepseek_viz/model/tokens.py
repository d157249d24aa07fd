"""Tokens shown by the source text they came from (via the fast tokenizer's offsets)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    """One token of a trace.

    ``text`` is the slice ``source[start:end]`` of the traced text; whitespace that the tokenizer's
    offsets leave between tokens is given to the token that follows it, so the texts of the
    non-special tokens join back into the source. Byte-level pieces of one character (CJK, emoji)
    share that character's span. Special tokens (BOS) have ``special=True``, an empty span and their
    vocabulary string as ``text``.
    """

    id: int
    text: str
    start: int
    end: int
    special: bool = False


def well_formed(text: str) -> str:
    """``text`` with each lone surrogate (a browser's string may hold one; no tokenizer can encode it)
    replaced by U+FFFD; a surrogate pair is joined into its character."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def tokens_from_offsets(
    source: str,
    ids: Sequence[int],
    offsets: Sequence[tuple[int, int]],
    special_mask: Sequence[int],
    special_strings: Sequence[str],
) -> list[Token]:
    """Build :class:`Token` objects from a fast tokenizer's ids, offsets and special-token mask."""
    tokens: list[Token] = []
    covered = 0  # end of the source already attributed to earlier tokens
    for token_id, (start, end), is_special, vocab_string in zip(
        ids, offsets, special_mask, special_strings, strict=True
    ):
        if is_special:
            tokens.append(Token(int(token_id), vocab_string, covered, covered, special=True))
            continue
        if start >= covered:
            start = covered  # take the gap (usually whitespace) in front of this token
        end = max(end, start)
        covered = max(covered, end)
        tokens.append(Token(int(token_id), source[start:end], start, end))
    return tokens
