"""Baseline and steered generation from one prompt with the same seed, each streamed token by token.

    comparison = compare(handle, "Tell me about the sea", [add_feature(sae, 123, 4.0)],
                         GenerationSettings(max_new_tokens=48, temperature=0.7, seed=1),
                         on_token=lambda event: print(event.run, event.text))

Runs go through transformers' `generate` (KV cache on), steered rows inside the interventions' hooks with the
prompt's length fixed, so "prompt"/"generated" positions mean the same as in a teacher-forced pass over the
finished text (what `lens.steer.metrics` does). Sampling is `lens.steer.sampling`'s: one uniform draw per step
from the seed, shared by every row, so with strength 0 both texts are the same, a run's text does not depend on
whether it was batched with others, and differences come from the steering, not from the draw. Baseline and
steered run as two rows of one batch by default (about the time of one run where the model is memory-bound).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from mistudio.lens.steer.apply import steering_hooks
from mistudio.lens.steer.interventions import Intervention, check_against_model
from mistudio.lens.steer.prompts import context_length, encode_prompt
from mistudio.lens.steer.sampling import sampling_options
from mistudio.lens.steer.streaming import RowStreamer, TokenEvent
from mistudio.lens.steer.validation import finite_number, invalid, whole_number

BASELINE, STEERED = "baseline", "steered"


@dataclass(frozen=True)
class GenerationSettings:
    """How to sample: greedy at temperature 0; `use_chat_template=None` uses the template when there is one."""

    max_new_tokens: int = 48
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    use_chat_template: bool | None = None

    def check(self) -> None:
        whole_number(self.max_new_tokens, "max_new_tokens", minimum=1)
        if finite_number(self.temperature, "temperature") < 0:
            raise invalid(f"temperature must be 0 (greedy) or more; got {self.temperature}", "temperature")
        top_p = finite_number(self.top_p, "top_p")
        if not 0 < top_p <= 1:
            raise invalid(f"top_p must be above 0 and at most 1; got {top_p}", "top_p")
        if self.seed is not None:
            whole_number(self.seed, "seed", minimum=0, maximum=2**63 - 1)


@dataclass(frozen=True, eq=False)
class Generation:
    """One run's prompt and output ids (1-D, on the CPU), decoded text, seed and why it ended."""

    run: str
    prompt_ids: torch.Tensor
    output_ids: torch.Tensor
    text: str
    seed: int
    finish_reason: str  # "length", "eos" or "stopped"

    @property
    def prompt_length(self) -> int:
        return int(self.prompt_ids.numel())

    @property
    def ids(self) -> torch.Tensor:
        """Prompt and output as one sequence [1, length]."""
        return torch.cat([self.prompt_ids, self.output_ids])[None]


@dataclass(frozen=True, eq=False)
class Comparison:
    baseline: Generation
    steered: Generation
    interventions: tuple[Intervention, ...]
    settings: GenerationSettings


class _StopWhenAsked(StoppingCriteria):
    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), bool(self.should_stop()), dtype=torch.bool, device=input_ids.device)


def prepare(handle: Any, prompt: str, interventions: Sequence[Intervention], settings: GenerationSettings
            ) -> torch.Tensor:
    """Check everything before any token is generated; the prompt's ids [1, length]."""
    if handle.tokenizer is None:
        raise invalid("the model was opened without a tokenizer; open it with with_tokenizer=True", "model")
    settings.check()
    check_against_model(list(interventions), handle.layout)
    ids = encode_prompt(handle.tokenizer, prompt, settings.use_chat_template)
    limit = context_length(handle.model)
    if limit is not None and ids.shape[1] + settings.max_new_tokens > limit:
        room = max(limit - ids.shape[1], 0)
        raise invalid(f"max_new_tokens {settings.max_new_tokens} does not fit: the prompt takes {ids.shape[1]} of "
                      f"the model's {limit} positions, leaving {room}", "max_new_tokens", context_length=limit,
                      prompt_tokens=int(ids.shape[1]))
    return ids


