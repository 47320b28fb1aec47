"""lens.steer generation: same-seed baseline and steered runs, streamed, consistent with the KV cache; bad input."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.model import ModelHandle
from mistudio.lens.sae import SAEConfig, SparseAutoencoder
from mistudio.lens.steer import (
    AddDirection,
    GenerationSettings,
    TokenEvent,
    add_feature,
    clamp_feature,
    compare,
    encode_prompt,
    generate,
    steering_hooks,
)
from tests.lens.test_steer_interventions import D_MODEL, PROMPT, make_sae, open_tiny

SAMPLED = GenerationSettings(max_new_tokens=10, temperature=1.0, top_p=0.9, seed=11)


@pytest.fixture(scope="module")
def handle(tiny_models: Any) -> ModelHandle:
    return open_tiny(tiny_models)


def _push(seed: int = 3, scale: float = 30.0) -> torch.Tensor:
    return scale * torch.randn(D_MODEL, generator=torch.Generator().manual_seed(seed))


def test_same_seed_and_zero_strength_give_the_same_text_and_a_real_strength_changes_it(handle: ModelHandle) -> None:
    sae = make_sae()
    zero = compare(handle, PROMPT, [add_feature(sae, 7, 0.0)], SAMPLED)
    assert torch.equal(zero.baseline.output_ids, zero.steered.output_ids)
    assert zero.baseline.text == zero.steered.text and zero.baseline.seed == zero.steered.seed == 11
    strong = compare(handle, PROMPT, [AddDirection("blocks.0.resid_post", _push())], SAMPLED)
    assert torch.equal(strong.baseline.output_ids, zero.baseline.output_ids)  # the baseline depends on the seed only
    assert not torch.equal(strong.steered.output_ids, strong.baseline.output_ids)


def test_another_seed_draws_another_text(handle: ModelHandle) -> None:
    first = generate(handle, PROMPT, settings=SAMPLED)
    second = generate(handle, PROMPT, settings=GenerationSettings(max_new_tokens=10, temperature=1.0, seed=12))
    assert first.run == "baseline" and not torch.equal(first.output_ids, second.output_ids)


def test_each_run_streams_token_by_token_and_the_pieces_make_its_text(handle: ModelHandle) -> None:
    events: list[TokenEvent] = []
    comparison = compare(handle, PROMPT, [AddDirection("blocks.0.resid_post", _push())], SAMPLED,
                         on_token=events.append)
    for generation in (comparison.baseline, comparison.steered):
        mine = [event for event in events if event.run == generation.run]
        assert [event.token_id for event in mine][:generation.output_ids.numel()] == generation.output_ids.tolist()
        assert [event.index for event in mine][:generation.output_ids.numel()] == list(
            range(generation.output_ids.numel()))
        assert "".join(event.text for event in mine) == generation.text
    assert events[0].run == "baseline" and events[-1].run == "steered"
    assert comparison.baseline.finish_reason in ("length", "eos")


def test_steering_generated_positions_only_keeps_the_first_token_which_the_prompt_predicts(
        handle: ModelHandle) -> None:
    greedy = GenerationSettings(max_new_tokens=8, temperature=0.0)
    comparison = compare(handle, PROMPT, [AddDirection("blocks.0.resid_post", _push(), positions="generated")], greedy)
    baseline, steered = comparison.baseline.output_ids, comparison.steered.output_ids
    assert steered[0] == baseline[0]
    assert not torch.equal(steered, baseline)


@pytest.mark.parametrize("positions", ["all", "generated", "prompt", 3])
def test_steering_under_the_kv_cache_matches_a_teacher_forced_pass_over_the_result(
        handle: ModelHandle, positions: Any) -> None:
    """Each step's logits in `generate` (cache on, and off) equal a single steered pass over the final text."""
    sae = make_sae()
    interventions = [AddDirection("blocks.0.resid_post", _push(scale=6.0), positions=positions),
                     clamp_feature(sae, 20, 5.0, positions=positions)]
    ids = encode_prompt(handle.tokenizer, PROMPT, use_chat_template=False)
    prompt_length, new = ids.shape[1], 6
    runs = {}
    for use_cache in (True, False):
        with torch.no_grad(), steering_hooks(handle, interventions, prompt_length=prompt_length):
            runs[use_cache] = handle.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new, min_new_tokens=new,
                do_sample=False, pad_token_id=0, use_cache=use_cache, output_logits=True,
                return_dict_in_generate=True)
    assert torch.equal(runs[True].sequences, runs[False].sequences)
    sequence = runs[True].sequences
    with torch.no_grad(), steering_hooks(handle, interventions, prompt_length=prompt_length) as hooks:
        forced = hooks.run(input_ids=sequence[:, :-1]).logits[0, prompt_length - 1:]
    stepped = torch.cat(list(runs[True].logits))  # raw logits: scores have min_new_tokens applied
    torch.testing.assert_close(stepped, forced, rtol=0, atol=1e-4)
    with torch.no_grad():
        clean = handle.model(input_ids=sequence[:, :-1]).logits[0, prompt_length - 1:]
    assert not torch.allclose(stepped, clean, atol=1e-3)  # the steering did reach these steps


