"""How a run starts: the input scale that makes activations' mean norm √d, and the decoder bias's first value."""

from __future__ import annotations

import math

import torch


def input_scale(x: torch.Tensor) -> float:
    """The factor that brings the mean norm of `x` [tokens, d] to √d (SAELens' "expected_average_only_in")."""
    mean_norm = float(x.norm(dim=1).mean())
    if not math.isfinite(mean_norm) or mean_norm <= 0:
        return 1.0
    return math.sqrt(x.shape[1]) / mean_norm


@torch.no_grad()
def geometric_median(points: torch.Tensor, iterations: int = 100, tolerance: float = 1e-6) -> torch.Tensor:
    """The point minimising the summed distance to `points` [n, d] (Weiszfeld's iterations, from the mean)."""
    points = points.float()
    median = points.mean(dim=0)
    for _ in range(iterations):
        distances = (points - median).norm(dim=1).clamp_min(1e-8)
        weights = 1.0 / distances
        updated = (weights[:, None] * points).sum(dim=0) / weights.sum()
        moved = float((updated - median).norm())
        median = updated
        if moved <= tolerance * max(1.0, float(median.norm())):
            break
    return median
