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
    """The latents of `batch` sequences of `length` tokens over `width` latents; token t: (t // length, t % length)."""

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
        length, window = self.length, 2 * context + 1
        tokens = self.batch * length
        # Latent-major keys: one latent's entries over a run of tokens are adjacent, so a window takes one search
        # (for its first token) and the next `window` entries, not a search per token. Sorted as one row: with
        # several threads on a busy CPU, torch's 1-D integer sort took ~100× longer (benchmarks/README.md).
        key, order = (self.active.latent * tokens + self.active.token)[None].sort(dim=-1)
        key, value = key[0], self.active.value[order[0]]
        offsets = torch.arange(window, device=key.device)

        def gather(rows: torch.Tensor, columns: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
            out = torch.zeros(rows.shape[0], window + 1, dtype=torch.float32, device=key.device)
            if key.numel() == 0:
                return out[:, :window]
            first = positions - context  # the window's first position (negative near the sequence's start)
            start = columns * tokens + rows * length + first
            found = torch.searchsorted(key, start)[:, None] + offsets  # the window's entries, then later ones
            valid = found < key.numel()
            found.clamp_(max=key.numel() - 1)
            offset = key[found] - start[:, None]  # the entry's place in the window, if it is in it
            # Past the window's end, or a token of the next or previous sequence (or latent): not this window's.
            valid &= (offset < window) & (first[:, None] + offset >= 0) & (first[:, None] + offset < length)
            # Each window's entries have distinct offsets; the rest all go to a spare last column, dropped.
            out.scatter_(1, torch.where(valid, offset, window), torch.where(valid, value[found], 0.0))
            return out[:, :window]

        return gather
