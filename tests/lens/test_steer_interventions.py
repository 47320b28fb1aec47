"""lens.steer interventions (add / clamp / ablate on positions), checked against independent computations.

The independent side uses only `lens.hooks.Hooks` with plain functions and the SAE's own encode/decode, never
lens.steer's hook functions. Its helpers (`open_tiny`, `make_sae`, …) are shared by the other test_steer files.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hooks import Hooks
from mistudio.lens.model import ModelHandle, open_model
from mistudio.lens.sae import SAEConfig, SparseAutoencoder
from mistudio.lens.steer import (
    AddDirection,
    ClampFeature,
    ablate_feature,
    add_feature,
    clamp_feature,
    steering_hooks,
)

D_MODEL = 64
PROMPT = "The river and the stone"


def open_tiny(tiny_models: Any) -> ModelHandle:
    """The tiny llama (2 layers, width 64) opened the way users open models."""
    return open_model(tiny_models("llama"))


@pytest.fixture(scope="module")
def handle(tiny_models: Any) -> ModelHandle:
    return open_tiny(tiny_models)


def make_sae(hook_point: str = "blocks.0.resid_post", *, architecture: str = "standard", seed: int = 1,
             input_scale: float = 1.0, output_scale: float = 1.0) -> SparseAutoencoder:
    """A random SAE on the tiny model's width; its encoder starts as the decoder's transpose (tied)."""
    k = 8 if architecture == "topk" else None
    config = SAEConfig(architecture, d_in=D_MODEL, d_sae=128, k=k, hook_point=hook_point,  # type: ignore[arg-type]
                       input_scale=input_scale, output_scale=output_scale)
    return SparseAutoencoder(config, seed=seed).eval()


def prompt_ids(handle: ModelHandle, text: str = PROMPT) -> torch.Tensor:
    return handle.tokenizer(text, return_tensors="pt")["input_ids"]


def logits(handle: ModelHandle, ids: torch.Tensor, functions: dict[str, Callable[..., Any]] | None = None,
           **hooks_options: Any) -> torch.Tensor:
    with torch.no_grad(), Hooks(handle.model, functions or {}, **hooks_options) as hooks:
        return hooks.run(input_ids=ids).logits


def steered_logits(handle: ModelHandle, ids: torch.Tensor, interventions: list[Any],
                   prompt_length: int | None = None) -> torch.Tensor:
    with torch.no_grad(), steering_hooks(handle, interventions, prompt_length=prompt_length) as hooks:
        return hooks.run(input_ids=ids).logits


def activations_at(handle: ModelHandle, ids: torch.Tensor, hook_point: str) -> torch.Tensor:
    seen: dict[str, torch.Tensor] = {}
    logits(handle, ids, {hook_point: lambda activation, context: seen.__setitem__("a", activation.clone())})
    return seen["a"]


def active_feature(sae: SparseAutoencoder, activation: torch.Tensor, position: int) -> int:
    """The feature with the largest code at `position` of activation [1, seq, d] (it is active there)."""
    with torch.no_grad():
        codes = sae.encode(activation[0, position])
    assert float(codes.max()) > 0
    return int(codes.argmax())


def edit_through_sae(sae: SparseAutoencoder, feature: int, edit: Callable[[torch.Tensor], torch.Tensor]
                     ) -> Callable[..., torch.Tensor]:
    """The reference: decode(code with feature i edited) + (activation − decode(code)), all positions."""
    def function(activation: torch.Tensor, context: Any) -> torch.Tensor:
        with torch.no_grad():
            codes = sae.encode(activation)
            error = activation - sae.decode(codes)
            edited = codes.clone()
            edited[..., feature] = edit(codes[..., feature])
            return sae.decode(edited) + error

    return function


def test_adding_a_direction_at_the_first_resid_pre_equals_adding_it_to_the_input_embeddings(
        handle: ModelHandle) -> None:
    ids, v = prompt_ids(handle), torch.randn(D_MODEL, generator=torch.Generator().manual_seed(0))
    steered = steered_logits(handle, ids, [AddDirection("blocks.0.resid_pre", v, 3.0)])
    with torch.no_grad():
        embedded = handle.model(inputs_embeds=handle.model.get_input_embeddings()(ids) + 3.0 * v).logits
    torch.testing.assert_close(steered, embedded, rtol=0, atol=1e-5)
    assert not torch.allclose(steered, logits(handle, ids), atol=1e-3)


@pytest.mark.parametrize("scales", [(1.0, 1.0), (0.5, 2.0)])
def test_adding_a_feature_raises_its_code_through_the_sae_by_the_strength(
        handle: ModelHandle, scales: tuple[float, float]) -> None:
    sae = make_sae(input_scale=scales[0], output_scale=scales[1])
    ids, strength, feature = prompt_ids(handle), 2.5, 17
    steered = steered_logits(handle, ids, [add_feature(sae, feature, strength)])
    reference = logits(handle, ids, {"blocks.0.resid_post": edit_through_sae(sae, feature, lambda z: z + strength)})
    torch.testing.assert_close(steered, reference, rtol=0, atol=1e-5)
    assert not torch.allclose(steered, logits(handle, ids), atol=1e-3)


@pytest.mark.parametrize("architecture", ["standard", "topk"])
def test_clamping_a_feature_to_its_current_value_leaves_logits_bit_identical(
        handle: ModelHandle, architecture: str) -> None:
    sae = make_sae(architecture=architecture)
    ids = prompt_ids(handle)
    last = ids.shape[1] - 1
    activation = activations_at(handle, ids, "blocks.0.resid_post")
    feature = active_feature(sae, activation, last)
    with torch.no_grad():
        # encoded as the hook encodes it (the whole [1, seq, d] activation): a single row can take another matmul
        # kernel whose last bit differs on some CPUs (AMX), and "its current value" means the hook's value
        current = float(sae.encode(activation)[0, last, feature])
    clean = logits(handle, ids)
    assert torch.equal(steered_logits(handle, ids, [clamp_feature(sae, feature, current, positions=last)]), clean)
    # Not an empty claim: splicing the reconstruction without the error term does change the logits.
    spliced = logits(handle, ids, {"blocks.0.resid_post": lambda activation, context: sae(activation)})
    assert not torch.allclose(spliced, clean, atol=1e-3)


@pytest.mark.parametrize("architecture", ["standard", "topk"])
def test_clamping_equals_decoding_the_edited_code_plus_the_error_term(handle: ModelHandle, architecture: str) -> None:
    sae = make_sae(architecture=architecture, input_scale=0.5, output_scale=0.5)
    ids = prompt_ids(handle)
    steered = steered_logits(handle, ids, [clamp_feature(sae, 40, 6.0)])
    to_six = edit_through_sae(sae, 40, lambda z: torch.full_like(z, 6.0))
    reference = logits(handle, ids, {"blocks.0.resid_post": to_six})
    torch.testing.assert_close(steered, reference, rtol=0, atol=1e-5)
    assert not torch.allclose(steered, logits(handle, ids), atol=1e-3)


def test_ablation_equals_decoding_with_the_feature_zeroed_plus_the_error(handle: ModelHandle) -> None:
    sae = make_sae()
    ids = prompt_ids(handle)
    feature = active_feature(sae, activations_at(handle, ids, "blocks.0.resid_post"), ids.shape[1] - 1)
    ablation = ablate_feature(sae, feature)
    assert ablation.mode == "ablate"
    steered = steered_logits(handle, ids, [ablation])
    reference = logits(handle, ids, {"blocks.0.resid_post": edit_through_sae(sae, feature, torch.zeros_like)})
    torch.testing.assert_close(steered, reference, rtol=0, atol=1e-5)
    assert not torch.allclose(steered, logits(handle, ids), atol=1e-4)


def test_adding_a_feature_whose_logit_lens_promotes_a_token_raises_that_tokens_probability(
        handle: ModelHandle) -> None:
    sae = make_sae("blocks.1.resid_post")
    unembedding = handle.model.get_output_embeddings().weight.detach()  # [vocab, d]
    lens = unembedding @ sae.W_dec.detach().T  # [vocab, d_sae]: what each decoder direction writes to each logit
    feature = 5
    token = int(lens[:, feature].argmax())
    ids = prompt_ids(handle)
    clean = torch.softmax(logits(handle, ids)[0, -1], dim=-1)
    steered = torch.softmax(steered_logits(handle, ids, [add_feature(sae, feature, 12.0)])[0, -1], dim=-1)
    # A random tiny model's logits are nearly flat (the head's weights are ~0.02), so the rise is modest in
    # probability, but the promoted token goes from an ordinary one to the most likely.
    assert int(clean.argmax()) != token and int(steered.argmax()) == token
    before, after = clean[token], steered[token]
    assert float(after) > 1.3 * float(before)
    # The opposite push lowers it.
    lowered = torch.softmax(steered_logits(handle, ids, [add_feature(sae, feature, -12.0)])[0, -1], dim=-1)[token]
    assert float(lowered) < float(before)


def test_several_interventions_at_one_point_read_the_same_activation_and_sum_in_any_order(
        handle: ModelHandle) -> None:
    sae = make_sae()
    ids, v = prompt_ids(handle), torch.randn(D_MODEL, generator=torch.Generator().manual_seed(4))
    add = AddDirection("blocks.0.resid_post", v, 2.0)
    clamp, ablate = clamp_feature(sae, 9, 3.0), ablate_feature(sae, 60)
    one_order = steered_logits(handle, ids, [add, clamp, ablate])
    other_order = steered_logits(handle, ids, [ablate, clamp, add])
    assert torch.equal(one_order, other_order)

    def reference(activation: torch.Tensor, context: Any) -> torch.Tensor:
        with torch.no_grad():
            codes = sae.encode(activation)  # both clamps read the incoming activation
        directions = sae.W_dec.detach()
        return (activation + 2.0 * v + (3.0 - codes[..., 9:10]) * directions[9]
                - codes[..., 60:61] * directions[60])

    torch.testing.assert_close(one_order, logits(handle, ids, {"blocks.0.resid_post": reference}), rtol=0, atol=1e-5)


def test_interventions_at_two_points_apply_at_both(handle: ModelHandle) -> None:
    ids = prompt_ids(handle)
    v, w = (torch.randn(D_MODEL, generator=torch.Generator().manual_seed(s)) for s in (5, 6))
    steered = steered_logits(handle, ids, [AddDirection("blocks.0.resid_pre", v), AddDirection("blocks.1.mlp_out", w)])
    reference = logits(handle, ids, {"blocks.0.resid_pre": lambda a, c: a + v, "blocks.1.mlp_out": lambda a, c: a + w})
    assert torch.equal(steered, reference)


def test_prompt_only_and_generated_only_positions_split_the_sequence_at_the_prompt_length(
        handle: ModelHandle) -> None:
    ids = prompt_ids(handle, "The river and the stone carry the light of the moon")
    prompt_length = 5
    v = 4 * torch.randn(D_MODEL, generator=torch.Generator().manual_seed(7))
    clean = logits(handle, ids)
    generated = steered_logits(handle, ids, [AddDirection("blocks.0.resid_post", v, positions="generated")],
                               prompt_length=prompt_length)
    assert torch.equal(generated[:, :prompt_length], clean[:, :prompt_length])  # the prompt's logits, untouched
    assert not torch.allclose(generated[:, prompt_length:], clean[:, prompt_length:], atol=1e-3)
    prompt_only = steered_logits(handle, ids, [AddDirection("blocks.0.resid_post", v, positions="prompt")],
                                 prompt_length=prompt_length)
    mask = (torch.arange(ids.shape[1]) < prompt_length).float()[None, :, None]
    reference = logits(handle, ids, {"blocks.0.resid_post": lambda a, c: a + mask * v})
    torch.testing.assert_close(prompt_only, reference, rtol=0, atol=1e-5)


def test_positions_from_p_leave_every_earlier_position_unchanged(handle: ModelHandle) -> None:
    ids = prompt_ids(handle, "The river and the stone carry the light of the moon")
    sae = make_sae()
    clean = logits(handle, ids)
    for start in (0, 3, ids.shape[1] - 1):
        steered = steered_logits(handle, ids, [clamp_feature(sae, 11, 8.0, positions=start)])
        assert torch.equal(steered[:, :start], clean[:, :start])
        assert not torch.allclose(steered[:, start:], clean[:, start:], atol=1e-4)


def _field(error: pytest.ExceptionInfo[InvalidArgument]) -> str:
    return error.value.details["field"]


@pytest.mark.parametrize("strength", [math.nan, math.inf, -math.inf, "4"])
def test_a_strength_that_is_not_a_finite_number_is_refused_naming_the_field(strength: Any) -> None:
    sae = make_sae()
    with pytest.raises(InvalidArgument) as error:
        add_feature(sae, 0, strength)
    assert _field(error) == "strength"
    with pytest.raises(InvalidArgument) as error:
        clamp_feature(sae, 0, strength)
    assert _field(error) == "strength"


@pytest.mark.parametrize("feature", [128, 10_000, -1, 2.0])
def test_a_feature_index_beyond_the_sae_is_refused_naming_the_field(feature: Any) -> None:
    sae = make_sae()
    with pytest.raises(InvalidArgument) as error:
        add_feature(sae, feature, 1.0)
    assert _field(error) == "feature" and "127" in error.value.message
    with pytest.raises(InvalidArgument) as error:
        ablate_feature(sae, feature)
    assert _field(error) == "feature"


def test_an_sae_for_another_width_or_hook_point_is_refused_naming_the_field(handle: ModelHandle) -> None:
    wide = SparseAutoencoder(SAEConfig("standard", d_in=96, d_sae=128, hook_point="blocks.0.resid_post"))
    with pytest.raises(InvalidArgument) as error:
        steering_hooks(handle, [clamp_feature(wide, 1, 2.0)])
    assert _field(error) == "sae" and "96" in error.value.message
    with pytest.raises(InvalidArgument) as error:
        clamp_feature(make_sae("blocks.0.resid_post"), 1, 2.0, hook_point="blocks.1.resid_post")
    assert _field(error) == "hook_point"
    unplaced = SparseAutoencoder(SAEConfig("standard", d_in=D_MODEL, d_sae=16))
    with pytest.raises(InvalidArgument) as error:
        add_feature(unplaced, 1, 2.0)
    assert _field(error) == "hook_point"
    assert add_feature(unplaced, 1, 2.0, hook_point="blocks.1.attn_out").hook_point == "blocks.1.attn_out"


def test_directions_and_hook_points_the_model_cannot_take_are_refused(handle: ModelHandle) -> None:
    with pytest.raises(InvalidArgument) as error:
        steering_hooks(handle, [AddDirection("blocks.0.resid_pre", torch.ones(32))])
    assert _field(error) == "direction"
    with pytest.raises(InvalidArgument) as error:
        steering_hooks(handle, [AddDirection("blocks.7.resid_pre", torch.ones(D_MODEL))])
    assert _field(error) == "hook_point" and "2 layers" in error.value.message
    with pytest.raises(InvalidArgument) as error:
        AddDirection("layer3", torch.ones(D_MODEL))
    assert _field(error) == "hook_point"
    with pytest.raises(InvalidArgument) as error:
        AddDirection("blocks.0.resid_pre", torch.full((D_MODEL,), math.nan))
    assert _field(error) == "direction"
    for positions in ("middle", -1, True):
        with pytest.raises(InvalidArgument) as error:
            AddDirection("blocks.0.resid_pre", torch.ones(D_MODEL), positions=positions)
        assert _field(error) == "positions"


def test_with_strength_changes_only_the_strength_and_clamp_reports_its_mode() -> None:
    sae = make_sae()
    add = add_feature(sae, 3, 1.0, positions="generated")
    stronger = add.with_strength(5.0)
    assert (stronger.strength, stronger.positions, stronger.feature) == (5.0, "generated", 3)
    assert torch.equal(stronger.direction, add.direction)
    clamp = ClampFeature(sae, 3, 2.0)
    assert clamp.mode == "clamp" and clamp.with_strength(0.0).mode == "ablate"
    assert clamp.hook_point == "blocks.0.resid_post"
