"""lens.hooks on real tiny models of every supported family: names, resolution, capture and clean-up."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from mistudio.errors import status_of
from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hooks import (
    HOOK_TYPES,
    InvalidHookPoint,
    capture_activations,
    decoder_layers,
    hook_point_names,
    parse_hook_point,
    resolve_hook_point,
)
from mistudio.lens.layout import LayoutNotFound
from tests.lens.test_architecture import ALL_CAUSAL_FAMILIES

HIDDEN = 64  # every tiny model's hidden size
BATCH, SEQUENCE = 2, 6


def _run(model: torch.nn.Module) -> None:
    input_ids = torch.randint(5, 500, (BATCH, SEQUENCE), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model(input_ids=input_ids)


def _capture(model: torch.nn.Module, hook_points: list[str]) -> dict[str, torch.Tensor]:
    with capture_activations(model, hook_points) as activations:
        _run(model)
    return activations


def _hook_count(model: torch.nn.Module) -> int:
    return sum(len(module._forward_hooks) + len(module._forward_pre_hooks) for module in model.modules())


@pytest.mark.parametrize("hook_type", HOOK_TYPES)
@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_every_family_and_hook_type_resolves_to_a_module_that_fires(load_model: Callable[[str], torch.nn.Module],
                                                                    family: str, hook_type: str) -> None:
    model = load_model(family)
    site = resolve_hook_point(model, f"blocks.1.{hook_type}")
    assert model.get_submodule(site.module_name) is site.module
    assert site.reads == ("input" if hook_type == "resid_pre" else "output")
    activations = _capture(model, [site.hook_point])
    assert activations[site.hook_point].shape == (BATCH, SEQUENCE, HIDDEN)


@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_resid_post_of_a_layer_equals_resid_pre_of_the_next(load_model: Callable[[str], torch.nn.Module],
                                                            family: str) -> None:
    activations = _capture(load_model(family), ["blocks.0.resid_post", "blocks.1.resid_pre"])
    assert torch.equal(activations["blocks.0.resid_post"], activations["blocks.1.resid_pre"])


@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_attn_out_plus_mlp_out_is_what_the_block_adds_to_the_residual(load_model: Callable[[str], torch.nn.Module],
                                                                      family: str) -> None:
    points = hook_point_names(1)
    activations = _capture(load_model(family), points)
    pre, post, mlp, attn = (activations[point] for point in points)
    assert not torch.equal(attn, torch.zeros_like(attn)) and not torch.equal(mlp, torch.zeros_like(mlp))
    torch.testing.assert_close(post, pre + attn + mlp, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name, words", [
    ("blocks.99.resid_pre", ["layer 99", "has 2 layers", "layer 0..1"]),
    ("blocks.0.foo", ["unknown type 'foo'", "resid_pre, resid_post, mlp_out, attn_out", "layer 0..1"]),
    ("layer.0", ["not of the form blocks.<layer>.<type>", "layer 0..1"]),
    ("blocks.-1.attn_out", ["not of the form", "layer 0..1"]),
])
def test_bad_hook_point_names_raise_invalid_hook_point_naming_what_is_allowed(
        load_model: Callable[[str], torch.nn.Module], name: str, words: list[str]) -> None:
    with pytest.raises(InvalidHookPoint) as raised:
        resolve_hook_point(load_model("llama"), name)
    assert all(word in raised.value.message for word in words), raised.value.message
    assert isinstance(raised.value, InvalidArgument) and status_of(raised.value) == 400
    assert raised.value.details["hook_point"] == name


def test_parse_hook_point_without_a_layer_count_accepts_any_layer() -> None:
    assert parse_hook_point("blocks.123.mlp_out") == (123, "mlp_out")
    with pytest.raises(InvalidHookPoint, match="a layer index"):
        parse_hook_point("blocks.1.resid_mid")


def test_hook_point_names_cover_every_layer_and_type_in_layer_order() -> None:
    assert hook_point_names(2, ("resid_pre", "attn_out")) == [
        "blocks.0.resid_pre", "blocks.0.attn_out", "blocks.1.resid_pre", "blocks.1.attn_out"]
    assert len(hook_point_names(3)) == 3 * len(HOOK_TYPES)


def test_hooks_are_removed_when_capture_exits_even_after_an_error(load_model: Callable[[str], torch.nn.Module]) -> None:
    model = load_model("gpt2")
    before = _hook_count(model)
    with capture_activations(model, hook_point_names(2)):
        assert _hook_count(model) == before + 8 + 1  # one per point, one on the model that tracks positions
    assert _hook_count(model) == before
    with pytest.raises(RuntimeError, match="interrupted"), capture_activations(model, hook_point_names(2)):
        raise RuntimeError("interrupted")
    assert _hook_count(model) == before


def test_each_forward_pass_replaces_the_captured_activations(load_model: Callable[[str], torch.nn.Module]) -> None:
    model = load_model("llama")
    with torch.no_grad(), capture_activations(model, ["blocks.0.resid_pre"]) as activations:
        model(input_ids=torch.tensor([[5, 6, 7]]))
        first = activations["blocks.0.resid_pre"]
        model(input_ids=torch.tensor([[8, 9]]))
        assert activations["blocks.0.resid_pre"].shape == (1, 2, HIDDEN) and first.shape == (1, 3, HIDDEN)


def test_hook_points_resolve_on_the_bare_backbone_too(load_model: Callable[[str], torch.nn.Module]) -> None:
    backbone = load_model("llama").model
    assert decoder_layers(backbone) is backbone.layers
    assert resolve_hook_point(backbone, "blocks.1.attn_out").module_name == "layers.1.self_attn"


def test_decoder_layers_of_a_model_without_a_layer_list_raise_layout_not_found() -> None:
    class NoLayers(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(4, 4)

    with pytest.raises(LayoutNotFound, match="has no list of decoder layers") as raised:
        decoder_layers(NoLayers())
    assert isinstance(raised.value, InvalidArgument)
