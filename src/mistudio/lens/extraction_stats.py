"""Per-hook-point activation statistics computed while streaming (one pass, float64 accumulators).

Only valid (attention-masked-in) token positions are counted. For activation vectors x ∈ R^d:
- `mean_norm`   — mean L2 norm of the vectors;
- `max_abs`     — max |x_j| over every element;
- `sparsity`    — fraction of elements with |x_j| < `sparsity_eps` (default 1e-6);
- `dim_mean`, `dim_var` — per-dimension mean and population variance (ddof=0), merged batch by batch with
  Chan et al.'s parallel update, so no sum-of-squares cancellation;
- `histogram`   — 50 equal bins with fixed edges chosen from the first batch that has a valid token:
  ±(1.5 × that batch's max |x|) (±1 when it is all zeros). Later values outside the edges are clipped into the
  end bins, so the counts always add up to tokens × d. Bin assignment follows `np.histogram` exactly, so
  `np.histogram(np.clip(x, lo, hi), edges)` on the stored array gives the same counts.
The state round-trips through `state()`/`from_state()` (plain numpy arrays) so a resumed extraction continues
with bit-identical accumulators.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

HISTOGRAM_BINS = 50
HISTOGRAM_RANGE_FACTOR = 1.5
DEFAULT_SPARSITY_EPS = 1e-6


class RunningStatistics:
    """Streaming statistics of one hook point's activations (vectors of size d)."""

    def __init__(self, d: int, sparsity_eps: float = DEFAULT_SPARSITY_EPS) -> None:
        self.d = d
        self.sparsity_eps = sparsity_eps
        self.tokens = 0
        self.norm_sum = 0.0
        self.max_abs = 0.0
        self.near_zero = 0
        self.mean = np.zeros(d, dtype=np.float64)
        self.m2 = np.zeros(d, dtype=np.float64)
        self.edges: np.ndarray | None = None
        self.counts = np.zeros(HISTOGRAM_BINS, dtype=np.int64)

    def update(self, vectors: torch.Tensor) -> None:
        """Add a [tokens, d] batch of valid activation vectors (any float dtype, any device)."""
        n = int(vectors.shape[0])
        if n == 0:
            return
        x = vectors.detach().to(torch.float64)
        if x.device.type == "mps":  # no float64 there
            x = x.cpu()
        magnitude = x.abs()
        batch_max = float(magnitude.max())
        self.norm_sum += float(torch.linalg.vector_norm(x, dim=1).sum())
        self.max_abs = max(self.max_abs, batch_max)
        self.near_zero += int((magnitude < self.sparsity_eps).sum())
        batch_mean = x.mean(dim=0)
        batch_m2 = ((x - batch_mean) ** 2).sum(dim=0).cpu().numpy()
        batch_mean_np = batch_mean.cpu().numpy()
        total = self.tokens + n
        delta = batch_mean_np - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + batch_m2 + delta ** 2 * (self.tokens * n / total)
        self.tokens = total
        if self.edges is None:
            limit = HISTOGRAM_RANGE_FACTOR * batch_max if batch_max > 0 else 1.0
            self.edges = np.linspace(-limit, limit, HISTOGRAM_BINS + 1)
        self.counts += _histogram(x.reshape(-1), self.edges)

    def result(self) -> dict[str, Any]:
        """The statistics as plain JSON-able values (None where no token was seen)."""
        seen = self.tokens > 0
        return {
            "tokens": self.tokens,
            "d": self.d,
            "mean_norm": self.norm_sum / self.tokens if seen else None,
            "max_abs": self.max_abs if seen else None,
            "sparsity": self.near_zero / (self.tokens * self.d) if seen else None,
            "sparsity_eps": self.sparsity_eps,
            "dim_mean": self.mean.tolist() if seen else None,
            "dim_var": (self.m2 / self.tokens).tolist() if seen else None,
            "histogram": {"edges": self.edges.tolist() if self.edges is not None else None,
                          "counts": self.counts.tolist(), "clipped_to_end_bins": True},
        }

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        """Every accumulator as numpy arrays under `prefix` keys (for an .npz)."""
        return {f"{prefix}scalars": np.array([self.norm_sum, self.max_abs], dtype=np.float64),
                f"{prefix}counts_int": np.array([self.tokens, self.near_zero], dtype=np.int64),
                f"{prefix}mean": self.mean, f"{prefix}m2": self.m2, f"{prefix}hist": self.counts,
                f"{prefix}edges": self.edges if self.edges is not None else np.zeros(0, dtype=np.float64)}

    @classmethod
    def from_state(cls, arrays: Any, prefix: str, d: int, sparsity_eps: float) -> RunningStatistics:
        stats = cls(d, sparsity_eps)
        stats.norm_sum, stats.max_abs = (float(v) for v in arrays[f"{prefix}scalars"])
        stats.tokens, stats.near_zero = (int(v) for v in arrays[f"{prefix}counts_int"])
        stats.mean = np.array(arrays[f"{prefix}mean"], dtype=np.float64)
        stats.m2 = np.array(arrays[f"{prefix}m2"], dtype=np.float64)
        stats.counts = np.array(arrays[f"{prefix}hist"], dtype=np.int64)
        edges = np.array(arrays[f"{prefix}edges"], dtype=np.float64)
        stats.edges = edges if len(edges) else None
        return stats


def _histogram(values: torch.Tensor, edges: np.ndarray) -> np.ndarray:
    """Counts of `values` clipped into [edges[0], edges[-1]]: bin i holds edges[i] <= x < edges[i + 1], the last bin
    also x == edges[-1] — exactly what np.histogram computes for these edges."""
    inner = torch.from_numpy(edges[1:-1]).to(values.device)
    indices = torch.bucketize(values.clamp(float(edges[0]), float(edges[-1])), inner, right=True)
    return torch.bincount(indices.reshape(-1), minlength=len(edges) - 1).cpu().numpy().astype(np.int64)
