"""What an analysis gives back: per-latent arrays and the examples as columns (one row per example window)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mistudio.lens.features.config import AnalysisConfig
from mistudio.lens.features.neighbours import Neighbours
from mistudio.lens.features.selection import StreamingSelection, peak_scores

EXAMPLE_KINDS = ("top", "interval")  # `Examples.kind` holds the index into this tuple
INTERVAL_KIND = "equal-width"  # interval j of a latent is (j·max/n, (j+1)·max/n] of its own maximum


@dataclass
class LatentSummary:
    """Per-latent statistics over the `tokens` counted tokens (arrays of length width, histogram [width, bins])."""

    tokens: int
    active_count: np.ndarray
    frequency: np.ndarray
    max_activation: np.ndarray
    mean_activation: np.ndarray  # over all counted tokens, zeros included
    mean_when_active: np.ndarray  # over the tokens where the latent fires; NaN if it never did
    histogram: np.ndarray  # counts of log10(activation) per bin, active tokens only
    histogram_edges: np.ndarray  # bins + 1 edges in log10 units; outside values sit in the end bins

    @property
    def dead(self) -> np.ndarray:
        return self.active_count == 0


@dataclass
class Examples:
    """Example windows as columns, sorted by latent, kind, interval, then activation (highest first).

    `tokens` [n, window] is -1 outside the sequence (and on padding); `activations` [n, window] is the latent's
    activation on each token; the peak is at column `context`, its value also in `activation`.
    """

    latent: np.ndarray
    kind: np.ndarray  # index into EXAMPLE_KINDS
    rank: np.ndarray  # 0 = highest within (latent, kind, interval)
    interval: np.ndarray  # -1 for top examples
    activation: np.ndarray
    sequence: np.ndarray  # row of the analysed input_ids
    position: np.ndarray  # the peak's position in that sequence
    tokens: np.ndarray
    activations: np.ndarray

    def __len__(self) -> int:
        return int(self.latent.shape[0])

    def select(self, mask: np.ndarray) -> Examples:
        return Examples(**{name: value[mask] for name, value in self.columns().items()})

    def of(self, latent: int, kind: str = "top") -> Examples:
        """One latent's examples of one kind."""
        return self.select((self.latent == latent) & (self.kind == EXAMPLE_KINDS.index(kind)))

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ("latent", "kind", "rank", "interval", "activation",
                                                       "sequence", "position", "tokens", "activations")}

    @classmethod
    def concatenate(cls, parts: list[Examples]) -> Examples:
        if len(parts) == 1:  # nothing to join: no copy of the windows
            return parts[0]
        names = parts[0].columns()
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts]) for name in names})


@dataclass
class FeatureAnalysisResult:
    """Everything the streaming analysis measured; logit lens, neighbours, ablation and labels are computed apart."""

    config: AnalysisConfig
    width: int
    hook_point: str | None
    sequences: int
    seq_len: int
    summary: LatentSummary
    examples: Examples
    correlations: Neighbours | None
    interval_kind: str = INTERVAL_KIND
    metadata: dict[str, Any] = field(default_factory=dict)


def read_rows(input_ids: Any, index: np.ndarray) -> np.ndarray:
    """Rows `index` of a tensor, array or memory map, as a numpy array."""
    if isinstance(input_ids, torch.Tensor):
        return input_ids[torch.as_tensor(index, device=input_ids.device)].cpu().numpy()
    return np.asarray(input_ids[index])


def token_windows(input_ids: Any, sequence: np.ndarray, position: np.ndarray, context: int,
                  attention_mask: Any = None, *, chunk: int = 4096) -> np.ndarray:
    """The tokens [n, 2·context+1] around each (sequence, position); -1 outside the sequence and on padding.

    Reads each distinct sequence of `chunk` examples once (a latent's examples share sequences with the others'), so
    a memory-mapped tokenization is never loaded whole."""
    offsets = np.arange(-context, context + 1)
    out = np.full((len(sequence), offsets.size), -1, dtype=np.int64)
    for start in range(0, len(sequence), chunk):
        rows = slice(start, start + chunk)
        distinct, row_of = np.unique(sequence[rows], return_inverse=True)
        ids = read_rows(input_ids, distinct).astype(np.int64)
        where = position[rows, None] + offsets
        inside = (where >= 0) & (where < ids.shape[1])
        clamped = where.clip(0, ids.shape[1] - 1)
        values = ids[row_of[:, None], clamped]
        if attention_mask is not None:
            inside &= read_rows(attention_mask, distinct)[row_of[:, None], clamped].astype(bool)
        out[rows] = np.where(inside, values, -1)
    return out


def examples_from(selection: StreamingSelection, kind: str, interval: int, context: int, input_ids: Any,
                  attention_mask: Any = None) -> Examples:
    """The filled slots of a selection as example rows, each latent's sorted by activation (highest first; equal
    activations: the earlier sequence first)."""
    activation = selection.activations[..., context]  # the peak's value, whatever the slot's sampling key
    filled = selection.sequence >= 0
    order = peak_scores(activation, selection.sequence).argsort(dim=0, descending=True)  # empties score lowest
    sequence, position = selection.sequence.gather(0, order), selection.position.gather(0, order)
    windows = selection.activations.gather(0, order[..., None].expand_as(selection.activations))
    latent, rank = filled.gather(0, order).T.nonzero(as_tuple=True)  # by latent, then rank
    sequence_np = sequence[rank, latent].cpu().numpy()
    position_np = position[rank, latent].cpu().numpy()
    n = latent.numel()
    return Examples(
        latent=latent.cpu().numpy(), kind=np.full(n, EXAMPLE_KINDS.index(kind), dtype=np.int8),
        rank=rank.cpu().numpy(), interval=np.full(n, interval, dtype=np.int64),
        activation=windows[rank, latent, context].cpu().numpy(), sequence=sequence_np, position=position_np,
        tokens=token_windows(input_ids, sequence_np, position_np, context, attention_mask),
        activations=windows[rank, latent].cpu().numpy())
