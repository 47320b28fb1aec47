"""Ablation effect of a latent on its examples: the change in next-token loss when the latent is zeroed.

For each example (latent i, sequence, peak position) the sequence runs twice: clean, and with a write hook at the
SAE's hook point replacing the activation x by x − a_i(x) · W_dec[i] / output_scale, on every position. That is
the SAE's reconstruction with latent i zeroed plus the SAE's error term x − SAE(x), which is kept, so only latent
i's contribution leaves the model (nothing else of the reconstruction error is introduced). For a transcoder a_i
is read at its input point and the contribution taken off its target point, in the same pass. Where the latent is
silent the activation is left bit for bit unchanged.

The loss at window position p is the cross-entropy of the token at p + 1; Δ = ablated − clean, so a positive Δ
means the latent helped predict that token. Cost: two forward passes per example, `batch_size` examples at a time
(each row of a batch may ablate a different latent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features.encoding import check_width, hook_point_of, to_tensor
from mistudio.lens.features.result import Examples, read_rows
from mistudio.lens.hooks import HookContext, Hooks
from mistudio.lens.sae.architectures import SparseAutoencoder


@dataclass
class AblationEffects:
    """One row per example: `loss` and `delta_loss` [n, window] at each window position (NaN where there is no
    next token), aligned with the window columns of the examples (the peak at column `context`)."""

    latent: np.ndarray
    sequence: np.ndarray
    position: np.ndarray
    loss: np.ndarray
    delta_loss: np.ndarray
    context: int

    @property
    def peak_delta(self) -> np.ndarray:
        """Δ loss of the token right after each peak."""
        return self.delta_loss[:, self.context]

    def mean_peak_delta(self, width: int) -> np.ndarray:
        """Per latent, the mean of `peak_delta` over its examples that have one; NaN for the others."""
        usable = ~np.isnan(self.peak_delta)
        totals = np.bincount(self.latent[usable], weights=self.peak_delta[usable], minlength=width)
        counts = np.bincount(self.latent[usable], minlength=width)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, totals / counts, np.nan)


def _ablating_hooks(sae: SparseAutoencoder, latents: torch.Tensor) -> dict[str, Callable[..., Any]]:
    """Write hooks that take latent `latents[b]`'s decoded contribution off row b's activation."""
    source = hook_point_of(sae)
    target = sae.config.target_hook_point or source
    device = sae.W_enc.device
    directions = sae.W_dec.detach()[latents.to(device)] / sae.config.output_scale  # [batch, d_out]
    coefficients: dict[str, torch.Tensor] = {}

    def read(activation: torch.Tensor, context: HookContext) -> None:
        check_width(activation, sae, source)
        codes = sae.encode(activation.to(device))
        index = latents.to(device)[:, None, None].expand(-1, codes.shape[1], 1)
        coefficients["a"] = codes.gather(-1, index)  # [batch, seq, 1]

    def subtract(activation: torch.Tensor, context: HookContext) -> torch.Tensor:
        if source == target:
            read(activation, context)
        change = coefficients.pop("a") * directions[:, None, :]
        return activation - change.to(activation.device, activation.dtype)

    return {target: subtract} if source == target else {source: read, target: subtract}


def _window_losses(logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, position: torch.Tensor,
                   context: int) -> torch.Tensor:
    """Next-token cross-entropy [batch, window] at positions peak − context … peak + context; NaN where none."""
    length = ids.shape[1]
    where = position[:, None] + torch.arange(-context, context + 1)
    valid = (where >= 0) & (where < length - 1)
    at, following = where.clamp(0, length - 2), (where + 1).clamp(0, length - 1)
    valid &= mask.gather(1, at).bool() & mask.gather(1, following).bool()
    picked = logits.float().gather(1, at[..., None].expand(-1, -1, logits.shape[-1]).to(logits.device))
    loss = F.cross_entropy(picked.transpose(1, 2), ids.gather(1, following).to(logits.device), reduction="none")
    return torch.where(valid.to(loss.device), loss, torch.full_like(loss, float("nan"))).cpu()


@torch.no_grad()
def ablation_effects(model: torch.nn.Module, sae: SparseAutoencoder, input_ids: Any, examples: Examples, *,
                     attention_mask: Any = None, batch_size: int = 8,
                     on_progress: Callable[[int, int], None] | None = None,
                     should_stop: Callable[[], bool] | None = None) -> AblationEffects:
    """Δ next-token loss around each example's peak when its latent is zeroed (see the module docstring).

    `examples` are rows of an analysis of the same `input_ids` (e.g. `result.examples.of(i)`); their window width
    sets the positions scored. `on_progress(done, total)` after each batch; `should_stop()` before each one
    (the effects of the examples done so far are returned)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgument(f"batch_size must be a positive integer; got {batch_size!r}",
                              details={"field": "batch_size"})
    if len(examples) and int(examples.latent.max()) >= sae.width:
        raise InvalidArgument(f"latent {int(examples.latent.max())} is out of range: the SAE has {sae.width} "
                              "latents", details={"field": "latent"})
    context = (examples.tokens.shape[1] - 1) // 2
    hook_point_of(sae)  # an SAE that does not say where it reads is refused before any forward pass
    device = model.get_input_embeddings().weight.device
    losses, deltas, done = [], [], 0
    for start in range(0, len(examples), batch_size):
        if should_stop is not None and should_stop():
            break
        rows = slice(start, start + batch_size)
        sequence = examples.sequence[rows]
        ids = to_tensor(read_rows(input_ids, sequence))
        mask = torch.ones_like(ids) if attention_mask is None else to_tensor(read_rows(attention_mask, sequence))
        inputs = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
        position = torch.as_tensor(examples.position[rows], dtype=torch.int64)
        clean = _window_losses(model(**inputs).logits, ids, mask, position, context)
        latents = torch.as_tensor(examples.latent[rows], dtype=torch.int64)
        with Hooks(model, _ablating_hooks(sae, latents)) as hooks:
            ablated = _window_losses(hooks.run(**inputs).logits, ids, mask, position, context)
        losses.append(clean)
        deltas.append(ablated - clean)
        done = min(start + batch_size, len(examples))
        if on_progress is not None:
            on_progress(done, len(examples))
    window = 2 * context + 1
    loss = torch.cat(losses).numpy() if losses else np.zeros((0, window), dtype=np.float32)
    delta = torch.cat(deltas).numpy() if deltas else np.zeros((0, window), dtype=np.float32)
    return AblationEffects(examples.latent[:done], examples.sequence[:done], examples.position[:done], loss, delta,
                           context)
