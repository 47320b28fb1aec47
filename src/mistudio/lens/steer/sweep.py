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
from mistudio.lens.steer.generation import BASELINE, Comparison, Generation, GenerationSettings, generate_runs, prepare
from mistudio.lens.steer.interventions import AddDirection, ClampFeature, Intervention, decoder_direction
from mistudio.lens.steer.metrics import SteeringMetrics, measure
from mistudio.lens.steer.streaming import TokenEvent
from mistudio.lens.steer.validation import finite_number, invalid, whole_number

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
                   random_baseline: bool = True, random_seed: int = 0, batch_size: int = 8,
                   on_token: Callable[[TokenEvent], None] | None = None,
                   on_progress: Callable[[float, str], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> SweepResult:
    """Generate and measure `intervention` at each strength (and the random control), all with one seed.

    The baseline and every run are rows of batches of `batch_size` (each row is what it would be alone), named
    "baseline", "intervention@<strength>" and "random@<strength>" in token events. `should_stop` ends the sweep
    early; the points measured until then are returned.
    """
    settings = settings or GenerationSettings()
    grid = _check_strengths(strengths)
    batch_size = whole_number(batch_size, "batch_size", minimum=1, maximum=MAX_STRENGTHS)
    prompt_ids = prepare(handle, prompt, [intervention], settings)
    seed = settings.seed if settings.seed is not None else random.randrange(2**31)
    control = random_counterpart(intervention, random_seed) if random_baseline else None
    kinds: list[tuple[str, Intervention]] = [(INTERVENTION, intervention)] + ([(RANDOM, control)] if control else [])
    planned = [(BASELINE, None, 0.0)] + [(kind, base.with_strength(strength), strength)
                                          for strength in grid for kind, base in kinds]
    steps = 2 * len(planned) - 1  # every run generated, every run but the baseline measured
    done = 0

    def progress(message: str) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done / steps, message)

    baseline: Generation | None = None
    points: list[SweepPoint] = []
    for start in range(0, len(planned), batch_size):
        if start and should_stop is not None and should_stop():
            break
        chunk = planned[start:start + batch_size]
        runs = [(BASELINE if steering is None else f"{kind}@{strength:g}", [steering] if steering else [])
                for kind, steering, strength in chunk]
        generations = generate_runs(handle, prompt_ids, runs, settings, seed, on_token=on_token,
                                    should_stop=should_stop)
        for (kind, steering, strength), generation in zip(chunk, generations, strict=True):
            progress(f"{generation.run} generated")
            if steering is None:
                baseline = generation
                continue
            if generation.finish_reason == "stopped" or (should_stop is not None and should_stop()):
                break
            assert baseline is not None
            metrics = measure(handle, Comparison(baseline, generation, (steering,), settings), tokens)
            points.append(SweepPoint(strength, kind, generation, metrics))
            progress(f"{kind} at strength {strength:g} measured")
    assert baseline is not None  # the first batch always runs, and it starts with the baseline
    return SweepResult(baseline, points, control)
