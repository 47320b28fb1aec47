"""Interventions at a hook point: add a direction, clamp or ablate an SAE feature, on chosen positions.

- `AddDirection`: activation + strength × direction. `add_feature(sae, i, s)` uses feature i's decoder direction in
  the raw activation's scale (W_dec[i] / output_scale), so s is in the feature's own units: adding it is what
  raising the feature's activation by s would add to the SAE's reconstruction.
- `ClampFeature`: encode the activation, set feature i to `value`, decode, and keep the SAE's error term
  (activation − decode(encode(activation))) so nothing the SAE does not explain changes. The decoder is linear, so
  decode(z') + error = activation + (value − z_i) × W_dec[i] / output_scale: computed that way, a clamp to the
  value the feature already has changes no bit, and the rest of the code is never decoded twice.
  `ablate_feature` clamps to 0.
- Positions: "all", "prompt" (the prompt's positions only), "generated" (only positions of generated tokens) or
  an int p (every position from p on). They are positions of the whole sequence, so they mean the same thing in
  one forward pass, in `generate` with its KV cache (the prompt pass, then one position per step) and without it.
  The first generated token is predicted at the prompt's last position: "generated" first changes the second.

How they run inside the model (as `lens.hooks` functions, one batch row or many) is `lens.steer.apply`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hooks import HookContext, parse_hook_point
from mistudio.lens.layout import ModelLayout
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.steer.validation import finite_number, invalid, whole_number

POSITION_SCOPES: tuple[str, ...] = ("all", "prompt", "generated")
Positions = str | int


def check_positions(positions: Any) -> Positions:
    """A valid positions value: one of POSITION_SCOPES, or an int p ≥ 0 meaning "from position p on"."""
    if isinstance(positions, str) and positions in POSITION_SCOPES:
        return positions
    if isinstance(positions, int) and not isinstance(positions, bool) and positions >= 0:
        return positions
    raise invalid(f"positions must be one of {', '.join(POSITION_SCOPES)} or a position p ≥ 0 (from p on); "
                  f"got {positions!r}", "positions")


def position_mask(positions: Positions, context: HookContext, device: torch.device | str | None = None
                  ) -> torch.Tensor:
    """Which of this hook call's positions [length] the intervention applies to."""
    if isinstance(positions, int):
        return torch.arange(context.start, context.start + context.length, device=device) >= positions
    return context.mask(positions, device)  # type: ignore[arg-type]


def _check_feature(sae: SparseAutoencoder, feature: Any) -> int:
    return whole_number(feature, "feature", minimum=0, maximum=sae.width - 1, d_sae=sae.width)


def _check_sae(sae: Any) -> SparseAutoencoder:
    if not isinstance(sae, SparseAutoencoder):
        raise invalid(f"sae must be a mistudio.lens.sae.SparseAutoencoder; got {type(sae).__name__}", "sae")
    if sae.config.is_transcoder:
        raise invalid("a transcoder reads one hook point and writes another: steer with an SAE whose input and "
                      "output are the same activation", "sae")
    return sae


def _sae_hook_point(sae: SparseAutoencoder, hook_point: str | None) -> str:
    """The point to steer at: the SAE's own unless given, and refused when both are known and differ."""
    own = sae.config.hook_point
    if hook_point is None and own is None:
        raise invalid("the SAE does not say which hook point it reads (config.hook_point): pass hook_point",
                      "hook_point")
    if hook_point is not None and own is not None and hook_point != own:
        raise invalid(f"the SAE was trained on {own}, not {hook_point}: its features mean nothing elsewhere",
                      "hook_point", sae_hook_point=own)
    return hook_point or own  # type: ignore[return-value]


@torch.no_grad()
def decoder_direction(sae: SparseAutoencoder, feature: int) -> torch.Tensor:
    """Feature `feature`'s decoder row in the raw activation's scale (what +1 of the feature adds): [d_out]."""
    feature = _check_feature(sae, feature)
    return (sae.W_dec[feature].float() / sae.config.output_scale).detach().clone()


