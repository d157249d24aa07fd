"""``readable_token``: a predicted token that is a piece of a multi-byte character shows as its bytes."""

from __future__ import annotations

from deepseek_viz.model.tokens import readable_token
from tests.conftest import build_tokenizer


def test_pieces_of_cjk_and_emoji_show_as_bytes_and_whole_characters_as_text() -> None:
    tokenizer = build_tokenizer()
    text = "東京は日本の首都です 😀"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    shown = [readable_token(tokenizer.decode([i]), tokenizer.convert_ids_to_tokens([i])[0]) for i in ids]
    assert all("\ufffd" not in label for label in shown)
    # 東 is E6 9D B1: three byte tokens of this tiny vocabulary; the emoji's first piece keeps its space
    assert shown[:3] == ["<0xE6>", "<0x9D>", "<0xB1>"]
    assert " <0xF0><0x9F>" in shown


def test_whole_text_sentencepiece_bytes_and_other_vocabularies() -> None:
    assert readable_token("flu", "Ġflu") == "flu"
    assert readable_token("\ufffd", "<0xe4>") == "<0xE4>"
    # a whole character and a piece in one byte-level token: the character as itself
    assert readable_token("\ufffd", "Ġä¸Ń" + "ä") == " 中<0xE4>"
    # a vocabulary this cannot read: the decoding as it is
    assert readable_token("\ufffd", "▁☃") == "\ufffd"
    # the replacement character itself (EF BF BD) is text, not a piece
    assert readable_token("\ufffd", "ï¿½") == "\ufffd"
