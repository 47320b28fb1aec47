"""Bounded streaming selection over all latents at once: the `size` best candidates per column, with their windows.

A column is a latent (or a latent within one activation interval). Each batch offers at most one candidate per
sequence and column (the sequence's peak for that latent); `update` merges them with what is kept by one `topk` over
[size + batch, columns] and writes only the candidates that got in, into the slots they freed, so the cost per batch
is a few tensor ops over the width plus work in proportion to what changed, and memory is
size × columns × (window + 3) numbers however many tokens stream past. The windows of newly kept candidates are
gathered from the batch's activations while they are still there. Slots are in no order: sort when reading.

The sampling keys are a deterministic hash of (seed, sequence index, latent), so a sample does not depend on batch
boundaries or on where a run was resumed, and a brute-force computation can reproduce it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mistudio.lens.errors import InvalidArgument

MASK31 = (1 << 31) - 1
_MULTIPLIER = 0x45D9F3B  # the 32-bit integer hash constant; < 2^27, so x · it stays below 2^58 in int64


def mix31(x: torch.Tensor) -> torch.Tensor:
    """A 31-bit integer hash of non-negative int64 values (three xor-shift-multiply rounds, no int64 overflow)."""
    x = x & MASK31
    for _ in range(3):
        x = ((x >> 16) ^ x) * _MULTIPLIER & MASK31
    return x


def sample_keys(sequence: torch.Tensor, latent: torch.Tensor, seed: int) -> torch.Tensor:
    """Unique random-order keys for (sequence, latent) pairs: hash in the high bits, the sequence index below.

    The smallest `s` keys among a latent's candidates are a uniform sample without replacement; the sequence index
    in the low 31 bits makes keys of one latent distinct, so no tie is ever broken by chance."""
    hashed = mix31(mix31(sequence + mix31(torch.tensor(seed, dtype=torch.int64))) ^ latent)
    return (hashed << 31) | (sequence & MASK31)


def peak_scores(values: torch.Tensor, sequence: torch.Tensor) -> torch.Tensor:
    """Int64 scores ordering positive activations by value, then the earlier sequence first; empty where <= 0.

    A positive float32's bit pattern grows with its value, so (bits << 32) | (2^32 − 1 − sequence) sorts as the
    value and breaks exact ties (the same token after BOS gives the same activation in two sequences) the same way
    whatever the batches were."""
    bits = values.float().contiguous().view(torch.int32).to(torch.int64)
    scores = (bits << 32) | ((1 << 32) - 1 - (sequence & ((1 << 32) - 1)))
    return torch.where(values > 0, scores, torch.full_like(scores, torch.iinfo(torch.int64).min))


def empty_score(dtype: torch.dtype) -> float | int:
    """The score of an empty slot: below every real candidate."""
    return float("-inf") if dtype.is_floating_point else torch.iinfo(dtype).min


WindowGatherer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class StreamingSelection:
    """Per column, the `size` candidates with the highest score seen so far (in no order), with their windows.

    A slot nothing holds has sequence -1 and the empty score. Candidates whose score equals `empty_score` are never
    kept. Kept candidates stay in their slot until displaced, so a batch writes only what it brings in."""

    def __init__(self, size: int, columns: int, window: int, *, score_dtype: torch.dtype = torch.int64,
                 device: torch.device | str = "cpu") -> None:
        self.size, self.columns, self.window = size, columns, window
        self.empty = empty_score(score_dtype)
        self.scores = torch.full((size, columns), self.empty, dtype=score_dtype, device=device)
        self.sequence = torch.full((size, columns), -1, dtype=torch.int64, device=device)
        self.position = torch.zeros((size, columns), dtype=torch.int64, device=device)
        self.activations = torch.zeros((size, columns, window), dtype=torch.float32, device=device)

    def update(self, scores: torch.Tensor, positions: torch.Tensor, first_sequence: int,
               windows: WindowGatherer) -> None:
        """Offer one candidate per (batch row, column): `scores` and peak `positions` [rows, columns]; row r is
        sequence `first_sequence + r`."""
        size = self.size
        top, index = torch.cat([self.scores, scores.to(self.scores.dtype)]).topk(size, dim=0, sorted=False)
        incoming = (index >= size) & (top != self.empty)
        if not bool(incoming.any()):
            return  # every kept candidate survived in its slot
        survived = torch.zeros_like(self.scores, dtype=torch.int32).scatter_add_(
            0, index.clamp(max=size - 1), (index < size).to(torch.int32)) > 0
        vacated = ~survived
        # Pair each column's incoming candidates with its first vacated slots: both lists sorted by column.
        new_column, new_rank = incoming.T.nonzero(as_tuple=True)
        free_column, free_slot = vacated.T.nonzero(as_tuple=True)
        wanted = torch.bincount(new_column, minlength=self.columns)
        free = torch.bincount(free_column, minlength=self.columns)
        rank_in_column = torch.arange(free_column.numel(), device=free_column.device) - (free.cumsum(0) - free)[
            free_column]
        use = rank_in_column < wanted[free_column]
        slot = free_slot[use]
        row = index[new_rank, new_column] - size
        peak = positions[row, new_column].to(torch.int64)
        # A vacated slot nobody moves into was already empty (an empty slot holds sequence -1, position 0, zeros):
        # a kept candidate's score is above the empty score, so only a real incoming one can displace it.
        self.scores[slot, new_column] = top[new_rank, new_column]
        self.sequence[slot, new_column] = row + first_sequence
        self.position[slot, new_column] = peak
        self.activations[slot, new_column] = windows(row, new_column, peak).to(torch.float32)

    def state_dict(self, prefix: str) -> dict[str, torch.Tensor]:
        return {f"{prefix}.scores": self.scores, f"{prefix}.sequence": self.sequence,
                f"{prefix}.position": self.position, f"{prefix}.activations": self.activations}

    def load_state_dict(self, state: dict[str, torch.Tensor], prefix: str) -> None:
        device = self.scores.device
        for name in ("scores", "sequence", "position", "activations"):
            value = state[f"{prefix}.{name}"]
            if value.shape != getattr(self, name).shape or value.dtype != getattr(self, name).dtype:
                expected = getattr(self, name)
                raise InvalidArgument(f"saved state {prefix}.{name} has shape {tuple(value.shape)} {value.dtype}, "
                                      f"expected {tuple(expected.shape)} {expected.dtype}: it belongs to another "
                                      "analysis", details={"field": "state"})
            setattr(self, name, value.to(device))
