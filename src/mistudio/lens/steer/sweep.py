"""A strength sweep: one intervention at each strength of a grid, every run measured against one baseline, with a
random direction of the same norm at the same strengths as the control.

A steering effect means something when the same push in a random direction does much less: the random series
answers "is this feature special, or does any vector of this size do it?". For an add, the random direction has
the added direction's norm; for a clamp to v, which adds (v − current) × the feature's decoder direction, it has
the decoder direction's norm and is added with strength v (the same push where the feature was off).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mistudio.lens.steer.directions import random_direction
from mistudio.lens.steer.generation import (
    BASELINE,
    Comparison,
    Generation,
    GenerationSettings,
    TokenEvent,
    generate_ids,
    prepare,
)
from mistudio.lens.steer.interventions import AddDirection, ClampFeature, Intervention, decoder_direction
from mistudio.lens.steer.metrics import SteeringMetrics, measure
from mistudio.lens.steer.validation import finite_number, invalid

MAX_STRENGTHS = 64
INTERVENTION, RANDOM = "intervention", "random"


@dataclass(frozen=True, eq=False)
class SweepPoint:
    strength: float
    kind: str  # INTERVENTION or RANDOM
    generation: Generation
    metrics: SteeringMetrics


@dataclass(frozen=True, eq=False)
class SweepResult:
    baseline: Generation
    points: list[SweepPoint]
    random_direction: AddDirection | None

    def series(self, metric: str, kind: str = INTERVENTION) -> list[tuple[float, float]]:
        """(strength, value) of one numeric SteeringMetrics field (kl_mean, perplexity_steered, …) for one kind."""
        return [(point.strength, float(getattr(point.metrics, metric))) for point in self.points
                if point.kind == kind]


def random_counterpart(intervention: Intervention, seed: int = 0) -> AddDirection:
    """The norm-matched random direction for `intervention` (see the module docstring), at its strength."""
    if isinstance(intervention, ClampFeature):
        reference = decoder_direction(intervention.sae, intervention.feature)
    else:
        reference = intervention.direction
    return AddDirection(intervention.hook_point, random_direction(reference, seed), intervention.strength,
                        intervention.positions, label=f"random direction (seed {seed})")


def _check_strengths(strengths: Sequence[float]) -> list[float]:
    if isinstance(strengths, str) or not isinstance(strengths, Sequence) or not strengths:
        raise invalid("strengths must be a non-empty list of numbers", "strengths")
    if len(strengths) > MAX_STRENGTHS:
        raise invalid(f"at most {MAX_STRENGTHS} strengths per sweep; got {len(strengths)}", "strengths")
    return [finite_number(value, "strengths", index=index) for index, value in enumerate(strengths)]


def strength_sweep(handle: object, prompt: str, intervention: Intervention, strengths: Sequence[float],
                   settings: GenerationSettings | None = None, *, tokens: Sequence[str | int] = (),
                   random_baseline: bool = True, random_seed: int = 0,
                   on_token: Callable[[TokenEvent], None] | None = None,
                   on_progress: Callable[[float, str], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> SweepResult:
    """Generate and measure `intervention` at each strength (and the random control), all with one seed.

    Runs are named "baseline", "intervention@<strength>" and "random@<strength>" in token events. `should_stop`
    ends the sweep after the run in progress; the points measured so far are returned.
    """
    settings = settings or GenerationSettings()
    grid = _check_strengths(strengths)
    prompt_ids = prepare(handle, prompt, [intervention], settings)
    seed = settings.seed if settings.seed is not None else random.randrange(2**31)
    control = random_counterpart(intervention, random_seed) if random_baseline else None
    runs: list[tuple[str, Intervention]] = [(INTERVENTION, intervention)] + ([(RANDOM, control)] if control else [])
    total = 1 + len(grid) * len(runs)

    def progress(done: int, message: str) -> None:
        if on_progress is not None:
            on_progress(done / total, message)

    baseline = generate_ids(handle, prompt_ids, [], settings, seed, run=BASELINE, on_token=on_token)
    progress(1, "baseline generated")
    points: list[SweepPoint] = []
    for strength in grid:
        for kind, base in runs:
            if should_stop is not None and should_stop():
                return SweepResult(baseline, points, control)
            steering = base.with_strength(strength)
            generation = generate_ids(handle, prompt_ids, [steering], settings, seed, run=f"{kind}@{strength:g}",
                                      on_token=on_token)
            metrics = measure(handle, Comparison(baseline, generation, (steering,), settings), tokens)
            points.append(SweepPoint(strength, kind, generation, metrics))
            progress(1 + len(points), f"{kind} at strength {strength:g} measured")
    return SweepResult(baseline, points, control)
