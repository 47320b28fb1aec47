"""What an SAE is, as one plain dataclass: its architecture, sizes, sparsity settings and where it reads.

The same config describes an SAE being trained, one saved in the SAELens layout and one imported from SAELens or
sparsify. A transcoder is an SAE whose target (`target_hook_point`, width `d_out`) differs from its input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from mistudio.lens.errors import InvalidArgument

Architecture = Literal["standard", "topk", "batchtopk", "jumprelu", "gated", "matryoshka"]
ARCHITECTURES: tuple[str, ...] = ("standard", "topk", "batchtopk", "jumprelu", "gated", "matryoshka")
# The ones whose codes are chosen by a fixed count k (per token, or per batch on average).
K_ARCHITECTURES: tuple[str, ...] = ("topk", "batchtopk", "matryoshka")
DecoderNorm = Literal["unit", "in_loss"]


class InvalidSAEConfig(InvalidArgument):
    """A width, k, coefficient or prefix list out of its allowed range; the message names the field."""

    code = "invalid_sae_config"


@dataclass
class SAEConfig:
    """An SAE's shape and sparsity rule.

    - `d_in` / `d_out`: the widths it reads and writes (equal for an SAE; a transcoder may differ); `d_sae` latents.
    - `k`: active latents per token (topk), or per token on average over a batch (batchtopk, matryoshka).
    - `matryoshka_prefixes`: the nested prefix widths (ascending, the last one `d_sae`) whose reconstructions are
      each trained to be good on their own.
    - `decoder_norm`: "unit" keeps every decoder row at norm 1; "in_loss" lets rows grow and weights the sparsity
      penalty by their norms (SAELens' standard SAE).
    - `input_scale` / `output_scale`: the factor the input (and target) were multiplied by during training so
      their mean norm was √d; `encode` and `decode` apply them, so callers pass raw activations.
    - `threshold` of batchtopk / matryoshka: the inference rule learned in training (see architectures).
    """

    architecture: Architecture
    d_in: int
    d_sae: int
    d_out: int | None = None
    k: int | None = None
    matryoshka_prefixes: list[int] | None = None
    decoder_norm: DecoderNorm = "unit"
    apply_b_dec_to_input: bool = True
    input_scale: float = 1.0
    output_scale: float = 1.0
    jumprelu_bandwidth: float = 0.05
    jumprelu_init_threshold: float = 0.01
    # Where it reads and writes, for people and for splicing it into a model (not needed by the math).
    model_name: str | None = None
    hook_point: str | None = None
    target_hook_point: str | None = None
    dtype: str = "float32"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.d_out is None:
            self.d_out = self.d_in
        self.validate()

    @property
    def is_transcoder(self) -> bool:
        return self.target_hook_point is not None and self.target_hook_point != self.hook_point \
            or self.d_out != self.d_in

    @property
    def subtracts_b_dec(self) -> bool:
        """b_dec is taken off the input before encoding: only meaningful when input and output are the same space."""
        return self.apply_b_dec_to_input and not self.is_transcoder

    def validate(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise InvalidSAEConfig(f"architecture must be one of {', '.join(ARCHITECTURES)}; got "
                                   f"{self.architecture!r}", details={"field": "architecture"})
        for name in ("d_in", "d_sae", "d_out"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1 or value > 2**24:
                raise InvalidSAEConfig(f"{name} must be an integer from 1 to {2**24:,}; got {value!r}",
                                       details={"field": name})
        if self.architecture in K_ARCHITECTURES:
            if not isinstance(self.k, int) or not 1 <= self.k <= self.d_sae:
                raise InvalidSAEConfig(f"k must be an integer from 1 to the width d_sae ({self.d_sae:,}) for "
                                       f"{self.architecture}; got {self.k!r}", details={"field": "k"})
        if self.architecture == "matryoshka":
            prefixes = self.matryoshka_prefixes or []
            if not prefixes or any(not isinstance(p, int) or p < 1 for p in prefixes) \
                    or sorted(set(prefixes)) != list(prefixes) or prefixes[-1] != self.d_sae:
                raise InvalidSAEConfig(f"matryoshka_prefixes must be increasing positive widths ending at d_sae "
                                       f"({self.d_sae}); got {prefixes!r}", details={"field": "matryoshka_prefixes"})
        for name in ("input_scale", "output_scale", "jumprelu_bandwidth", "jumprelu_init_threshold"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not value > 0 or value != value or value == float("inf"):
                raise InvalidSAEConfig(f"{name} must be a finite number above 0; got {value!r}",
                                       details={"field": name})
        if self.decoder_norm not in ("unit", "in_loss"):
            raise InvalidSAEConfig(f"decoder_norm must be 'unit' or 'in_loss'; got {self.decoder_norm!r}",
                                   details={"field": "decoder_norm"})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SAEConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


def width_from_expansion(d_in: int, expansion_factor: int | None, width: int | None) -> int:
    """The number of latents: `width` when given, else `expansion_factor × d_in`."""
    if width is not None:
        return width
    if expansion_factor is None:
        raise InvalidSAEConfig("give the SAE's width or its expansion factor", details={"field": "width"})
    if not isinstance(expansion_factor, int) or not 1 <= expansion_factor <= 256:
        raise InvalidSAEConfig(f"expansion_factor must be an integer from 1 to 256; got {expansion_factor!r}",
                               details={"field": "expansion_factor"})
    return expansion_factor * d_in