def test_the_chat_template_is_used_when_the_tokenizer_has_one(handle: ModelHandle) -> None:
    templated = generate(handle, PROMPT, settings=GenerationSettings(max_new_tokens=2, seed=0))
    text = handle.tokenizer.decode(templated.prompt_ids)
    assert "<|user|>" in text and "<|assistant|>" in text and PROMPT in text
    plain = generate(handle, PROMPT, settings=GenerationSettings(max_new_tokens=2, seed=0, use_chat_template=False))
    assert handle.tokenizer.decode(plain.prompt_ids, skip_special_tokens=True) == PROMPT


def test_should_stop_ends_the_run_early(handle: ModelHandle) -> None:
    seen: list[TokenEvent] = []
    run = generate(handle, PROMPT, settings=GenerationSettings(max_new_tokens=30, temperature=1.0, seed=1),
                   on_token=seen.append, should_stop=lambda: len(seen) >= 3)
    # The request is seen at the end of a step: at most one more token, and every token kept was streamed.
    assert run.finish_reason == "stopped" and len(seen) == run.output_ids.numel() <= 4


def _refused(call: Any) -> str:
    with pytest.raises(InvalidArgument) as error:
        call()
    return error.value.details["field"]


@pytest.mark.parametrize("prompt", ["", "   \n", None])
def test_an_empty_prompt_is_refused(handle: ModelHandle, prompt: Any) -> None:
    assert _refused(lambda: generate(handle, prompt)) == "prompt"


def test_max_new_tokens_beyond_the_models_context_is_refused_before_generating(handle: ModelHandle) -> None:
    prompt_tokens = encode_prompt(handle.tokenizer, PROMPT).shape[1]
    fits = 256 - prompt_tokens  # the tiny models' context is 256 positions
    with pytest.raises(InvalidArgument) as error:
        generate(handle, PROMPT, settings=GenerationSettings(max_new_tokens=fits + 1))
    assert error.value.details["field"] == "max_new_tokens" and "256" in error.value.message
    assert _refused(lambda: generate(handle, PROMPT, settings=GenerationSettings(max_new_tokens=0))) == \
        "max_new_tokens"


@pytest.mark.parametrize(("settings", "field"), [
    (GenerationSettings(temperature=-0.5), "temperature"), (GenerationSettings(temperature=math.nan), "temperature"),
    (GenerationSettings(top_p=0.0), "top_p"), (GenerationSettings(top_p=1.5), "top_p"),
    (GenerationSettings(seed=-3), "seed")])
def test_sampling_settings_out_of_range_are_refused(handle: ModelHandle, settings: GenerationSettings,
                                                    field: str) -> None:
    assert _refused(lambda: generate(handle, PROMPT, settings=settings)) == field


def test_a_bad_intervention_is_refused_before_the_baseline_streams_a_token(handle: ModelHandle) -> None:
    events: list[TokenEvent] = []
    wide = SparseAutoencoder(SAEConfig("standard", d_in=96, d_sae=32, hook_point="blocks.0.resid_post"))
    assert _refused(lambda: compare(handle, PROMPT, [clamp_feature(wide, 1, 1.0)], on_token=events.append)) == "sae"
    assert _refused(lambda: compare(handle, PROMPT, [AddDirection("blocks.0.resid_post", torch.ones(D_MODEL), 1.0,
                                                                  positions="all").with_strength(math.inf)],
                                    on_token=events.append)) == "strength"
    assert events == []


@pytest.mark.parametrize("fmt", ["bf16", "fp16"])
def test_half_precision_models_steer_with_a_float32_sae(tiny_models: Any, fmt: str) -> None:
    from mistudio.lens.model import open_model

    half = open_model(tiny_models("llama"), fmt)
    assert half.dtype in (torch.bfloat16, torch.float16)
    sae = make_sae()  # float32: codes are computed in the SAE's dtype, the change is added in the model's
    zero = compare(half, PROMPT, [add_feature(sae, 3, 0.0)], SAMPLED)
    assert torch.equal(zero.steered.output_ids, zero.baseline.output_ids)
    ablated = compare(half, PROMPT, [clamp_feature(sae, 5, 0.0)], GenerationSettings(max_new_tokens=4, seed=1))
    assert ablated.steered.output_ids.numel() == 4  # runs through the SAE in float32 and back without error
    ids = encode_prompt(half.tokenizer, PROMPT)
    v = torch.randn(D_MODEL, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), steering_hooks(half, [AddDirection("blocks.0.resid_pre", v, 2.0)]) as hooks:
        steered = hooks.run(input_ids=ids).logits
        embedded = half.model(inputs_embeds=half.model.get_input_embeddings()(ids) + (2.0 * v).to(half.dtype)).logits
    torch.testing.assert_close(steered, embedded, rtol=0, atol=1e-2)
    assert steered.dtype == half.dtype


