"""How far steering moved the model, and what it cost: measured on the texts of a baseline/steered comparison.

All distributions are teacher-forced: one forward pass over prompt + text, with the interventions where a number
is about the steered model (the same positions as during generation: the prompt's length is fixed).
- KL per position = KL(p_steered ‖ p_baseline) of the next-token distributions on the *baseline* text, at each
  position that predicted one of its output tokens (the prompt's last position, then each output token but the
  last). 0 where steering does not reach, e.g. the first position when steering "generated" positions only.
- Perplexity = exp(mean negative log-likelihood of a run's output tokens) under the unsteered model: what fluency
  steering cost, judged by the model itself.
- Token shifts: for tokens the user names, p_steered − p_baseline at the first output position and averaged over
  the baseline text's output positions.
- Feature activation: for each SAE feature an intervention uses, the SAE's code for it on the output tokens, read
  at its hook point after the interventions there: on the baseline text unsteered, and on the steered text
  steered. A clamp's re-encoded value need not equal the clamp exactly (the error term is kept and the encoder is
  not the decoder's inverse); an add shows how far the feature rose.
- Word overlap: |words in both| / |words in either| of the two texts (lower-cased), 1 when both are empty.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from mistudio.lens.hooks import HookContext, HookFunction
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.steer.apply import steering_hooks
from mistudio.lens.steer.generation import Comparison, Generation
from mistudio.lens.steer.interventions import Intervention
from mistudio.lens.steer.prompts import token_id

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class TokenShift:
    token: str | int
    token_id: int
    baseline_next: float  # probability at the first output position
    steered_next: float
    mean_shift: float  # mean over the baseline text's output positions of p_steered − p_baseline

    @property
    def next_shift(self) -> float:
        return self.steered_next - self.baseline_next


@dataclass(frozen=True)
class FeatureActivation:
    hook_point: str
    feature: int
    baseline_mean: float
    baseline_max: float
    steered_mean: float
    steered_max: float


@dataclass(frozen=True)
class SteeringMetrics:
    kl_per_position: list[float]
    kl_mean: float
    perplexity_baseline: float
    perplexity_steered: float
    token_shifts: list[TokenShift]
    feature_activations: list[FeatureActivation]
    word_overlap: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@torch.no_grad()
def next_token_log_probs(handle: Any, ids: torch.Tensor, interventions: Sequence[Intervention] = (), *,
                         prompt_length: int, readers: dict[str, HookFunction] | None = None) -> torch.Tensor:
    """Log-probabilities of the next token at every position of `ids` [1, length] → [length, vocab] float32."""
    ids = ids.to(handle.input_device)
    with steering_hooks(handle, interventions, prompt_length=prompt_length, readers=readers) as hooks:
        logits = hooks.run(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    return F.log_softmax(logits[0].float(), dim=-1).cpu()


def kl_divergence(steered_log_probs: torch.Tensor, baseline_log_probs: torch.Tensor) -> torch.Tensor:
    """KL(p_steered ‖ p_baseline) per row of two [positions, vocab] log-probability tensors."""
    return (steered_log_probs.exp() * (steered_log_probs - baseline_log_probs)).sum(dim=-1).clamp_min(0.0)


def _output_rows(generation: Generation) -> slice:
    """The positions whose next-token distribution predicted the output tokens."""
    start = generation.prompt_length - 1
    return slice(start, start + int(generation.output_ids.numel()))


def teacher_forced_kl(handle: Any, baseline: Generation, interventions: Sequence[Intervention]) -> torch.Tensor:
    """KL(p_steered ‖ p_baseline) at each position that predicted one of the baseline's output tokens: [tokens]."""
    rows = _output_rows(baseline)
    clean = next_token_log_probs(handle, baseline.ids, prompt_length=baseline.prompt_length)[rows]
    steered = next_token_log_probs(handle, baseline.ids, interventions, prompt_length=baseline.prompt_length)[rows]
    return kl_divergence(steered, clean)


def _perplexity(log_probs: torch.Tensor, generation: Generation) -> float:
    if not generation.output_ids.numel():
        return float("nan")
    chosen = log_probs[_output_rows(generation)].gather(-1, generation.output_ids[:, None].long())
    return math.exp(-float(chosen.mean()))


def perplexity(handle: Any, generation: Generation) -> float:
    """exp(mean NLL) of the run's output tokens given the prompt and the tokens before, under the unsteered model."""
    return _perplexity(next_token_log_probs(handle, generation.ids, prompt_length=generation.prompt_length),
                       generation)


def word_overlap(first: str, second: str) -> float:
    """Jaccard overlap of the two texts' lower-cased word sets (1 when both have no words)."""
    words_first, words_second = set(_WORD.findall(first.lower())), set(_WORD.findall(second.lower()))
    union = words_first | words_second
    return 1.0 if not union else len(words_first & words_second) / len(union)


