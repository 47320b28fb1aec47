"""Per-latent running statistics over streamed tokens: firing count, sum, sum of squares, max, log10 histogram.

Everything is a sum or a max over tokens, so a batch's contribution is added and the order of batches only changes
floating-point rounding (sums are float64, counts int64; on a GPU `index_add_` adds in a non-deterministic order,
so there reruns agree to rounding, on a CPU bit for bit). The histogram's bin edges are fixed in advance (they
cannot follow a maximum that is still growing), equal-width in log10(activation); bin b holds
edges[b] <= log10(a) < edges[b + 1], with values below the first edge in bin 0 and above the last in the last bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mistudio.lens.errors import InvalidArgument

STATE_NAMES = ("active", "total", "total_squares", "maximum", "histogram")


@dataclass(frozen=True)
class ActiveEntries:
    """The non-zero latents of a batch of tokens: token index, latent index and float32 value, sorted by token."""

    token: torch.Tensor
    latent: torch.Tensor
    value: torch.Tensor

    @classmethod
    def of(cls, latents: torch.Tensor) -> ActiveEntries:
        """From dense latents [tokens, width] (one scan, shared by every accumulator of the batch)."""
        token, latent = (latents > 0).nonzero(as_tuple=True)
        return cls(token, latent, latents[token, latent].float())

    @classmethod
    def of_top_k(cls, values: torch.Tensor, indices: torch.Tensor, width: int) -> ActiveEntries:
        """From a TopK SAE's sparse latents, values and indices [tokens, k]: the entries `of` finds in the dense
        latents, in the same order (by token, then latent), so every sum downstream adds in the same order."""
        # Each token's k indices sorted in place of one sort of all tokens × k keys: with several threads on a
        # busy CPU, torch's flat sort took 100× longer than the row-wise one (see benchmarks/README.md, Features).
        indices, order = indices.sort(dim=-1)
        values = values.gather(-1, order).float()
        token = torch.arange(values.shape[0], device=values.device)[:, None].expand_as(values)
        positive = values > 0
        if bool(positive.all()):  # the usual case for a trained SAE: no selection to make
            return cls(token.reshape(-1), indices.reshape(-1), values.reshape(-1))
        return cls(token[positive], indices[positive], values[positive])

    def keep(self, tokens: torch.Tensor) -> ActiveEntries:
        """The entries of the tokens where the boolean `tokens` [tokens] is true (the order is kept)."""
        inside = tokens[self.token]
        return ActiveEntries(self.token[inside], self.latent[inside], self.value[inside])


def histogram_edges(bins: int, log10_range: tuple[float, float]) -> torch.Tensor:
    """The bins + 1 edges in log10 units, float64."""
    return torch.linspace(log10_range[0], log10_range[1], bins + 1, dtype=torch.float64)


class LatentStatistics:
    """Running per-latent sums over the counted tokens (positions left out are passed in as zeros and not counted)."""

    def __init__(self, width: int, bins: int, log10_range: tuple[float, float],
                 device: torch.device | str = "cpu") -> None:
        self.width, self.bins = width, bins
        self.tokens = 0
        self.edges = histogram_edges(bins, log10_range).to(device)
        self.active = torch.zeros(width, dtype=torch.int64, device=device)
        self.total = torch.zeros(width, dtype=torch.float64, device=device)
        self.total_squares = torch.zeros(width, dtype=torch.float64, device=device)
        self.maximum = torch.zeros(width, dtype=torch.float32, device=device)
        self.histogram = torch.zeros(width, bins, dtype=torch.int64, device=device)

    def update(self, active: ActiveEntries, counted_tokens: int) -> None:
        """Add a batch of `counted_tokens` tokens given by its active entries (left-out positions have none)."""
        self.tokens += counted_tokens
        # Sparse updates: the cost follows the number of active entries (L0 × tokens), not tokens × width.
        self.active += torch.bincount(active.latent, minlength=self.width)
        wide = active.value.double()
        self.total.index_add_(0, active.latent, wide)
        self.total_squares.index_add_(0, active.latent, wide * wide)
        self.maximum.scatter_reduce_(0, active.latent, active.value, reduce="amax")
        bins = torch.bucketize(wide.log10(), self.edges[1:-1], right=True)
        self.histogram.view(-1).index_add_(0, active.latent * self.bins + bins, torch.ones_like(bins))

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {f"stats.{name}": getattr(self, name) for name in STATE_NAMES}

    def load_state_dict(self, state: dict[str, torch.Tensor], tokens: int) -> None:
        for name in STATE_NAMES:
            value, expected = state[f"stats.{name}"], getattr(self, name)
            if value.shape != expected.shape or value.dtype != expected.dtype:
                raise InvalidArgument(f"saved state stats.{name} has shape {tuple(value.shape)}, expected "
                                      f"{tuple(expected.shape)}: it belongs to another analysis",
                                      details={"field": "state"})
            setattr(self, name, value.to(expected.device))
        self.tokens = tokens

    # --- what the numbers mean ----------------------------------------------------------------------------------
    def frequency(self) -> torch.Tensor:
        """The fraction of counted tokens each latent is active on (> 0)."""
        return self.active.double() / max(self.tokens, 1)

    def mean(self) -> torch.Tensor:
        """Mean activation over all counted tokens (zeros included)."""
        return self.total / max(self.tokens, 1)

    def mean_when_active(self) -> torch.Tensor:
        """Mean activation over the tokens where the latent fires; NaN for a latent that never fired."""
        return self.total / self.active.double()

    def variance(self) -> torch.Tensor:
        """Population variance over all counted tokens, clamped at 0 against rounding."""
        mean = self.mean()
        return (self.total_squares / max(self.tokens, 1) - mean * mean).clamp_min(0)
