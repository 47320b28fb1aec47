"""Prompts as token ids (through the chat template when there is one) and the model's context length."""

from __future__ import annotations

from typing import Any

import torch

from mistudio.lens.steer.validation import invalid

# Config attributes that hold how many positions a model can attend over, by family.
_CONTEXT_ATTRIBUTES = ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length")


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def encode_prompt(tokenizer: Any, prompt: str, use_chat_template: bool | None = None) -> torch.Tensor:
    """The prompt as input ids [1, length]: as one user turn of the chat template when the tokenizer has one
    (`use_chat_template=None`), or as plain text; refused when empty."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("prompt must be non-empty text", "prompt")
    if use_chat_template is None:
        use_chat_template = has_chat_template(tokenizer)
    if not use_chat_template:
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
    else:
        if not has_chat_template(tokenizer):
            raise invalid("this model's tokenizer has no chat template; steer without one", "use_chat_template")
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
        # The template writes the special tokens itself (BOS included): the tokenizer must not add a second one.
        ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    if ids.shape[1] == 0:
        raise invalid("the prompt encodes to no tokens", "prompt")
    return ids


def context_length(model: Any) -> int | None:
    """How many positions (prompt + generated) the model can take, from its config; None when it does not say."""
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "get_text_config"):
        config = config.get_text_config()
    for name in _CONTEXT_ATTRIBUTES:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def token_id(tokenizer: Any, token: str | int) -> int:
    """A token the user names, as its id: an int as it is, text as its first token (" cat" and "cat" differ)."""
    vocab_size = len(tokenizer)
    if isinstance(token, int) and not isinstance(token, bool):
        if not 0 <= token < vocab_size:
            raise invalid(f"token id {token} is outside the vocabulary (0..{vocab_size - 1})", "tokens")
        return token
    if not isinstance(token, str) or not token:
        raise invalid(f"a token must be non-empty text or a token id; got {token!r}", "tokens")
    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    if not ids:
        raise invalid(f"{token!r} encodes to no token", "tokens")
    return int(ids[0])
