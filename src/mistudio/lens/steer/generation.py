"""Baseline and steered generation from one prompt with the same seed, each streamed token by token.

    comparison = compare(handle, "Tell me about the sea", [add_feature(sae, 123, 4.0)],
                         GenerationSettings(max_new_tokens=48, temperature=0.7, seed=1),
                         on_token=lambda event: print(event.run, event.text))

Both runs go through transformers' `generate` (KV cache on), the steered one inside the interventions' hooks
with the prompt's length fixed, so "prompt"/"generated" positions mean the same as in a teacher-forced pass over
the finished text (what `lens.steer.metrics` does). The RNG is seeded with the same seed before each run: with
strength 0 both texts are the same, and any difference comes from the steering, not from the draw.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from mistudio.lens.steer.interventions import Intervention, check_against_model, steering_hooks
from mistudio.lens.steer.prompts import context_length, encode_prompt
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


@dataclass(frozen=True)
class TokenEvent:
    """One generated token: `text` is what it adds to the decoded output ("" while a character is incomplete)."""

    run: str
    index: int
    token_id: int
    text: str


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


class _Streamer(BaseStreamer):
    """Hands each new token to `on_token` (`generate` calls `put` with the prompt first, then once per step).

    The text is decoded from all new ids each step and the new part sent, so a token that is part of a character
    (byte-level BPE) sends "" and the one completing it sends the whole character, never a replacement mark."""

    def __init__(self, tokenizer: Any, run: str, on_token: Callable[[TokenEvent], None] | None) -> None:
        self.tokenizer, self.run, self.on_token = tokenizer, run, on_token
        self.ids: list[int] = []
        self.sent = ""
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        for token in value.reshape(-1).tolist():
            self.ids.append(int(token))
            text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
            new = "" if text.endswith("\ufffd") else text[len(self.sent):]  # decoding more ids only appends
            self.sent += new
            if self.on_token is not None:
                self.on_token(TokenEvent(self.run, len(self.ids) - 1, int(token), new))

    def end(self) -> None:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text != self.sent and self.on_token is not None and self.ids:  # an incomplete character at the end
            self.on_token(TokenEvent(self.run, len(self.ids) - 1, self.ids[-1], text[len(self.sent):]))
        self.sent = text


class _StopWhenAsked(StoppingCriteria):
    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), bool(self.should_stop()), dtype=torch.bool, device=input_ids.device)


def sampling_options(temperature: float, top_p: float) -> dict[str, Any]:
    """`generate` options: greedy at temperature 0 (the model's generation config may not turn sampling on)."""
    if temperature == 0:
        return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    return {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": None}


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
def generate_ids(handle: Any, prompt_ids: torch.Tensor, interventions: Sequence[Intervention],
                 settings: GenerationSettings, seed: int, *, run: str,
                 on_token: Callable[[TokenEvent], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> Generation:
    """One run from already checked prompt ids (see `prepare`)."""
    tokenizer, model = handle.tokenizer, handle.model
    prompt_length = int(prompt_ids.shape[1])
    streamer = _Streamer(tokenizer, run, on_token)
    pad = next((t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id) if t is not None), 0)
    stopping = StoppingCriteriaList([_StopWhenAsked(should_stop)] if should_stop is not None else [])
    hooks = steering_hooks(handle, interventions, prompt_length=prompt_length) if interventions \
        else contextlib.nullcontext()
    ids = prompt_ids.to(handle.input_device)
    torch.manual_seed(seed)  # every device's generator: the draw is a function of the seed alone
    with hooks:
        output = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), streamer=streamer,
                                max_new_tokens=settings.max_new_tokens, pad_token_id=pad,
                                stopping_criteria=stopping, **sampling_options(settings.temperature, settings.top_p))
    output_ids = output[0, prompt_length:].cpu()
    eos = {int(t) for t in _as_list(getattr(model.generation_config, "eos_token_id", None))}
    if should_stop is not None and should_stop():
        finish = "stopped"
    elif output_ids.numel() and int(output_ids[-1]) in eos:
        finish = "eos"
    else:
        finish = "length"
    return Generation(run, prompt_ids[0].cpu(), output_ids, streamer.sent, seed, finish)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def generate(handle: Any, prompt: str, interventions: Sequence[Intervention] = (),
             settings: GenerationSettings | None = None, *, run: str | None = None,
             on_token: Callable[[TokenEvent], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> Generation:
    """Generate from `prompt` with the interventions (none: a baseline), streaming each token to `on_token`."""
    settings = settings or GenerationSettings()
    prompt_ids = prepare(handle, prompt, interventions, settings)
    seed = settings.seed if settings.seed is not None else random.randrange(2**31)
    return generate_ids(handle, prompt_ids, list(interventions), settings, seed,
                        run=run or (STEERED if interventions else BASELINE), on_token=on_token,
                        should_stop=should_stop)


def compare(handle: Any, prompt: str, interventions: Sequence[Intervention],
            settings: GenerationSettings | None = None, *, on_token: Callable[[TokenEvent], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> Comparison:
    """The baseline, then the steered run, from the same prompt and seed; events say which run they belong to."""
    settings = settings or GenerationSettings()
    prompt_ids = prepare(handle, prompt, interventions, settings)
    seed = settings.seed if settings.seed is not None else random.randrange(2**31)
    baseline = generate_ids(handle, prompt_ids, [], settings, seed, run=BASELINE, on_token=on_token,
                            should_stop=should_stop)
    steered = generate_ids(handle, prompt_ids, list(interventions), settings, seed, run=STEERED, on_token=on_token,
                           should_stop=should_stop)
    return Comparison(baseline, steered, tuple(interventions), settings)
