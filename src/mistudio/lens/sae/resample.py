"""Dead-latent resampling (Bricken et al. 2023, "Towards Monosemanticity", the training appendix).

Every `resample_every` steps, each latent that has not fired for the dead window is given a new start where the
SAE does worst: a token of the current batch is drawn with probability proportional to its squared reconstruction
loss; the latent's decoder row becomes that token's (centred) target direction at unit norm (or the mean alive
norm when decoder norms live in the loss), its encoder column the same input direction at 0.2 × the mean alive
encoder-column norm, its encoder bias 0; the optimizer's moments for those entries are zeroed so stale momentum
does not pull them back. AuxK (the k architectures) keeps dead latents learning all the time instead; the two can be
combined.

Deterministic: the draw uses a generator seeded by (seed, step), so a resumed run resamples exactly as an
uninterrupted one (the batch of step n is the same batch).
"""

from __future__ import annotations

import torch

from mistudio.lens.sae.architectures import SparseAutoencoder

ENCODER_NORM_FACTOR = 0.2  # the paper's scale of a resampled encoder column, relative to the alive ones
_LATENT_VECTORS = ("b_enc", "b_gate", "b_mag", "r_mag")  # per-latent parameters restarted at 0 (JumpReLU's threshold
# is kept: it is where the latent will fire, not something it has learnt about a direction)


@torch.no_grad()
def resample_dead_latents(sae: SparseAutoencoder, optimizer: torch.optim.Optimizer | None, dead: torch.Tensor,
                          x: torch.Tensor, target: torch.Tensor, *, seed: int) -> int:
    """Re-initialise the `dead` latents ([d_sae] bool) from the inputs `x` (and targets) the SAE reconstructs worst,
    in the scaled space the SAE trains in. Returns how many latents were resampled."""
    dead_indices = dead.nonzero().squeeze(1)
    count = int(dead_indices.numel())
    if count == 0:
        return 0
    reconstruction = _reconstruct(sae, x)
    weights = (reconstruction - target).pow(2).sum(dim=-1).pow(2)  # squared loss per token
    if not bool(torch.isfinite(weights).all()) or float(weights.sum()) <= 0:
        weights = torch.ones_like(weights)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    chosen = torch.multinomial(weights.float().cpu(), count, replacement=count > weights.numel(),
                               generator=generator).to(x.device)
    encoder_input = sae.encoder_input(x[chosen]) if sae.config.subtracts_b_dec else x[chosen]
    decoder_direction = target[chosen] - sae.b_dec  # b_dec is the output's bias: the latent adds what is left
    alive = ~dead
    encoder_norm = _mean_norm(sae.W_enc.norm(dim=0), alive)
    decoder_norm = 1.0 if sae.config.decoder_norm == "unit" else _mean_norm(sae.W_dec.norm(dim=1), alive)
    sae.W_dec[dead_indices] = _unit(decoder_direction) * decoder_norm
    sae.W_enc[:, dead_indices] = (_unit(encoder_input) * encoder_norm * ENCODER_NORM_FACTOR).t()
    for name in _LATENT_VECTORS:
        if hasattr(sae, name):
            getattr(sae, name)[dead_indices] = 0.0
    if optimizer is not None:
        _reset_moments(sae, optimizer, dead_indices)
    return count


def _reconstruct(sae: SparseAutoencoder, scaled: torch.Tensor) -> torch.Tensor:
    """The reconstruction in the scaled space (encode/decode take raw activations, so undo and redo the scales)."""
    raw = scaled / sae.config.input_scale
    return sae.decode(sae.encode(raw)) * sae.config.output_scale


def _unit(rows: torch.Tensor) -> torch.Tensor:
    return rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-8)


def _mean_norm(norms: torch.Tensor, alive: torch.Tensor) -> float:
    # with no alive latent left there is nothing to match: keep the scale of a fresh unit row
    return float(norms[alive].mean()) if bool(alive.any()) else 1.0


def _reset_moments(sae: SparseAutoencoder, optimizer: torch.optim.Optimizer, latents: torch.Tensor) -> None:
    """Zero Adam's moments of the resampled latents' entries (the step counter is shared and left alone)."""
    where = {"W_enc": (slice(None), latents), "W_dec": (latents,)}
    where.update({name: (latents,) for name in _LATENT_VECTORS})
    for name, parameter in sae.named_parameters():
        if name not in where:
            continue
        for moment in ("exp_avg", "exp_avg_sq"):
            state = optimizer.state.get(parameter, {})
            if moment in state:
                state[moment][where[name]] = 0.0
