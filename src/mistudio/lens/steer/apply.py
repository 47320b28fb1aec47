"""Interventions as `lens.hooks` functions: for one sequence, or for a batch whose rows are steered differently.

Several interventions at one hook point all read the same incoming activation and their changes are summed, so
their order does not matter and one SAE encodes once for all its features there. In a batch, each row gets only
its own interventions (a baseline row gets none): a baseline, a steered run and a strength sweep can then share
one `generate`, and each row computes what it would alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from mistudio.lens.hooks import HookContext, HookFunction, Hooks
from mistudio.lens.layout import layout_of
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.steer.interventions import (
    AddDirection,
    ClampFeature,
    Intervention,
    check_against_model,
    decoder_direction,
    position_mask,
)


class _PointSteering:
    """Every intervention at one hook point, as one hook function (see the module docstring for the rules)."""

    def __init__(self, interventions: Sequence[Intervention]) -> None:
        self.adds = [i for i in interventions if isinstance(i, AddDirection)]
        groups: dict[int, tuple[SparseAutoencoder, list[tuple[ClampFeature, torch.Tensor]]]] = {}
        for clamp in (i for i in interventions if isinstance(i, ClampFeature)):
            direction = decoder_direction(clamp.sae, clamp.feature).to(clamp.sae.W_dec.device)
            groups.setdefault(id(clamp.sae), (clamp.sae, []))[1].append((clamp, direction))
        self.clamp_groups = list(groups.values())
        self.vectors: dict[tuple[int, torch.device], torch.Tensor] = {}

    def _vector(self, index: int, add: AddDirection, device: torch.device) -> torch.Tensor:
        # Moved once per device, not once per generated token.
        key = (index, device)
        if key not in self.vectors:
            self.vectors[key] = add.direction.detach().to(device=device, dtype=torch.float32) * add.strength
        return self.vectors[key]

    def __call__(self, activation: torch.Tensor, context: HookContext) -> torch.Tensor | None:
        delta: torch.Tensor | None = None
        for index, add in enumerate(self.adds):
            mask = position_mask(add.positions, context, activation.device)
            if mask.any():
                term = mask[:, None].float() * self._vector(index, add, activation.device)
                delta = term if delta is None else delta + term
        for sae, clamps in self.clamp_groups:
            term = self._clamp_change(sae, clamps, activation, context)
            if term is not None:
                delta = term if delta is None else delta + term
        if delta is None:
            return None  # nothing applies to these positions: the activation stays the same tensor
        return activation + delta.to(activation.dtype)

    @staticmethod
    def _clamp_change(sae: SparseAutoencoder, clamps: list[tuple[ClampFeature, torch.Tensor]],
                      activation: torch.Tensor, context: HookContext) -> torch.Tensor | None:
        device = sae.W_dec.device
        masks = [position_mask(clamp.positions, context, device) for clamp, _ in clamps]
        if not any(mask.any() for mask in masks):
            return None
        with torch.no_grad():
            codes = sae.encode(activation.to(device))
        change: torch.Tensor | None = None
        for (clamp, direction), mask in zip(clamps, masks, strict=True):
            # (value − current) where the clamp applies, exactly 0 elsewhere; times the feature's raw direction.
            amount = torch.where(mask, clamp.value - codes[..., clamp.feature].float(), 0.0)
            term = amount[..., None] * direction
            change = term if change is None else change + term
        assert change is not None
        return change.to(activation.device)


class _RowSteering:
    """One hook point in a batch: row r gets its own interventions (None: left as it is)."""

    def __init__(self, rows: Sequence[_PointSteering | None]) -> None:
        self.rows = list(rows)

    def __call__(self, activation: torch.Tensor, context: HookContext) -> torch.Tensor | None:
        if activation.shape[0] != len(self.rows):
            raise ValueError(f"steering was set up for {len(self.rows)} rows but the batch has {activation.shape[0]}")
        pieces, changed = [], False
        for row, steering in enumerate(self.rows):
            piece = activation[row:row + 1]
            result = steering(piece, context) if steering is not None else None
            changed = changed or result is not None
            pieces.append(piece if result is None else result)
        return torch.cat(pieces) if changed else None


def _by_point(interventions: Sequence[Intervention]) -> dict[str, list[Intervention]]:
    by_point: dict[str, list[Intervention]] = {}
    for intervention in interventions:
        by_point.setdefault(intervention.hook_point, []).append(intervention)  # type: ignore[arg-type]
    return by_point


def steering_functions(interventions: Sequence[Intervention]) -> dict[str, HookFunction]:
    """One hook function per hook point that has interventions, applied to every row (for `lens.hooks.Hooks`)."""
    return {point: _PointSteering(items) for point, items in _by_point(interventions).items()}


def row_steering_functions(rows: Sequence[Sequence[Intervention]]) -> dict[str, HookFunction]:
    """One hook function per hook point for a batch in which row r gets `rows[r]` only."""
    per_row = [_by_point(interventions) for interventions in rows]
    points = dict.fromkeys(point for row in per_row for point in row)
    return {point: _RowSteering([_PointSteering(row[point]) if point in row else None for row in per_row])
            for point in points}


def steering_hooks(target: Any, interventions: Sequence[Intervention] | None = None, *,
                   rows: Sequence[Sequence[Intervention]] | None = None, prompt_length: int | None = None,
                   readers: Mapping[str, HookFunction] | None = None) -> Hooks:
    """A `Hooks` (enter it with `with`) applying the interventions on a model or `ModelHandle`.

    Give `interventions` (every row the same) or `rows` (one list per batch row). `prompt_length` fixes where
    generated positions start (needed without a KV cache; by default the first forward pass is the prompt).
    `readers` run at their point after the interventions there, so they see the steered activation.
    """
    model = getattr(target, "model", target)
    layout = getattr(target, "layout", None) or layout_of(model)
    if rows is not None:
        for row in rows:
            check_against_model(list(row), layout)
        steering = row_steering_functions(rows)
    else:
        check_against_model(list(interventions or ()), layout)
        steering = steering_functions(list(interventions or ()))
    functions: dict[str, list[HookFunction]] = {point: [function] for point, function in steering.items()}
    for point, reader in (readers or {}).items():
        functions.setdefault(point, []).append(reader)
    return Hooks(model, functions, prompt_length=prompt_length, layout=layout)
