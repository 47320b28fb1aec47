"""What a feature analysis computes and how big its bounded buffers are, as one plain dataclass."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from mistudio.lens.errors import InvalidArgument


class InvalidAnalysisConfig(InvalidArgument):
    """A size or range of the analysis out of its allowed values; the message names the field."""

    code = "invalid_analysis_config"


@dataclass(frozen=True)
class AnalysisConfig:
    """The settings of `analyze_features`; every buffer it keeps is sized from these, never from the token count.

    - `top_k` max-activating examples per latent, at most one per sequence (its peak there), each a window of
      `context` tokens either side of the peak with that latent's activation on every token.
    - `histogram_bins` over log10(activation) in `histogram_log10_range`; activations outside the range are counted
      in the first or last bin (the exact maximum is kept separately).
    - `intervals` equal-width activation intervals (j·max/n, (j+1)·max/n] of each latent's own final maximum, and
      `per_interval` sequences sampled uniformly at random from each (0: no interval samples, no second pass
      unless correlations need it).
    - `correlations` most correlated latents per latent (0: none), chosen among `correlation_candidates` per latent
      proposed by a random-projection sketch of `sketch_size` rows (see `coactivation`).
    - `batch_size` sequences per forward pass; `ignore_token_ids` (BOS, padding…) are left out of every statistic.
    - `seed` fixes the interval samples and the sketch; results do not depend on `batch_size` except for the
      order of floating-point sums.
    """

    top_k: int = 20
    context: int = 16
    histogram_bins: int = 60
    histogram_log10_range: tuple[float, float] = (-3.0, 3.0)
    intervals: int = 10
    per_interval: int = 2
    correlations: int = 10
    correlation_candidates: int = 64
    sketch_size: int = 256
    batch_size: int = 8
    ignore_token_ids: tuple[int, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        # JSON round trips give lists; the config is compared on resume, so keep one canonical form.
        object.__setattr__(self, "histogram_log10_range", tuple(float(v) for v in self.histogram_log10_range))
        object.__setattr__(self, "ignore_token_ids", tuple(int(v) for v in self.ignore_token_ids))
        self.validate()

    @property
    def window(self) -> int:
        """Tokens in one example window: the peak and `context` either side."""
        return 2 * self.context + 1

    @property
    def needs_second_pass(self) -> bool:
        return self.per_interval > 0 or self.correlations > 0

    def validate(self) -> None:
        limits = {"top_k": (1, 10_000), "context": (0, 4096), "histogram_bins": (1, 10_000), "intervals": (1, 1000),
                  "per_interval": (0, 1000), "correlations": (0, 10_000), "correlation_candidates": (1, 100_000),
                  "sketch_size": (1, 65_536), "batch_size": (1, 1 << 20), "seed": (0, (1 << 31) - 1)}
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidAnalysisConfig(f"{name} must be an integer from {low} to {high:,}; got {value!r}",
                                            details={"field": name})
        low, high = self.histogram_log10_range
        if not (low < high and abs(low) < 100 and abs(high) < 100):
            raise InvalidAnalysisConfig(f"histogram_log10_range must be (low, high) with low < high, in log10 units "
                                        f"(e.g. (-3, 3) for 0.001 to 1000); got {self.histogram_log10_range!r}",
                                        details={"field": "histogram_log10_range"})
        if self.correlations > self.correlation_candidates:
            raise InvalidAnalysisConfig(f"correlations ({self.correlations}) cannot exceed correlation_candidates "
                                        f"({self.correlation_candidates}): the top ones are chosen among the "
                                        "candidates", details={"field": "correlations"})

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["histogram_log10_range"] = list(self.histogram_log10_range)
        values["ignore_token_ids"] = list(self.ignore_token_ids)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AnalysisConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})
