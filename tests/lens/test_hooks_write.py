"""lens.hooks.Hooks writes: replacing, adding and ablating activations, checked against independent computations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM

from mistudio.lens.hooks import HOOK_TYPES, HookContext, Hooks
from mistudio.lens.layout import layout_of
from tests.lens.test_architecture import ALL_CAUSAL_FAMILIES
from tests.support.tiny_models import tiny_tokenizer

HIDDEN = 64
INPUT_IDS = torch.randint(5, 500, (2, 7), generator=torch.Generator().manual_seed(1))


def _logits(model: torch.nn.Module, **inputs: Any) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs).logits


def _direction(seed: int = 0) -> torch.Tensor:
    return torch.randn(HIDDEN, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_replacing_every_activation_with_a_copy_of_itself_leaves_logits_bit_identical(
        load_model: Callable[[str], torch.nn.Module], family: str) -> None:
    model = load_model(family)
    clean = _logits(model, input_ids=INPUT_IDS)
    points = [point for point in layout_of(model).hook_points()]
    with Hooks(model, {point: (lambda activation, context: activation.clone()) for point in points}):
        hooked = _logits(model, input_ids=INPUT_IDS)
    assert torch.equal(clean, hooked)


@pytest.mark.parametrize("family", ["llama", "gpt2", "qwen2", "mistral", "gpt_neox", "phi3"])
def test_adding_v_at_the_first_resid_pre_equals_adding_it_to_the_input_embeddings(
        load_model: Callable[[str], torch.nn.Module], family: str) -> None:
    model, v = load_model(family), _direction()
    with Hooks(model, {"blocks.0.resid_pre": lambda activation, context: activation + v}):
        hooked = _logits(model, input_ids=INPUT_IDS)
    embedded = model.get_input_embeddings()(INPUT_IDS) + v
    torch.testing.assert_close(hooked, _logits(model, inputs_embeds=embedded), rtol=0, atol=1e-5)
    assert not torch.allclose(hooked, _logits(model, input_ids=INPUT_IDS), atol=1e-3)


@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_adding_v_at_resid_post_equals_adding_it_at_the_next_resid_pre(
        load_model: Callable[[str], torch.nn.Module], family: str) -> None:
    model, v = load_model(family), _direction(1)
    with Hooks(model, {"blocks.0.resid_post": lambda activation, context: activation + v}):
        after = _logits(model, input_ids=INPUT_IDS)
    with Hooks(model, {"blocks.1.resid_pre": lambda activation, context: activation + v}):
        before_next = _logits(model, input_ids=INPUT_IDS)
    assert torch.equal(after, before_next)


class _Zero(torch.nn.Module):
    """Stands in for a removed sub-module: contributes nothing to the residual stream."""

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return torch.zeros_like(hidden_states)


@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_zero_ablating_mlp_out_equals_running_the_block_without_its_mlp(tiny_models: Any, family: str) -> None:
    from tests.lens.test_architecture import build_extra_model
    from tests.support.tiny_models import TINY_FAMILIES

    def fresh() -> torch.nn.Module:
        model = AutoModelForCausalLM.from_pretrained(tiny_models(family)) if family in TINY_FAMILIES \
            else build_extra_model(family)
        return model.eval()

    model = fresh()
    with Hooks(model, {"blocks.0.mlp_out": lambda activation, context: torch.zeros_like(activation)}):
        ablated = _logits(model, input_ids=INPUT_IDS)
    surgery = fresh()  # the same weights, with the module that feeds mlp_out replaced by zeros
    layout = layout_of(surgery)
    surgery.get_submodule(f"{layout.layers_path}.0").set_submodule(layout.blocks[0].mlp_out, _Zero())
    torch.testing.assert_close(ablated, _logits(surgery, input_ids=INPUT_IDS), rtol=0, atol=1e-6)
    assert not torch.allclose(ablated, _logits(model, input_ids=INPUT_IDS), atol=1e-4)


def test_a_hook_during_generate_fires_once_per_new_token_with_its_positions(tiny_models: Any) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_models("llama")).eval()
    prompt = tiny_tokenizer()("The river and the stone", return_tensors="pt")
    prompt_length, new_tokens = prompt["input_ids"].shape[1], 5
    calls: list[HookContext] = []
    with Hooks(model, {"blocks.1.resid_post": lambda activation, context: calls.append(context)}), torch.no_grad():
        model.generate(**prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                       pad_token_id=0)
    # The prompt pass yields the first new token; each later token is one more forward over one position.
    assert [(c.step, c.start, c.length) for c in calls] == [(0, 0, prompt_length)] + [
        (step, prompt_length + step - 1, 1) for step in range(1, new_tokens)]
    assert all(c.prompt_length == prompt_length for c in calls)
    assert calls[0].mask("generated").tolist() == [False] * prompt_length
    assert calls[0].mask("prompt").all() and all(c.mask("generated").all() for c in calls[1:])


def test_steering_only_generated_positions_leaves_the_prompt_pass_untouched(tiny_models: Any) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_models("llama")).eval()
    prompt = tiny_tokenizer()("The river and the stone", return_tensors="pt")
    v = 50 * _direction(2)
    seen: dict[int, torch.Tensor] = {}

    def steer(activation: torch.Tensor, context: HookContext) -> torch.Tensor:
        return activation + context.mask("generated", activation.device)[None, :, None] * v

    def record(activation: torch.Tensor, context: HookContext) -> None:
        seen.setdefault(context.step, activation.detach().clone())

    def generate(functions: dict) -> torch.Tensor:
        seen.clear()
        with Hooks(model, functions), torch.no_grad():
            return model.generate(**prompt, max_new_tokens=4, min_new_tokens=4, do_sample=False, pad_token_id=0)

    plain = generate({"blocks.1.resid_pre": record})
    plain_seen = dict(seen)
    steered = generate({"blocks.0.resid_post": steer, "blocks.1.resid_pre": record})
    assert torch.equal(seen[0], plain_seen[0])  # the prompt pass is not steered
    assert not torch.allclose(seen[1], plain_seen[1])  # the first generated position is
    assert torch.equal(plain[0, :prompt["input_ids"].shape[1]], steered[0, :prompt["input_ids"].shape[1]])


def test_without_a_kv_cache_a_given_prompt_length_still_tells_generated_positions(tiny_models: Any) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_models("llama")).eval()
    prompt = tiny_tokenizer()("The river", return_tensors="pt")
    length = prompt["input_ids"].shape[1]
    generated_counts: list[int] = []
    with Hooks(model, {"blocks.0.resid_pre": lambda a, c: generated_counts.append(int(c.mask("generated").sum()))},
               prompt_length=length), torch.no_grad():
        model.generate(**prompt, max_new_tokens=3, min_new_tokens=3, do_sample=False, pad_token_id=0, use_cache=False)
    assert generated_counts == [0, 1, 2]


def test_stop_early_runs_every_hook_then_skips_the_rest_of_the_model(
        load_model: Callable[[str], torch.nn.Module]) -> None:
    model = load_model("llama")
    seen: list[str] = []
    head_calls: list[int] = []
    handle = model.lm_head.register_forward_hook(lambda *args: head_calls.append(1))
    try:
        hooks = Hooks(model, {point: (lambda a, c, point=point: seen.append(point))
                              for point in ("blocks.0.resid_post", "blocks.0.attn_out")}, stop_early=True)
        with hooks, torch.no_grad():
            assert hooks.run(input_ids=INPUT_IDS) is None
            assert hooks.run(input_ids=INPUT_IDS) is None  # and again: every forward starts afresh
    finally:
        handle.remove()
    assert sorted(seen) == sorted(["blocks.0.attn_out", "blocks.0.resid_post"] * 2) and head_calls == []


def test_functions_on_one_point_apply_in_order_each_seeing_the_last_result(
        load_model: Callable[[str], torch.nn.Module]) -> None:
    model, v = load_model("llama"), _direction(3)
    seen: list[torch.Tensor] = []
    with Hooks(model, {"blocks.0.resid_post": [lambda a, c: a + v, lambda a, c: seen.append(a.clone()),
                                                 lambda a, c: a + v]}):
        doubled = _logits(model, input_ids=INPUT_IDS)
    with Hooks(model, {"blocks.0.resid_post": lambda a, c: a + 2 * v}):
        torch.testing.assert_close(doubled, _logits(model, input_ids=INPUT_IDS), rtol=0, atol=1e-5)
    assert len(seen) == 1


def test_every_hook_type_is_offered_on_every_tiny_family(load_model: Callable[[str], torch.nn.Module]) -> None:
    for family in ALL_CAUSAL_FAMILIES:
        layout = layout_of(load_model(family))
        assert all(block.hook_types == HOOK_TYPES for block in layout.blocks), family
