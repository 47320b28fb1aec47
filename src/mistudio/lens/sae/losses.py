"""How each architecture is trained: one function per family, each returning the loss and its parts.

Losses use SAELens' scale: the squared error summed over the output dimensions and averaged over tokens, on
inputs scaled to mean norm √d. The k-chosen families (topk, batchtopk, matryoshka) run on the sparse kernels
(`lens.sae.kernels`); TopK picks its latents with `lens.sae.preselect` (the exact fp32 top-k, bf16-preselected where
the CPU allows); the others compute densely.
- standard: mse + l1 · Σ_j |f_j|·‖W_dec_j‖ (decoder norms only when the decoder is not kept at unit norm)
- topk / batchtopk: mse + aux · AuxK, where AuxK reconstructs the residual error from the top `k_aux` latents
  among those dead for a while (Gao et al. 2024), normalised by the error's variance and scaled down when
  fewer than k_aux latents are dead
- matryoshka: the mean over prefixes of each prefix's mse (the prefix's latents alone, plus b_dec) + AuxK
- jumprelu: mse + l0 · Σ_j H(pre_j − θ_j), the threshold learnt through a straight-through estimator with a
  rectangle kernel of width `jumprelu_bandwidth` (Rajamanoharan et al. 2024)
- gated: mse + l1 · Σ_j ReLU(gate_j)·‖W_dec_j‖ + the auxiliary mse of the gate path through a frozen decoder
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.kernels import (
    Pattern,
    batch_topk_pattern,
    selected_preactivations,
    sparse_decode,
    topk_pattern,
)
from mistudio.lens.sae.preselect import encoder_topk
from mistudio.lens.threads import one_thread

# BatchTopK's inference threshold follows the smallest value its batch rule kept, as a running average.
THRESHOLD_MOMENTUM = 0.01
# Below this fraction of active (token, latent) entries the sparse kernels beat dense products (measured on CPU:
# at 1/16 the sparse step costs about what the dense one does).
SPARSE_DENSITY = 1 / 16


@dataclass
class StepInput:
    x: torch.Tensor  # [tokens, d_in], already scaled
    target: torch.Tensor  # [tokens, d_out], already scaled (x itself for an SAE)
    sparsity_coefficient: float = 0.0  # l1 (standard, gated) or l0 (jumprelu) at this step
    aux_coefficient: float = 1 / 32
    dead: torch.Tensor | None = None  # [d_sae] bool: latents that have not fired for the dead window
    compute_dtype: torch.dtype = torch.float32


@dataclass
class StepOutput:
    loss: torch.Tensor
    parts: dict[str, float]
    reconstruction: torch.Tensor  # detached, scaled
    fired: torch.Tensor  # [d_sae] how many tokens each latent was active on
    active: int  # total active (token, latent) entries: L0 × tokens
    extra: dict[str, float] = field(default_factory=dict)
    lr: float = 0.0  # set by the training loop: the lr this step used


def _dense_pre(sae: SparseAutoencoder, step: StepInput) -> tuple[torch.Tensor, torch.Tensor | None]:
    """x·W_enc + (b_enc − b_dec·W_enc) without autograd, in the compute dtype; and b_dec when it was taken off."""
    with torch.no_grad():
        b_dec = sae.b_dec if sae.config.subtracts_b_dec else None
        bias = sae.b_enc if b_dec is None else sae.b_enc - b_dec @ sae.W_enc
        dtype = step.compute_dtype
        if dtype == sae.W_enc.dtype:
            pre = torch.addmm(bias, step.x, sae.W_enc)
        else:
            pre = torch.addmm(bias.to(dtype), step.x.to(dtype), sae.W_enc.to(dtype)).to(sae.W_enc.dtype)
    return pre, b_dec


def _mse(reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (reconstruction - target).pow(2).sum(dim=-1).mean()


def _sparse_codes(sae: SparseAutoencoder, step: StepInput, pre: torch.Tensor | None, b_dec: torch.Tensor | None,
                  pattern: Pattern, chosen: torch.Tensor) -> torch.Tensor:
    values = selected_preactivations(chosen, step.x, sae.W_enc, sae.b_enc, b_dec, pattern)
    return values.relu()


def _auxk(sae: SparseAutoencoder, step: StepInput, pre: torch.Tensor | None, b_dec: torch.Tensor | None,
          reconstruction: torch.Tensor) -> torch.Tensor | None:
    """AuxK; `pre` None (TopK's encoder step keeps no dense pre-activations): the dead columns' are computed."""
    dead = step.dead
    if dead is None or step.aux_coefficient <= 0:
        return None
    n_dead = int(dead.sum())
    if n_dead == 0:
        return None
    k_aux = min(max(sae.config.d_out // 2, 1), n_dead)
    # top-k among the dead columns only: a [tokens, n_dead] product or copy, usually far smaller than all of pre
    dead_columns = dead.nonzero().squeeze(1)
    if pre is None:
        with torch.no_grad():
            encoder_input = step.x - b_dec if b_dec is not None else step.x
            dead_pre = torch.addmm(sae.b_enc[dead_columns], encoder_input, sae.W_enc[:, dead_columns])
    else:
        dead_pre = pre.index_select(1, dead_columns)
    chosen_among, slots = dead_pre.topk(k_aux, dim=1, sorted=False)
    pattern = Pattern.fixed(dead_columns[slots], sae.width)
    chosen = chosen_among.reshape(-1)
    values = _sparse_codes(sae, step, pre, b_dec, pattern, chosen)
    error = (step.target - reconstruction).detach()
    predicted = sparse_decode(values, sae.W_dec, pattern)
    variance = (error - error.mean(dim=0)).pow(2).sum().clamp_min(1e-12)
    scale = min(n_dead / max(sae.config.d_out // 2, 1), 1.0)
    return scale * (predicted - error).pow(2).sum() / variance


def k_loss(sae: SparseAutoencoder, step: StepInput) -> StepOutput:
    """TopK, BatchTopK and Matryoshka BatchTopK on the sparse kernels."""
    config = sae.config
    pre: torch.Tensor | None
    if config.architecture == "topk" and step.compute_dtype == sae.W_enc.dtype:
        # exact fp32 top-k without a dense [tokens × width] matrix (bf16-preselected where the CPU allows)
        b_dec = sae.b_dec if config.subtracts_b_dec else None
        chosen_topk = encoder_topk(step.x, sae.W_enc, sae.b_enc, b_dec, config.k)
        pre, pattern, chosen = None, chosen_topk.pattern, chosen_topk.values
    else:
        pre, b_dec = _dense_pre(sae, step)
        if config.architecture == "topk":
            pattern, chosen = topk_pattern(pre, config.k)
        else:
            pattern, chosen = batch_topk_pattern(pre, config.k)
    with one_thread(step.x.device):  # ops on the chosen entries alone: small (lens.threads)
        values = _sparse_codes(sae, step, pre, b_dec, pattern, chosen)
    parts: dict[str, torch.Tensor] = {}
    if config.architecture == "matryoshka":
        reconstruction, parts["mse"] = _matryoshka(sae, step, values, pattern)
    else:
        reconstruction = sparse_decode(values, sae.W_dec, pattern) + sae.b_dec
        parts["mse"] = _mse(reconstruction, step.target)
    loss = parts["mse"]
    aux = _auxk(sae, step, pre, b_dec, reconstruction)
    if aux is not None:
        parts["auxk"] = aux
        loss = loss + step.aux_coefficient * aux
    extra = {}
    if config.architecture != "topk":
        with torch.no_grad():
            kept = values[values > 0]
            if kept.numel():
                sae.threshold.lerp_(kept.min(), THRESHOLD_MOMENTUM)
        extra["threshold"] = float(sae.threshold)
    with one_thread(step.x.device):
        fired, active = pattern.counts(), int((values > 0).sum())
    return StepOutput(loss, {name: float(value.detach()) for name, value in parts.items()}, reconstruction.detach(),
                      fired, active, extra)


def _matryoshka(sae: SparseAutoencoder, step: StepInput, values: torch.Tensor,
                pattern: Pattern) -> tuple[torch.Tensor, torch.Tensor]:
    """Each prefix's reconstruction is the previous one plus its own group of latents: one decode in all."""
    prefixes = sae.config.matryoshka_prefixes or [sae.config.d_sae]
    reconstruction = sae.b_dec.expand_as(step.target)
    losses, start = [], 0
    for end in prefixes:
        in_group = (pattern.indices >= start) & (pattern.indices < end)
        reconstruction = reconstruction + sparse_decode(values * in_group, sae.W_dec, pattern)
        losses.append(_mse(reconstruction, step.target))
        start = end
    return reconstruction, torch.stack(losses).mean()


def _dense_output(parts: dict[str, torch.Tensor], loss: torch.Tensor, latents: torch.Tensor,
                  reconstruction: torch.Tensor) -> StepOutput:
    active = latents > 0
    return StepOutput(loss, {name: float(value.detach()) for name, value in parts.items()}, reconstruction.detach(),
                      active.sum(dim=0), int(active.sum()))


def standard_loss(sae: SparseAutoencoder, step: StepInput) -> StepOutput:
    """ReLU + L1. Once few latents are active (after the L1 warm-up), the same loss on the sparse kernels: the
    gradient of a ReLU latent is zero wherever it is inactive, so only the active entries carry any."""
    pre = sae.pre_activations(step.x)  # one encoder product, whichever path follows
    active = pre.detach() > 0
    if int(active.sum()) > SPARSE_DENSITY * pre.numel():
        latents = pre.relu()
        reconstruction = latents @ sae.W_dec + sae.b_dec
        weights = sae.W_dec.norm(dim=1) if sae.config.decoder_norm == "in_loss" else 1.0
        l1 = (latents * weights).sum(dim=-1).mean()
        mse = _mse(reconstruction, step.target)
        return _dense_output({"mse": mse, "l1": l1}, mse + step.sparsity_coefficient * l1, latents, reconstruction)
    pattern = Pattern.from_mask(active)
    b_dec = sae.b_dec if sae.config.subtracts_b_dec else None
    values = selected_preactivations(pre.detach()[active], step.x, sae.W_enc, sae.b_enc, b_dec, pattern)
    reconstruction = sparse_decode(values, sae.W_dec, pattern) + sae.b_dec
    mse = _mse(reconstruction, step.target)
    weighted = values * sae.W_dec.norm(dim=1)[pattern.indices] if sae.config.decoder_norm == "in_loss" else values
    l1 = weighted.sum() / step.x.shape[0]
    loss = mse + step.sparsity_coefficient * l1
    return StepOutput(loss, {"mse": float(mse.detach()), "l1": float(l1.detach())}, reconstruction.detach(),
                      pattern.counts(), pattern.nnz)


class _Step(torch.autograd.Function):
    """H(pre − θ) with the straight-through rectangle-kernel gradient to θ (none to pre)."""

    @staticmethod
    def forward(ctx, pre: torch.Tensor, threshold: torch.Tensor, bandwidth: float) -> torch.Tensor:
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return (pre > threshold).to(pre.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        pre, threshold = ctx.saved_tensors
        kernel = ((pre - threshold).abs() < ctx.bandwidth / 2).to(pre.dtype)
        return None, (-(1.0 / ctx.bandwidth) * kernel * grad).sum(dim=0), None


class _JumpReLU(torch.autograd.Function):
    """pre · H(pre − θ): the true gradient to pre, the straight-through one to θ."""

    @staticmethod
    def forward(ctx, pre: torch.Tensor, threshold: torch.Tensor, bandwidth: float) -> torch.Tensor:
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return pre * (pre > threshold)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        pre, threshold = ctx.saved_tensors
        kernel = ((pre - threshold).abs() < ctx.bandwidth / 2).to(pre.dtype)
        grad_threshold = (-(threshold / ctx.bandwidth) * kernel * grad).sum(dim=0)
        return (pre > threshold) * grad, grad_threshold, None


def jumprelu_loss(sae: SparseAutoencoder, step: StepInput) -> StepOutput:
    pre = sae.pre_activations(step.x)
    threshold = sae.threshold
    bandwidth = sae.config.jumprelu_bandwidth
    latents = _JumpReLU.apply(pre, threshold, bandwidth)
    reconstruction = latents @ sae.W_dec + sae.b_dec
    mse = _mse(reconstruction, step.target)
    l0 = _Step.apply(pre, threshold, bandwidth).sum(dim=-1).mean()
    loss = mse + step.sparsity_coefficient * l0
    return _dense_output({"mse": mse, "l0_penalty": l0}, loss, latents, reconstruction)


def gated_loss(sae: SparseAutoencoder, step: StepInput) -> StepOutput:
    gate = sae.pre_activations(step.x)
    encoder_input = sae.encoder_input(step.x)
    magnitude = encoder_input @ (sae.W_enc * sae.r_mag.exp()) + sae.b_mag
    latents = magnitude.relu() * (gate > 0)
    reconstruction = latents @ sae.W_dec + sae.b_dec
    mse = _mse(reconstruction, step.target)
    gate_active = gate.relu()
    weights = sae.W_dec.norm(dim=1) if sae.config.decoder_norm == "in_loss" else 1.0
    l1 = (gate_active * weights).sum(dim=-1).mean()
    auxiliary = _mse(gate_active @ sae.W_dec.detach() + sae.b_dec.detach(), step.target)
    loss = mse + step.sparsity_coefficient * l1 + auxiliary
    return _dense_output({"mse": mse, "l1": l1, "gate_aux": auxiliary}, loss, latents, reconstruction)


LOSSES = {"standard": standard_loss, "topk": k_loss, "batchtopk": k_loss, "matryoshka": k_loss,
          "jumprelu": jumprelu_loss, "gated": gated_loss}


def training_step(sae: SparseAutoencoder, step: StepInput) -> StepOutput:
    """The loss of one batch for `sae`'s architecture (call `.loss.backward()` on it)."""
    return LOSSES[sae.config.architecture](sae, step)
