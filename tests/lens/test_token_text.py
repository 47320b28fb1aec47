"""A token shown alone: its decoded text, or its bytes spelled `<0xNN>` when it holds only part of a character."""

from __future__ import annotations

from pathlib import Path

import pytest

from mistudio.lens.token_text import TokenTexts, token_text


@pytest.mark.slow
def test_smollm2_byte_level_pieces_of_an_emoji_are_spelled_as_bytes(smollm2_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    ids = tokenizer("I’m naïve 😀")["input_ids"]
    shown = [token_text(tokenizer, token) for token in ids]
    assert shown[:4] == ["I", "’", "m", " na"]  # whole characters decode as themselves
    emoji = "😀".encode()  # F0 9F 98 80: SmolLM2 splits it over two tokens, neither a character alone
    assert shown[-2:] == [" " + "".join(f"<0x{b:02X}>" for b in emoji[:3]), f"<0x{emoji[3]:02X}>"]
    assert all("\ufffd" not in text for text in shown)
    assert tokenizer.decode(ids[-2:]) == " 😀"  # together they are the emoji (what a whole example shows)


def test_sentencepiece_byte_fallback_tokens_keep_their_own_spelling() -> None:
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "a": 1, **{f"<0x{byte:02X}>": 2 + byte for byte in range(256)}}
    model = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>", byte_fallback=True))
    model.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=model)
    ids = tokenizer("aé", add_special_tokens=False)["input_ids"]
    assert [token_text(tokenizer, token) for token in ids] == ["a", "<0xC3>", "<0xA9>"]
    assert tokenizer.decode(ids) == "aé"
    texts = TokenTexts(None)
    assert texts(7) == "[7]"  # no tokenizer: the id, bracketed