def token_shifts(tokenizer: Any, tokens: Sequence[str | int], baseline_log_probs: torch.Tensor,
                 steered_log_probs: torch.Tensor) -> list[TokenShift]:
    """Probability shifts of named tokens, from the two runs' log-probabilities at the output positions."""
    shifts = []
    for token in tokens:
        index = token_id(tokenizer, token)
        baseline_p, steered_p = baseline_log_probs[:, index].exp(), steered_log_probs[:, index].exp()
        shifts.append(TokenShift(token, index, float(baseline_p[0]), float(steered_p[0]),
                                 float((steered_p - baseline_p).mean())))
    return shifts


def _features(interventions: Sequence[Intervention]) -> list[tuple[str, SparseAutoencoder, int]]:
    found: dict[tuple[str, int, int], tuple[str, SparseAutoencoder, int]] = {}
    for intervention in interventions:
        if intervention.sae is not None and intervention.feature is not None:
            point = intervention.hook_point
            found.setdefault((point, id(intervention.sae), intervention.feature),  # type: ignore[arg-type]
                             (point, intervention.sae, intervention.feature))  # type: ignore[arg-type]
    return list(found.values())


def _feature_readers(features: list[tuple[str, SparseAutoencoder, int]], rows: slice
                     ) -> tuple[dict[str, HookFunction], dict[int, torch.Tensor]]:
    """Hook functions that store each feature's code over the output tokens' positions."""
    seen: dict[int, torch.Tensor] = {}
    by_point: dict[str, list[tuple[int, SparseAutoencoder, int]]] = {}
    for index, (point, sae, feature) in enumerate(features):
        by_point.setdefault(point, []).append((index, sae, feature))

    def reader(items: list[tuple[int, SparseAutoencoder, int]]) -> HookFunction:
        def read(activation: torch.Tensor, context: HookContext) -> None:
            for index, sae, feature in items:
                with torch.no_grad():
                    codes = sae.encode(activation[0, rows].to(sae.W_enc.device))
                seen[index] = codes[:, feature].float().cpu()

        return read

    return {point: reader(items) for point, items in by_point.items()}, seen


def _stats(values: torch.Tensor | None) -> tuple[float, float]:
    if values is None or not values.numel():
        return float("nan"), float("nan")
    return float(values.mean()), float(values.max())


def measure(handle: Any, comparison: Comparison, tokens: Sequence[str | int] = ()) -> SteeringMetrics:
    """Every metric of the module docstring for one comparison (four teacher-forced forward passes)."""
    baseline, steered, interventions = comparison.baseline, comparison.steered, list(comparison.interventions)
    features = _features(interventions)
    # The output tokens as inputs: positions prompt_length .. prompt_length + n − 1.
    inputs_baseline = slice(baseline.prompt_length, baseline.prompt_length + int(baseline.output_ids.numel()))
    inputs_steered = slice(steered.prompt_length, steered.prompt_length + int(steered.output_ids.numel()))
    readers, seen_baseline = _feature_readers(features, inputs_baseline)
    clean_on_baseline = next_token_log_probs(handle, baseline.ids, prompt_length=baseline.prompt_length,
                                             readers=readers)
    steered_on_baseline = next_token_log_probs(handle, baseline.ids, interventions,
                                               prompt_length=baseline.prompt_length)
    clean_on_steered = next_token_log_probs(handle, steered.ids, prompt_length=steered.prompt_length)
    seen_steered: dict[int, torch.Tensor] = {}
    if features:
        readers, seen_steered = _feature_readers(features, inputs_steered)
        next_token_log_probs(handle, steered.ids, interventions, prompt_length=steered.prompt_length,
                             readers=readers)
    rows = _output_rows(baseline)
    kl = kl_divergence(steered_on_baseline[rows], clean_on_baseline[rows])
    activations = []
    for index, (point, _, feature) in enumerate(features):
        baseline_mean, baseline_max = _stats(seen_baseline.get(index))
        steered_mean, steered_max = _stats(seen_steered.get(index))
        activations.append(FeatureActivation(point, feature, baseline_mean, baseline_max, steered_mean,
                                             steered_max))
    return SteeringMetrics(
        kl_per_position=[float(value) for value in kl],
        kl_mean=float(kl.mean()) if kl.numel() else float("nan"),
        perplexity_baseline=_perplexity(clean_on_baseline, baseline),
        perplexity_steered=_perplexity(clean_on_steered, steered),
        token_shifts=token_shifts(handle.tokenizer, tokens, clean_on_baseline[rows], steered_on_baseline[rows]),
        feature_activations=activations,
        word_overlap=word_overlap(baseline.text, steered.text))
