"""Synthetic activations with a known sparse structure: every token is a few of `features` unit directions."""

from __future__ import annotations

import torch


def sparse_activations(tokens: int = 40_000, d: int = 32, features: int = 256, active: float = 0.02,
                       seed: int = 0, offset: float = 0.5) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(features, d, generator=generator)
    directions /= directions.norm(dim=1, keepdim=True)
    fire = torch.rand(tokens, features, generator=generator) < active
    codes = fire * torch.rand(tokens, features, generator=generator) * 3
    return codes @ directions + offset + 0.01 * torch.randn(tokens, d, generator=generator)
