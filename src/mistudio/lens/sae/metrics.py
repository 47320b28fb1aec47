"""The numbers a user watches: reconstruction quality (MSE, FVU) and sparsity (L0, dead and dense latents).

FVU is the fraction of variance unexplained, Σ‖x − x̂‖² / Σ‖x − x̄‖² over the batch's tokens (x̄ the batch mean):
1 − FVU is the explained variance. MSE is Σ over dimensions, mean over tokens, in the raw activations' scale.
"""

from __future__ import annotations

import torch

Metrics = dict[str, float]


@torch.no_grad()
def reconstruction_metrics(reconstruction: torch.Tensor, target: torch.Tensor, active: int) -> Metrics:
    """MSE, FVU, explained variance and L0 (mean active latents per token) of one batch."""
    reconstruction, target = reconstruction.float(), target.float()
    error = (reconstruction - target).pow(2).sum()
    variance = (target - target.mean(dim=0)).pow(2).sum()
    tokens = max(target.shape[0], 1)
    fvu = float(error / variance) if float(variance) > 0 else float("nan")
    return {"mse": float(error) / tokens, "fvu": fvu, "explained_variance": 1.0 - fvu, "l0": active / tokens}


class LatentActivity:
    """Per latent: tokens since it last fired (dead = silent for `window` tokens) and firings since the last read."""

    def __init__(self, width: int, window: int, device: str | torch.device = "cpu") -> None:
        self.window = window
        self.since_fired = torch.zeros(width, dtype=torch.long, device=device)
        self.fired = torch.zeros(width, dtype=torch.long, device=device)
        self.tokens = 0

    def update(self, fired: torch.Tensor, tokens: int) -> None:
        self.since_fired += tokens
        self.since_fired[fired > 0] = 0
        self.fired += fired.to(self.fired.dtype)
        self.tokens += tokens

    def dead(self) -> torch.Tensor:
        return self.since_fired >= self.window

    def fractions(self, dense_threshold: float) -> Metrics:
        """Dead and dense fractions; dense counts the firings since the previous call, which it resets."""
        frequency = self.fired.float() / max(self.tokens, 1)
        values = {"dead_fraction": float(self.dead().float().mean()),
                  "dense_fraction": float((frequency > dense_threshold).float().mean())}
        self.fired.zero_()
        self.tokens = 0
        return values

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"since_fired": self.since_fired.clone(), "fired": self.fired.clone(),
                "tokens": torch.tensor(self.tokens)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.since_fired.copy_(state["since_fired"])
        self.fired.copy_(state["fired"])
        self.tokens = int(state["tokens"])


def log10_density(frequency: torch.Tensor, floor: float = 1e-10) -> torch.Tensor:
    """log10 of each latent's firing frequency, dead ones at log10(floor) — the feature density histogram's x."""
    return frequency.float().clamp_min(floor).log10()
