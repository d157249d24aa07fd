"""Tokens shown by the source text they came from (via the fast tokenizer's offsets)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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


def _byte_level_table() -> dict[str, int]:
    """Byte-level BPE's (GPT-2's, DeepSeek's) vocabulary characters → the byte each stands for."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars, extra = list(printable), 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(char): byte for byte, char in zip(printable, chars, strict=True)}


_BYTE_LEVEL = _byte_level_table()
_BYTE_FALLBACK = re.compile(r"(?:<0x[0-9A-Fa-f]{2}>)+")


def readable_token(text: str, vocab_string: str) -> str:
    """A predicted token's text as a view shows it: ``text`` (its decoding), unless that holds a U+FFFD
    the token does not mean (a piece of a multi-byte UTF-8 character, which decodes alone to "�"); then
    the character's bytes are written out: "<0xE4><0xBA>", " <0xF0>" (the whole characters in the token
    as themselves). ``vocab_string`` is the token's vocabulary string: byte-level BPE's ("æĿ", "Ġ"…) or a
    sentencepiece byte fallback ("<0xE4>"); any other vocabulary string leaves ``text`` as it is."""
    if "\ufffd" not in text:
        return text
    if _BYTE_FALLBACK.fullmatch(vocab_string):
        return vocab_string.upper().replace("<0X", "<0x")
    if not vocab_string or any(char not in _BYTE_LEVEL for char in vocab_string):
        return text
    raw = bytes(_BYTE_LEVEL[char] for char in vocab_string)
    parts: list[str] = []
    while raw:
        try:
            parts.append(raw.decode("utf-8"))
            break
        except UnicodeDecodeError as error:
            parts.append(raw[: error.start].decode("utf-8"))
            parts.extend(f"<0x{byte:02X}>" for byte in raw[error.start : error.end])
            raw = raw[error.end :]
    return "".join(parts)


#: The vocabulary strings of token ids (:meth:`ModelInterface.token_strings`).
VocabStrings = Callable[[Sequence[int]], list[str]]


def readable_texts(texts: list[str], ids: Sequence[int], vocab: VocabStrings | None) -> list[str]:
    """``texts`` (the decodings of token ``ids``) with each piece of a multi-byte character, which
    decodes alone to "�", written as its bytes ("<0xE4>", :func:`readable_token`;
    ``vocab`` is asked only for those)."""
    broken = [j for j, text in enumerate(texts) if "\ufffd" in text]
    if vocab is None or not broken:
        return texts
    names = vocab([int(ids[j]) for j in broken])
    shown = list(texts)
    for j, name in zip(broken, names, strict=True):
        shown[j] = readable_token(texts[j], name)
    return shown
