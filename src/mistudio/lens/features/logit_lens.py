"""Logit lens of SAE latents: each decoder direction through the final norm and the unembedding.

How the final norm is handled: each decoder row d_i is scaled to RMS 1 (u = d_i / ‖d_i‖ · √d_model) and passed
through the model's own final norm module f, and f(0) is subtracted; then through the output head, minus the head
at 0. For RMSNorm (any gain form, Gemma's 1 + w included) and LayerNorm this is exactly the norm's linear part —
LayerNorm's centring and the elementwise gain — applied to the direction, times a positive constant: the change
in logits the direction makes on a token whose residual-stream scale is held fixed. The norm's and the head's
biases do not depend on the latent and are left out, and so is a final logit soft-cap (it is monotonic, the
ranking is the same). The reported logits are per unit-RMS direction, so they compare across latents whatever the
decoder norms; the ranking of tokens is the same at any scale. A model without a final norm uses the head alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.layout import layout_of
from mistudio.lens.sae.architectures import SparseAutoencoder


@dataclass
class LogitLens:
    """Per latent the `n` most promoted and most suppressed tokens, strongest first: ids and logit changes
    [width, n]; `suppressed_logits` are negative for a direction that lowers those tokens."""

    promoted_tokens: torch.Tensor
    promoted_logits: torch.Tensor
    suppressed_tokens: torch.Tensor
    suppressed_logits: torch.Tensor


@torch.no_grad()
def direction_logits(model: torch.nn.Module, directions: torch.Tensor) -> torch.Tensor:
    """The logit change [rows, vocab] of each residual-stream direction [rows, d_model] (see the module docstring)."""
    layout = layout_of(model)
    head = model.get_output_embeddings()
    if head is None:
        raise InvalidArgument("the model has no output head (get_output_embeddings() is None): the logit lens needs "
                              "one", details={"field": "model"})
    norm = model.get_submodule(layout.final_norm_path) if layout.final_norm_path else None
    reference = head.weight
    d_model = directions.shape[-1]
    unit = directions.float() / directions.float().norm(dim=-1, keepdim=True).clamp_min(1e-12) * d_model ** 0.5
    # Direction and zero in one batch, so the head runs once; a quantized head computes in its own dtype.
    both = torch.cat([unit, unit.new_zeros(1, d_model)]).to(reference.device, _compute_dtype(model))
    normed = norm(both) if norm is not None else both
    logits = head(normed).float()
    return (logits[:-1] - logits[-1:]).cpu()


def _compute_dtype(model: torch.nn.Module) -> torch.dtype:
    return model.get_input_embeddings().weight.dtype


@torch.no_grad()
def logit_lens(model: torch.nn.Module, sae: SparseAutoencoder, n: int = 10, *, chunk: int | None = None,
               latents: torch.Tensor | None = None) -> LogitLens:
    """Top `n` promoted and suppressed tokens of every latent's decoder direction (or of `latents` only).

    Works `chunk` latents at a time (by default as many as keep chunk × vocabulary logits near 512 MB), so 100k
    latents fit."""
    vocabulary = model.get_output_embeddings().weight.shape[0] if model.get_output_embeddings() is not None else 0
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= max(vocabulary, 1):
        raise InvalidArgument(f"n must be from 1 to the vocabulary size ({vocabulary}); got {n!r}",
                              details={"field": "n"})
    if sae.config.d_out != layout_of(model).d_model:
        raise InvalidArgument(f"the SAE writes vectors of {sae.config.d_out} numbers but the model's residual stream "
                              f"has {layout_of(model).d_model}: it belongs to another model",
                              details={"field": "sae"})
    chunk = chunk or max(1, (1 << 27) // max(vocabulary, 1))
    rows = sae.W_dec.detach() if latents is None else sae.W_dec.detach()[latents]
    parts: dict[str, list[torch.Tensor]] = {"pt": [], "pl": [], "st": [], "sl": []}
    for start in range(0, rows.shape[0], chunk):
        logits = direction_logits(model, rows[start:start + chunk])
        promoted, promoted_ids = logits.topk(n, dim=1)
        suppressed, suppressed_ids = logits.topk(n, dim=1, largest=False)
        for key, value in zip(parts, (promoted_ids, promoted, suppressed_ids, suppressed), strict=True):
            parts[key].append(value)
    return LogitLens(*(torch.cat(parts[key]) for key in parts))
