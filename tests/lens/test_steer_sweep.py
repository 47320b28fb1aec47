"""lens.steer strength sweep: one run per strength, measured against one baseline, with a norm-matched random
direction at the same strengths."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.model import ModelHandle
from mistudio.lens.steer import (
    AddDirection,
    GenerationSettings,
    TokenEvent,
    add_feature,
    clamp_feature,
    compare,
    decoder_direction,
    measure,
    random_counterpart,
    strength_sweep,
)
from tests.lens.test_steer_interventions import D_MODEL, PROMPT, make_sae, open_tiny

SETTINGS = GenerationSettings(max_new_tokens=6, temperature=1.0, seed=9)


@pytest.fixture(scope="module")
def handle(tiny_models: Any) -> ModelHandle:
    return open_tiny(tiny_models)


def test_a_sweep_measures_every_strength_for_the_intervention_and_the_random_control(handle: ModelHandle) -> None:
    sae = make_sae()
    progress: list[float] = []
    events: list[TokenEvent] = []
    sweep = strength_sweep(handle, PROMPT, add_feature(sae, 12, 1.0), [0.0, 0.05, 0.2], SETTINGS, tokens=[7],
                           on_progress=lambda fraction, message: progress.append(fraction), on_token=events.append)
    assert [(p.kind, p.strength) for p in sweep.points] == [
        ("intervention", 0.0), ("random", 0.0), ("intervention", 0.05), ("random", 0.05),
        ("intervention", 0.2), ("random", 0.2)]
    # Strength 0 of either kind is the baseline itself: same text, KL exactly 0.
    for point in sweep.points[:2]:
        assert torch.equal(point.generation.output_ids, sweep.baseline.output_ids) and point.metrics.kl_mean == 0.0
    kl = [value for _, value in sweep.series("kl_mean")]
    assert kl[0] == 0.0 < kl[1] < kl[2]
    assert len(sweep.series("kl_mean", "random")) == 3
    assert progress[-1] == pytest.approx(1.0) and progress == sorted(progress)
    assert {event.run for event in events} == {"baseline", "intervention@0", "intervention@0.05", "intervention@0.2",
                                               "random@0", "random@0.05", "random@0.2"}
    assert sweep.random_direction is not None
    assert float(sweep.random_direction.direction.norm()) == pytest.approx(float(decoder_direction(sae, 12).norm()))


def test_each_sweep_point_is_what_a_single_comparison_at_that_strength_gives(handle: ModelHandle) -> None:
    steering = AddDirection("blocks.0.resid_post", torch.randn(D_MODEL, generator=torch.Generator().manual_seed(1)))
    sweep = strength_sweep(handle, PROMPT, steering, [0.3], SETTINGS, random_baseline=False)
    (point,) = sweep.points
    alone = compare(handle, PROMPT, [steering.with_strength(0.3)], SETTINGS)
    assert torch.equal(point.generation.output_ids, alone.steered.output_ids)
    assert point.metrics.kl_per_position == measure(handle, alone).kl_per_position


def test_a_clamps_random_control_has_its_decoder_directions_norm_and_the_clamp_value() -> None:
    sae = make_sae(output_scale=0.5)
    clamp = clamp_feature(sae, 4, 3.0, positions="generated")
    control = random_counterpart(clamp, seed=2)
    assert float(control.direction.norm()) == pytest.approx(float(decoder_direction(sae, 4).norm()), rel=1e-6)
    assert (control.strength, control.positions, control.hook_point) == (3.0, "generated", clamp.hook_point)


def test_should_stop_ends_the_sweep_with_the_points_measured_so_far(handle: ModelHandle) -> None:
    messages: list[str] = []
    sweep = strength_sweep(handle, PROMPT, add_feature(make_sae(), 1, 1.0), [0.1, 0.2, 0.3], SETTINGS,
                           random_baseline=False, batch_size=1,
                           on_progress=lambda fraction, message: messages.append(message),
                           should_stop=lambda: sum("measured" in message for message in messages) >= 2)
    assert [point.strength for point in sweep.points] == [0.1, 0.2]


def test_batching_the_sweep_changes_no_text_and_no_number(handle: ModelHandle) -> None:
    steering = add_feature(make_sae(), 12, 1.0)
    batched = strength_sweep(handle, PROMPT, steering, [0.0, 0.1, 0.4], SETTINGS, batch_size=8)
    one_by_one = strength_sweep(handle, PROMPT, steering, [0.0, 0.1, 0.4], SETTINGS, batch_size=1)
    assert torch.equal(batched.baseline.output_ids, one_by_one.baseline.output_ids)
    for together, alone in zip(batched.points, one_by_one.points, strict=True):
        assert (together.kind, together.strength) == (alone.kind, alone.strength)
        assert torch.equal(together.generation.output_ids, alone.generation.output_ids)
        assert together.metrics.kl_per_position == pytest.approx(alone.metrics.kl_per_position, abs=1e-6)


@pytest.mark.parametrize("strengths", [[], [1.0, math.nan], [math.inf], "1,2", list(range(65))])
def test_a_grid_that_is_empty_too_long_or_not_finite_is_refused(handle: ModelHandle, strengths: Any) -> None:
    with pytest.raises(InvalidArgument) as error:
        strength_sweep(handle, PROMPT, add_feature(make_sae(), 1, 1.0), strengths, SETTINGS)
    assert error.value.details["field"] == "strengths"