@torch.no_grad()  # no_grad, not inference_mode: some quantized tensor types refuse inference tensors
def generate_runs(handle: Any, prompt_ids: torch.Tensor, runs: Sequence[tuple[str, Sequence[Intervention]]],
                  settings: GenerationSettings, seed: int, *, on_token: Callable[[TokenEvent], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> list[Generation]:
    """Several runs from one prompt in one batched `generate`: row r is `runs[r]` = (name, its interventions).

    Prompt ids must already be checked (`prepare`). Every row is what it would be alone (same seed, coupled
    sampling); one call costs about one run's time where the model is not compute-bound.
    """
    tokenizer, model = handle.tokenizer, handle.model
    prompt_length = int(prompt_ids.shape[1])
    eos = {int(t) for t in _as_list(getattr(model.generation_config, "eos_token_id", None))}
    eos |= {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    streamer = RowStreamer(tokenizer, [name for name, _ in runs], on_token, eos)
    pad = next((t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id) if t is not None), 0)
    stopping = StoppingCriteriaList([_StopWhenAsked(should_stop)] if should_stop is not None else [])
    rows = [list(interventions) for _, interventions in runs]
    hooks = steering_hooks(handle, rows=rows, prompt_length=prompt_length) if any(rows) \
        else contextlib.nullcontext()
    ids = prompt_ids.to(handle.input_device).expand(len(runs), -1)
    with hooks:
        output = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), streamer=streamer,
                                max_new_tokens=settings.max_new_tokens, pad_token_id=pad, stopping_criteria=stopping,
                                **sampling_options(settings.temperature, settings.top_p, seed))
    stopped = should_stop is not None and should_stop()
    generations = []
    for row, (name, _) in enumerate(runs):
        output_ids = output[row, prompt_length:].cpu()
        ends = [index for index, token in enumerate(output_ids.tolist()) if token in eos]
        if ends:  # generate pads a finished row until the longest is done
            output_ids = output_ids[:ends[0] + 1]
        finish = "stopped" if stopped else "eos" if ends else "length"
        generations.append(Generation(name, prompt_ids[0].cpu(), output_ids, streamer.text(row), seed, finish))
    return generations


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _seed(settings: GenerationSettings) -> int:
    return settings.seed if settings.seed is not None else random.randrange(2**31)


def generate(handle: Any, prompt: str, interventions: Sequence[Intervention] = (),
             settings: GenerationSettings | None = None, *, run: str | None = None,
             on_token: Callable[[TokenEvent], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> Generation:
    """Generate from `prompt` with the interventions (none: a baseline), streaming each token to `on_token`."""
    settings = settings or GenerationSettings()
    prompt_ids = prepare(handle, prompt, interventions, settings)
    name = run or (STEERED if interventions else BASELINE)
    return generate_runs(handle, prompt_ids, [(name, list(interventions))], settings, _seed(settings),
                         on_token=on_token, should_stop=should_stop)[0]


def compare(handle: Any, prompt: str, interventions: Sequence[Intervention],
            settings: GenerationSettings | None = None, *, batched: bool = True,
            on_token: Callable[[TokenEvent], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> Comparison:
    """The baseline and the steered run from the same prompt and seed; events say which run they belong to.

    `batched` runs both as two rows of one `generate` (their tokens stream interleaved, side by side); without
    it the baseline runs first, then the steered run. Either way each text is what it would be alone.
    """
    settings = settings or GenerationSettings()
    prompt_ids = prepare(handle, prompt, interventions, settings)
    seed = _seed(settings)
    runs = [(BASELINE, []), (STEERED, list(interventions))]
    if batched:
        baseline, steered = generate_runs(handle, prompt_ids, runs, settings, seed, on_token=on_token,
                                          should_stop=should_stop)
    else:
        baseline, steered = (generate_runs(handle, prompt_ids, [one], settings, seed, on_token=on_token,
                                           should_stop=should_stop)[0] for one in runs)
    return Comparison(baseline, steered, tuple(interventions), settings)
