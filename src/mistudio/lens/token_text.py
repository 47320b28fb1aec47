"""One token's text as a person should see it, alone (in a feature's examples, a logit lens, a label).

Decoding a single id is right for most tokens, but a token holding part of a multi-byte character (an emoji split
in two by byte-level BPE, a SentencePiece byte-fallback token) decodes alone to U+FFFD "�", which tells nothing
and makes different tokens look the same. Those are shown as their bytes, `<0xF0><0x9F>` (led by a space when the
token starts with one), the way SentencePiece spells byte tokens.
"""

from __future__ import annotations

import functools
import re
from typing import Any

REPLACEMENT = "\ufffd"
_BYTE_TOKEN = re.compile(r"^(?:<0x[0-9A-Fa-f]{2}>)+$")


@functools.cache
def _byte_level_decoder() -> dict[str, int]:
    """GPT-2's printable stand-ins for bytes (what byte-level BPE vocabularies are written in), reversed."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    return {char: byte for byte, char in bytes_to_unicode().items()}


def _spelled(raw: bytes) -> str:
    lead = " " if raw.startswith(b" ") else ""
    return lead + "".join(f"<0x{byte:02X}>" for byte in raw.lstrip(b" "))


def token_text(tokenizer: Any, token_id: int) -> str:
    """The decoded text of `token_id`; its bytes spelled out when it is only part of a character."""
    text = tokenizer.decode([int(token_id)])
    if REPLACEMENT not in text:
        return text
    piece = tokenizer.convert_ids_to_tokens(int(token_id))
    if not isinstance(piece, str):
        return text
    if _BYTE_TOKEN.match(piece):
        return piece  # SentencePiece byte fallback: already spelled as bytes
    decoder = _byte_level_decoder()
    if piece and all(char in decoder for char in piece):
        return _spelled(bytes(decoder[char] for char in piece))
    return text  # a vocabulary we cannot read as bytes: its own decoding, "�" and all


class TokenTexts:
    """Token id → `token_text`, each id decoded once; `[id]` when there is no tokenizer."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer, self.cache = tokenizer, {}

    def __call__(self, token: int) -> str:
        if token not in self.cache:
            self.cache[token] = token_text(self.tokenizer, token) if self.tokenizer is not None else f"[{token}]"
        return self.cache[token]