def _nucleus_choice(row: list[float], temperature: float, top_p: float, u: float) -> int:
    """The reference, one row in plain Python: sort by probability, keep tokens until the mass reaches top_p,
    and walk the renormalized cumulative mass to u."""
    weights = [math.exp(score / temperature) for score in row]
    total = sum(weights)
    ranked = sorted(range(len(row)), key=lambda index: -weights[index])  # sorted() is stable, like the sampler
    kept, mass = [], 0.0
    for index in ranked:
        if mass >= top_p:
            break
        kept.append(index)
        mass += weights[index] / total
    running = 0.0
    for index in kept:
        running += weights[index] / total / mass
        if running > u:
            return index
    return kept[-1]


def test_the_coupled_sampler_takes_the_token_where_u_falls_in_the_nucleus() -> None:
    from mistudio.lens.steer import CoupledSampler

    scores = torch.tensor([[2.0, 0.5, 1.0, -1.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    for temperature, top_p in ((1.0, 1.0), (0.7, 0.8), (2.0, 0.3)):
        sampler = CoupledSampler(temperature, top_p, seed=0)
        for u in (0.0, 0.05, 0.31, 0.5, 0.77, 0.999):
            expected = [_nucleus_choice(row, temperature, top_p, u) for row in scores.tolist()]
            assert sampler.choose(scores, u).tolist() == expected, (temperature, top_p, u)


def test_coupled_sampling_draws_each_token_at_its_nucleus_probability() -> None:
    from mistudio.lens.steer import CoupledSampler

    scores = torch.tensor([[2.0, 1.0, 0.0, -3.0]])
    sampler = CoupledSampler(1.0, 0.9, seed=4)
    draws = 20_000
    counts = torch.zeros(4)
    for _ in range(draws):
        picked = sampler(torch.zeros((1, 1), dtype=torch.long), scores)
        counts[int(picked.argmax())] += 1
        assert torch.isinf(picked).sum() == 3  # the step's scores: 0 for the token drawn, −inf elsewhere
    # 0.665, 0.245, 0.090, 0.004: the first two already hold 0.91 ≥ 0.9, so the nucleus is those two.
    probabilities = torch.softmax(scores[0], dim=0)
    nucleus = probabilities[:2] / probabilities[:2].sum()
    assert counts[2] == counts[3] == 0
    spread = (nucleus * (1 - nucleus) / draws).sqrt()
    assert ((counts[:2] / draws - nucleus).abs() < 4 * spread).all(), (counts / draws, nucleus)
    wider = CoupledSampler(1.0, 0.95, seed=4)  # now the third is needed to reach the mass
    assert {int(wider(torch.zeros((1, 1), dtype=torch.long), scores).argmax()) for _ in range(2000)} == {0, 1, 2}


@pytest.mark.parametrize("settings", [SAMPLED, GenerationSettings(max_new_tokens=10, temperature=0.0)])
def test_baseline_and_steered_give_the_same_texts_batched_or_one_after_the_other(
        handle: ModelHandle, settings: GenerationSettings) -> None:
    steering = [AddDirection("blocks.0.resid_post", _push(scale=0.2))]
    events: list[TokenEvent] = []
    together = compare(handle, PROMPT, steering, settings, on_token=events.append)
    apart = compare(handle, PROMPT, steering, settings, batched=False)
    assert torch.equal(together.baseline.output_ids, apart.baseline.output_ids)
    assert torch.equal(together.steered.output_ids, apart.steered.output_ids)
    assert (together.baseline.text, together.steered.text) == (apart.baseline.text, apart.steered.text)
    assert [event.run for event in events[:4]] == ["baseline", "steered", "baseline", "steered"]  # side by side
    alone = generate(handle, PROMPT, steering, settings)
    assert torch.equal(alone.output_ids, together.steered.output_ids)


def test_rows_of_one_batch_each_get_only_their_own_interventions(handle: ModelHandle) -> None:
    from mistudio.lens.steer import generate_runs

    sae = make_sae()
    ids = encode_prompt(handle.tokenizer, PROMPT)
    runs = [("plain", []), ("add", [add_feature(sae, 3, 0.3)]), ("clamp", [clamp_feature(sae, 9, 0.2)]),
            ("both", [add_feature(sae, 3, 0.3), clamp_feature(sae, 9, 0.2)])]
    batched = generate_runs(handle, ids, runs, SAMPLED, seed=11)
    for run, generation in zip(runs, batched, strict=True):
        (alone,) = generate_runs(handle, ids, [run], SAMPLED, seed=11)
        assert generation.run == run[0] and torch.equal(generation.output_ids, alone.output_ids), run[0]
    assert len({tuple(generation.output_ids.tolist()) for generation in batched}) > 1
