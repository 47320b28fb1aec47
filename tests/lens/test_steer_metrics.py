"""lens.steer metrics, each against an independent computation on the same logits (torch's own kl_div,
cross_entropy, softmax) or a hand-counted example."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hooks import Hooks
from mistudio.lens.model import ModelHandle
from mistudio.lens.steer import (
    AddDirection,
    GenerationSettings,
    ablate_feature,
    add_feature,
    compare,
    measure,
    perplexity,
    teacher_forced_kl,
    word_overlap,
)
from tests.lens.test_steer_interventions import D_MODEL, PROMPT, make_sae, open_tiny

SETTINGS = GenerationSettings(max_new_tokens=8, temperature=1.0, seed=5)


@pytest.fixture(scope="module")
def handle(tiny_models: Any) -> ModelHandle:
    return open_tiny(tiny_models)


def _direction(seed: int = 2) -> torch.Tensor:
    return torch.randn(D_MODEL, generator=torch.Generator().manual_seed(seed))


def _plain_logits(handle: ModelHandle, ids: torch.Tensor, functions: dict[str, Any] | None = None) -> torch.Tensor:
    with torch.no_grad(), Hooks(handle.model, functions or {}) as hooks:
        return hooks.run(input_ids=ids).logits[0]


def test_kl_per_position_equals_torch_kl_div_on_the_same_logits(handle: ModelHandle) -> None:
    v = _direction()
    comparison = compare(handle, PROMPT, [AddDirection("blocks.0.resid_post", v, 5.0)], SETTINGS)
    metrics = measure(handle, comparison)
    baseline = comparison.baseline
    rows = slice(baseline.prompt_length - 1, baseline.prompt_length - 1 + baseline.output_ids.numel())
    clean = F.log_softmax(_plain_logits(handle, baseline.ids)[rows], dim=-1)
    pushed = _plain_logits(handle, baseline.ids, {"blocks.0.resid_post": lambda a, c: a + 5.0 * v})
    steered = F.log_softmax(pushed[rows], dim=-1)
    # kl_div(input, target) = Σ target · (log target − input): with target = steered, KL(steered ‖ baseline).
    expected = F.kl_div(clean, steered, log_target=True, reduction="none").sum(dim=-1)
    assert len(metrics.kl_per_position) == baseline.output_ids.numel()
    torch.testing.assert_close(torch.tensor(metrics.kl_per_position), expected, rtol=1e-4, atol=1e-6)
    assert metrics.kl_mean == pytest.approx(float(expected.mean()), rel=1e-4)
    assert min(metrics.kl_per_position) > 0


def test_kl_is_zero_at_strength_zero_and_grows_with_strength(handle: ModelHandle) -> None:
    sae = make_sae()
    means = []
    # The tiny model's residual stream has a norm of ~0.2, and its final RMSNorm saturates the effect of pushes
    # much larger than that: the grid stays below.
    for strength in (0.0, 0.02, 0.06, 0.2):
        comparison = compare(handle, PROMPT, [add_feature(sae, 30, strength)], SETTINGS)
        kl = teacher_forced_kl(handle, comparison.baseline, comparison.interventions)
        means.append(float(kl.mean()))
    assert means[0] == 0.0
    assert means[1] > 0 and all(later > earlier for earlier, later in zip(means, means[1:], strict=False))
    assert means[-1] > 10 * means[1]


def test_kl_is_zero_where_generated_only_steering_has_not_reached_yet(handle: ModelHandle) -> None:
    comparison = compare(handle, PROMPT, [AddDirection("blocks.0.resid_post", _direction(), 8.0,
                                                       positions="generated")], SETTINGS)
    kl = measure(handle, comparison).kl_per_position
    assert kl[0] == 0.0 and all(value > 0 for value in kl[1:])


def test_perplexity_of_both_outputs_is_that_of_the_unsteered_model(handle: ModelHandle) -> None:
    comparison = compare(handle, PROMPT, [AddDirection("blocks.0.resid_post", _direction(), 20.0)], SETTINGS)
    metrics = measure(handle, comparison)
    for generation, measured in ((comparison.baseline, metrics.perplexity_baseline),
                                 (comparison.steered, metrics.perplexity_steered)):
        start = generation.prompt_length - 1
        logits = _plain_logits(handle, generation.ids)[start:start + generation.output_ids.numel()]
        expected = math.exp(float(F.cross_entropy(logits, generation.output_ids)))
        assert measured == pytest.approx(expected, rel=1e-5)
        assert perplexity(handle, generation) == pytest.approx(expected, rel=1e-5)
    assert metrics.perplexity_baseline != metrics.perplexity_steered


def test_probability_shifts_of_named_tokens_follow_the_logit_lens(handle: ModelHandle) -> None:
    sae = make_sae("blocks.1.resid_post")
    lens = handle.model.get_output_embeddings().weight.detach() @ sae.W_dec.detach()[5]
    promoted, demoted = int(lens.argmax()), int(lens.argmin())
    comparison = compare(handle, PROMPT, [add_feature(sae, 5, 12.0)], SETTINGS)
    text = handle.tokenizer.decode([promoted])
    metrics = measure(handle, comparison, tokens=[promoted, demoted, text])
    up, down, by_text = metrics.token_shifts
    assert up.next_shift > 0 and up.mean_shift > 0 and down.next_shift < 0 and down.mean_shift < 0
    baseline = comparison.baseline
    clean = torch.softmax(_plain_logits(handle, baseline.ids)[baseline.prompt_length - 1], dim=-1)
    assert up.baseline_next == pytest.approx(float(clean[promoted]), rel=1e-5)
    if handle.tokenizer(text, add_special_tokens=False)["input_ids"][0] == promoted:  # text names the same token
        assert (by_text.token_id, by_text.steered_next) == (promoted, up.steered_next)


def test_a_token_outside_the_vocabulary_is_refused_naming_the_field(handle: ModelHandle) -> None:
    comparison = compare(handle, PROMPT, [AddDirection("blocks.0.resid_post", _direction(), 1.0)], SETTINGS)
    with pytest.raises(InvalidArgument) as error:
        measure(handle, comparison, tokens=[10_000])
    assert error.value.details["field"] == "tokens"


def test_ablating_a_feature_active_on_the_output_reads_back_zero_and_adding_one_raises_it(
        handle: ModelHandle) -> None:
    # The test SAE's encoder is its decoder's transpose with unit rows, so removing z_i · d_i from the activation
    # takes feature i's pre-activation to exactly z_i − z_i: re-encoded, the ablated feature reads 0.
    sae = make_sae()
    ids = handle.tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        seen: dict[str, torch.Tensor] = {}
        _plain_logits(handle, ids, {"blocks.0.resid_post": lambda a, c: seen.__setitem__("a", a.clone())})
        feature = int(sae.encode(seen["a"][0]).gt(0).sum(dim=0).argmax())  # active on the most positions
    ablated = measure(handle, compare(handle, PROMPT, [ablate_feature(sae, feature)], SETTINGS))
    (reading,) = ablated.feature_activations
    # The tiny model's residual stream is small (embeddings ~0.02 per value): active means a few hundredths.
    assert reading.feature == feature and reading.baseline_max > 0.01
    assert reading.steered_max < 1e-6
    added = measure(handle, compare(handle, PROMPT, [add_feature(sae, feature, 3.0)], SETTINGS))
    (raised,) = added.feature_activations
    assert raised.steered_mean > raised.baseline_mean + 2.0  # the push lands on the feature (minus ReLU'd parts)


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("the cat sat", "the dog sat", 0.5), ("Same words here", "here same WORDS", 1.0), ("a b", "c d", 0.0),
    ("", "", 1.0), ("", "words", 0.0)])
def test_word_overlap_is_shared_words_over_all_words(first: str, second: str, expected: float) -> None:
    assert word_overlap(first, second) == expected


def test_metrics_are_a_plain_dict_for_the_caller(handle: ModelHandle) -> None:
    comparison = compare(handle, PROMPT, [add_feature(make_sae(), 3, 2.0)], SETTINGS)
    values = measure(handle, comparison, tokens=[7]).as_dict()
    assert set(values) == {"kl_per_position", "kl_mean", "perplexity_baseline", "perplexity_steered",
                           "token_shifts", "feature_activations", "word_overlap"}
    assert values["token_shifts"][0]["token_id"] == 7 and values["feature_activations"][0]["feature"] == 3
