"""One batch of latents [batch, seq_len, width] held as its active entries: what the analysis reads per batch.

A TopK SAE knows its k active latents per token, so the batch costs tokens × k entries instead of a dense
tokens × width tensor that every accumulator would scan again (`nonzero`, the per-sequence max, the window gather).
What is not listed is 0; the entries are sorted by token, then latent, the order `nonzero` gives on the dense
tensor, so the results equal the dense computation's bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mistudio.lens.features.selection import WindowGatherer
from mistudio.lens.features.stats import ActiveEntries


@dataclass(frozen=True)
class BatchLatents:
    """The latents of `batch` sequences of `length` tokens over `width` latents; token t is (t // length, t % length)."""

    active: ActiveEntries
    batch: int
    length: int
    width: int

    def peaks(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each sequence's peak activation of each latent and its first position, [batch, width] each (float32,
        int64); 0 and 0 for a latent silent in that sequence: what `max(dim=1)` gives on the dense latents."""
        token, latent, value = self.active.token, self.active.latent, self.active.value
        cell = token // self.length * self.width + latent
        cells = self.batch * self.width
        peak = torch.zeros(cells, dtype=torch.float32, device=value.device).scatter_reduce_(0, cell, value, "amax")
        at_peak = value == peak[cell]
        where = torch.zeros(cells, dtype=torch.int64, device=value.device).scatter_reduce_(
            0, cell[at_peak], token[at_peak] % self.length, "amin", include_self=False)
        return peak.view(self.batch, self.width), where.view(self.batch, self.width)

    def window_gatherer(self, context: int) -> WindowGatherer:
        """(rows, columns, peak positions) → windows [n, 2·context+1]: latent `column`'s activation in sequence `row`
        on each token from peak − context to peak + context, 0 outside the sequence or where it is not active."""
        offsets = torch.arange(-context, context + 1, device=self.active.token.device)
        length, width = self.length, self.width
        key = self.active.token * width + self.active.latent  # ascending: the entries' order
        value = self.active.value

        def gather(rows: torch.Tensor, columns: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
            where = positions[:, None] + offsets
            inside = (where >= 0) & (where < length)
            query = (rows[:, None] * length + where.clamp(0, length - 1)) * width + columns[:, None]
            if key.numel() == 0:
                return torch.zeros(query.shape, dtype=torch.float32, device=query.device)
            found = torch.searchsorted(key, query).clamp_(max=key.numel() - 1)
            hit = inside & (key[found] == query)
            return torch.where(hit, value[found], torch.zeros((), dtype=value.dtype, device=value.device))

        return gather
