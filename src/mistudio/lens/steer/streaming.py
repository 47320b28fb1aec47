"""Token-by-token streaming of one or several runs that share a `generate` batch, one event per row and token."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers.generation.streamers import BaseStreamer


@dataclass(frozen=True)
class TokenEvent:
    """One generated token: `text` is what it adds to the decoded output ("" while a character is incomplete)."""

    run: str
    index: int
    token_id: int
    text: str


@dataclass
class _Row:
    run: str
    ids: list[int] = field(default_factory=list)
    sent: str = ""
    done: bool = False


class RowStreamer(BaseStreamer):
    """Hands each row's new token to `on_token` (`generate` calls `put` with the prompt first, then once per step).

    A row stops streaming after its end-of-sequence token (`generate` pads it from then on). The text is decoded
    from all of a row's ids each step and the new part sent, so a token that is part of a character (byte-level
    BPE) sends "" and the one completing it sends the whole character, never a replacement mark."""

    def __init__(self, tokenizer: Any, runs: Sequence[str], on_token: Callable[[TokenEvent], None] | None,
                 eos_ids: set[int]) -> None:
        self.tokenizer, self.on_token, self.eos_ids = tokenizer, on_token, eos_ids
        self.rows = [_Row(run) for run in runs]
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        for row, tokens in zip(self.rows, value.reshape(len(self.rows), -1).tolist(), strict=True):
            for token in tokens:
                if row.done:
                    break
                row.ids.append(int(token))
                text = self.tokenizer.decode(row.ids, skip_special_tokens=True)
                new = "" if text.endswith("\ufffd") else text[len(row.sent):]  # decoding more ids only appends
                row.sent += new
                row.done = int(token) in self.eos_ids
                self._emit(row, new)

    def end(self) -> None:
        for row in self.rows:
            text = self.tokenizer.decode(row.ids, skip_special_tokens=True)
            if text != row.sent and row.ids:  # an incomplete character at the very end: flush what decodes
                self._emit(row, text[len(row.sent):])
            row.sent = text

    def _emit(self, row: _Row, text: str) -> None:
        if self.on_token is not None:
            self.on_token(TokenEvent(row.run, len(row.ids) - 1, row.ids[-1], text))

    def text(self, row: int) -> str:
        return self.rows[row].sent
