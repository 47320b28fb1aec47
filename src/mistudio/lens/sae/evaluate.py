"""An SAE judged inside its model: the next-token loss with the SAE's reconstruction spliced in.

Three forward passes over the same held-out sequences, through the read/write hooks (`lens.hooks.Hooks`):
clean; with the hook point's activation replaced by the SAE's reconstruction (a transcoder's output replaces its
target point, computed from its input point in the same pass); and with it replaced by zeros. Then
- CE loss recovered = (CE_zero − CE_sae) / (CE_zero − CE_clean): 1 is as good as the model, 0 as bad as deleting
  the activation;
- KL = mean over real positions of KL(p_clean ‖ p_sae) of the next-token distributions.
Only real next-token targets count (padding and the last position of each sequence are left out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hooks import Hooks
from mistudio.lens.sae.architectures import SparseAutoencoder


@dataclass(frozen=True)
class SplicedEvaluation:
    ce_clean: float
    ce_sae: float
    ce_zero: float
    ce_recovered: float
    kl: float
    tokens: int

    def as_dict(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}


def _replacements(sae: SparseAutoencoder) -> tuple[dict[str, Callable[..., Any]], dict[str, Callable[..., Any]]]:
    """Hook functions for the SAE pass and the zero pass."""
    config = sae.config
    source = config.hook_point
    target = config.target_hook_point or source
    if source is None:
        raise InvalidArgument("the SAE does not say which hook point it reads (config.hook_point); set it to "
                              "evaluate it inside the model", details={"field": "hook_point"})
    if source == target:
        def splice(activation: torch.Tensor, context: Any) -> torch.Tensor:
            return sae(activation.float()).to(activation.dtype)

        sae_hooks: dict[str, Callable[..., Any]] = {source: splice}
    else:
        seen: dict[str, torch.Tensor] = {}

        def remember(activation: torch.Tensor, context: Any) -> None:
            seen["input"] = activation

        def transcode(activation: torch.Tensor, context: Any) -> torch.Tensor:
            return sae(seen.pop("input").float()).to(activation.dtype)

        sae_hooks = {source: remember, target: transcode}
    return sae_hooks, {target: lambda activation, context: torch.zeros_like(activation)}


def _losses(logits: torch.Tensor, input_ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-position next-token CE and log-probabilities, over the positions that have a real next token."""
    log_probs = F.log_softmax(logits[:, :-1].float(), dim=-1)
    targets = input_ids[:, 1:]
    valid = (mask[:, 1:] * mask[:, :-1]).bool()
    ce = -log_probs.gather(-1, targets[..., None]).squeeze(-1)
    return ce[valid], log_probs[valid]


@torch.no_grad()
def evaluate_spliced(model: torch.nn.Module, sae: SparseAutoencoder, input_ids: torch.Tensor,
                     attention_mask: torch.Tensor | None = None, *, batch_size: int = 8,
                     should_stop: Callable[[], bool] | None = None) -> SplicedEvaluation:
    """CE clean / with the SAE / zero-ablated, CE recovered and KL over `input_ids` [sequences, seq_len]."""
    if input_ids.dim() != 2 or input_ids.shape[1] < 2:
        raise InvalidArgument("evaluation needs sequences of at least 2 tokens", details={"field": "input_ids"})
    mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
    sae_hooks, zero_hooks = _replacements(sae)
    device = model.get_input_embeddings().weight.device
    sae_device = sae.W_enc.device
    sums = {"clean": 0.0, "sae": 0.0, "zero": 0.0, "kl": 0.0}
    tokens = 0
    for start in range(0, input_ids.shape[0], batch_size):
        if should_stop is not None and should_stop():
            break
        ids = input_ids[start:start + batch_size].to(device)
        batch_mask = mask[start:start + batch_size].to(device)
        inputs = {"input_ids": ids, "attention_mask": batch_mask}
        clean_ce, clean_log_probs = _losses(model(**inputs).logits, ids, batch_mask)
        with Hooks(model, _on_device(sae_hooks, sae_device)) as hooks:
            sae_ce, sae_log_probs = _losses(hooks.run(**inputs).logits, ids, batch_mask)
        with Hooks(model, zero_hooks) as hooks:
            zero_ce, _ = _losses(hooks.run(**inputs).logits, ids, batch_mask)
        kl = (clean_log_probs.exp() * (clean_log_probs - sae_log_probs)).sum(dim=-1)
        sums["clean"] += float(clean_ce.sum())
        sums["sae"] += float(sae_ce.sum())
        sums["zero"] += float(zero_ce.sum())
        sums["kl"] += float(kl.sum())
        tokens += int(clean_ce.numel())
    if tokens == 0:
        raise InvalidArgument("no held-out tokens to evaluate on", details={"field": "input_ids"})
    clean, with_sae, zero = (sums[name] / tokens for name in ("clean", "sae", "zero"))
    gap = zero - clean
    recovered = (zero - with_sae) / gap if abs(gap) > 1e-12 else float("nan")
    return SplicedEvaluation(clean, with_sae, zero, recovered, sums["kl"] / tokens, tokens)


def _on_device(hooks: dict[str, Callable[..., Any]], device: torch.device) -> dict[str, Callable[..., Any]]:
    """Hook functions that move the activation to the SAE's device and the result back."""
    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        def moved(activation: torch.Tensor, context: Any) -> torch.Tensor | None:
            result = function(activation.to(device), context)
            return None if result is None else result.to(activation.device)

        return moved

    return {point: wrap(function) for point, function in hooks.items()}


@torch.no_grad()
def firing_frequency(sae: SparseAutoencoder, x: torch.Tensor, batch_tokens: int = 8192) -> torch.Tensor:
    """The fraction of the tokens of `x` [tokens, d_in] each latent is active on: [d_sae]."""
    counts = torch.zeros(sae.width, dtype=torch.long, device=sae.W_enc.device)
    for start in range(0, x.shape[0], batch_tokens):
        counts += (sae.encode(x[start:start + batch_tokens].to(sae.W_enc.device)) > 0).sum(dim=0)
    return counts.double() / max(x.shape[0], 1)
