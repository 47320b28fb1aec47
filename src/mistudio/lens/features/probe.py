"""Your own text through a model and an SAE: a latent's activation on every token, and the SAE's top latents on it.

The prompt-centric view of a feature analysis: the same read hook and encoder the analysis uses
(`encoding.LatentEncoder`), on one sequence tokenized as plain text (with the tokenizer's special tokens, as a
tokenization for analysis is), so a value here is the value the analysis would have seen at that position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from mistudio.lens.features.encoding import LatentEncoder, counted_positions
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.steer.prompts import context_length
from mistudio.lens.steer.validation import invalid


@dataclass(frozen=True)
class TextProbe:
    """Per-token and per-latent answers for one text.

    `top_*`: the latents that fire on the text, ranked by their max activation over the counted tokens (the
    analysis' ignored tokens, e.g. BOS, left out), highest first, with the sum over those tokens and where the max
    is; a latent that never fires there is not listed."""

    token_ids: list[int]
    counted: list[bool]
    latent: int | None  # the latent asked for, else the top latent (None when nothing fires)
    activations: list[float] | None  # that latent's activation on each token
    top_latents: list[int]
    top_max: list[float]
    top_sum: list[float]
    top_position: list[int]


def encode_text(tokenizer: Any, model: Any, text: str) -> torch.Tensor:
    """`text` as input ids [1, length]; refused (field `text`) when empty or longer than the model's context."""
    if not isinstance(text, str) or not text.strip():
        raise invalid("text must be non-empty: type the text to see the latents of", "text")
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    limit = context_length(model)
    if limit is not None and ids.shape[1] > limit:
        raise invalid(f"text is {ids.shape[1]:,} tokens but the model attends over at most {limit:,}: shorten it",
                      "text", tokens=int(ids.shape[1]), context_length=limit)
    if ids.shape[1] == 0:
        raise invalid("text encodes to no tokens", "text")
    return ids


@torch.no_grad()
def probe_text(model: torch.nn.Module, tokenizer: Any, sae: SparseAutoencoder, text: str, *,
               latent: int | None = None, top: int = 10, ignore_token_ids: Sequence[int] = ()) -> TextProbe:
    """Encode `text`, run the model to the SAE's hook point and the SAE on it; see `TextProbe`."""
    width = sae.config.d_sae
    if latent is not None and not 0 <= latent < width:
        raise invalid(f"latent {latent} is out of range: this SAE has {width:,} latents (0 to {width - 1:,})",
                      "latent", min=0, max=width - 1)
    if top < 0:
        raise invalid(f"top must be 0 or more; got {top}", "top")
    input_ids = encode_text(tokenizer, model, text)
    latents = LatentEncoder(model, sae, "cpu")(input_ids)[0]  # [tokens, width], float32
    counted = counted_positions(input_ids, None, ignore_token_ids)[0]
    scored = latents.masked_fill(~counted[:, None], 0.0) if counted.any() else latents.new_zeros(latents.shape)
    peak, position = scored.max(dim=0)
    total = scored.sum(dim=0)
    firing = torch.nonzero(peak > 0).flatten()
    order = firing[torch.argsort(peak[firing], descending=True, stable=True)][:top]
    chosen = latent if latent is not None else (int(order[0]) if len(order) else None)
    return TextProbe(token_ids=input_ids[0].tolist(), counted=counted.tolist(), latent=chosen,
                     activations=latents[:, chosen].tolist() if chosen is not None else None,
                     top_latents=order.tolist(), top_max=peak[order].tolist(), top_sum=total[order].tolist(),
                     top_position=position[order].tolist())