@dataclass(frozen=True, eq=False)
class AddDirection:
    """Add `strength × direction` at `hook_point` on `positions`; `sae`/`feature` say where it came from."""

    hook_point: str
    direction: torch.Tensor
    strength: float = 1.0
    positions: Positions = "all"
    sae: SparseAutoencoder | None = None
    feature: int | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        _check_hook_point(self.hook_point)
        object.__setattr__(self, "strength", finite_number(self.strength, "strength"))
        object.__setattr__(self, "positions", check_positions(self.positions))
        if not isinstance(self.direction, torch.Tensor) or self.direction.dim() != 1 or not self.direction.numel():
            raise invalid("direction must be a non-empty 1-D tensor [d_model]", "direction")
        if not torch.isfinite(self.direction).all():
            raise invalid("direction has NaN or infinite values", "direction")

    @property
    def mode(self) -> str:
        return "add"

    def with_strength(self, strength: float) -> AddDirection:
        return dataclasses.replace(self, strength=strength)

    def describe(self) -> str:
        source = self.label or (f"feature {self.feature}" if self.feature is not None else "direction")
        return f"add {source} × {self.strength:g} at {self.hook_point} ({self.positions})"


@dataclass(frozen=True, eq=False)
class ClampFeature:
    """Set SAE feature `feature` to `value` at its hook point on `positions`, keeping the SAE's error term."""

    sae: SparseAutoencoder
    feature: int
    value: float
    positions: Positions = "all"
    hook_point: str | None = None  # default: the SAE's config.hook_point

    def __post_init__(self) -> None:
        _check_sae(self.sae)
        object.__setattr__(self, "feature", _check_feature(self.sae, self.feature))
        object.__setattr__(self, "value", finite_number(self.value, "strength"))
        object.__setattr__(self, "positions", check_positions(self.positions))
        object.__setattr__(self, "hook_point", _sae_hook_point(self.sae, self.hook_point))
        _check_hook_point(self.hook_point)

    @property
    def mode(self) -> str:
        return "ablate" if self.value == 0 else "clamp"

    @property
    def strength(self) -> float:
        """The clamp value: what a strength sweep varies."""
        return self.value

    def with_strength(self, value: float) -> ClampFeature:
        return dataclasses.replace(self, value=value)

    def describe(self) -> str:
        return f"{self.mode} feature {self.feature} to {self.value:g} at {self.hook_point} ({self.positions})"


Intervention = AddDirection | ClampFeature


def _check_hook_point(hook_point: Any) -> None:
    try:
        parse_hook_point(hook_point)
    except InvalidArgument as error:
        raise invalid(error.message, "hook_point") from error


def add_feature(sae: SparseAutoencoder, feature: int, strength: float, positions: Positions = "all",
                hook_point: str | None = None) -> AddDirection:
    """Add `strength` units of SAE feature `feature`'s decoder direction at the SAE's hook point."""
    _check_sae(sae)
    point = _sae_hook_point(sae, hook_point)
    return AddDirection(point, decoder_direction(sae, feature), strength, positions, sae=sae, feature=feature,
                        label=f"feature {feature}")


def clamp_feature(sae: SparseAutoencoder, feature: int, value: float, positions: Positions = "all",
                  hook_point: str | None = None) -> ClampFeature:
    """Clamp SAE feature `feature` to `value` (encode, set, decode, error term kept)."""
    return ClampFeature(sae, feature, value, positions, hook_point)


def ablate_feature(sae: SparseAutoencoder, feature: int, positions: Positions = "all",
                   hook_point: str | None = None) -> ClampFeature:
    """Clamp SAE feature `feature` to 0 (error term kept)."""
    return ClampFeature(sae, feature, 0.0, positions, hook_point)


def check_against_model(interventions: Sequence[Intervention], layout: ModelLayout) -> None:
    """Refuse interventions this model cannot take: a layer it lacks, a direction or SAE of another width."""
    for index, intervention in enumerate(interventions):
        if not isinstance(intervention, AddDirection | ClampFeature):
            raise invalid(f"intervention {index} is a {type(intervention).__name__}, not an AddDirection or "
                          "ClampFeature", "interventions", intervention=index)
        try:
            parse_hook_point(intervention.hook_point, layout.num_layers)  # type: ignore[arg-type]
        except InvalidArgument as error:
            raise invalid(error.message, "hook_point", intervention=index) from error
        if isinstance(intervention, AddDirection) and intervention.direction.numel() != layout.d_model:
            raise invalid(f"the direction has {intervention.direction.numel()} values but the model's width "
                          f"(d_model) is {layout.d_model}", "direction", intervention=index)
        sae = intervention.sae
        if sae is not None and sae.config.d_in != layout.d_model:
            raise invalid(f"the SAE reads activations of width {sae.config.d_in} but this model's width (d_model) "
                          f"is {layout.d_model}: it was trained on another model", "sae", intervention=index)
