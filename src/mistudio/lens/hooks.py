"""TransformerLens/SAELens-style hook point names (`blocks.{i}.{type}`) mapped onto real HF modules.

One naming scheme for every family in `architecture.FAMILIES`:
- `resid_pre`  — input of decoder layer i (the residual stream entering the block);
- `resid_post` — output of decoder layer i (the first element where a layer returns a tuple);
- `attn_out`   — what the attention sub-block adds to the residual stream;
- `mlp_out`    — what the MLP (or MoE) sub-block adds to the residual stream.
For every supported family `resid_post == resid_pre + attn_out + mlp_out` in eval mode, whether the block is
sequential (llama, …), parallel (gpt_neox, phi, falcon) or post-normed (gemma2/3, whose attn_out/mlp_out include
the post-norm). `FamilyLayout.attn_out_meaning` / `mlp_out_meaning` say exactly which module each one reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch

from mistudio.errors import InvalidInput
from mistudio.lens.architecture import FamilyLayout, family_layout

HOOK_TYPES: tuple[str, ...] = ("resid_pre", "resid_post", "mlp_out", "attn_out")
_HOOK_POINT = re.compile(r"^blocks\.(0|[1-9][0-9]*)\.([A-Za-z_]+)$")


class InvalidHookPoint(InvalidInput):
    """A hook point name that is malformed, names an unknown type, or a layer the model does not have."""

    code = "invalid_hook_point"


@dataclass(frozen=True)
class HookSite:
    """The HF module behind a hook point, and whether the activation is that module's input or output."""

    hook_point: str
    module_name: str
    module: torch.nn.Module
    reads: Literal["input", "output"]


def hook_point_names(num_layers: int, hook_types: tuple[str, ...] = HOOK_TYPES) -> list[str]:
    """Every hook point of a model, in layer order: `blocks.{i}.{type}` for each layer and type."""
    return [f"blocks.{index}.{hook_type}" for index in range(num_layers) for hook_type in hook_types]


def _allowed(num_layers: int | None) -> str:
    layers = f"layer 0..{num_layers - 1}" if num_layers else "a layer index"
    return f"use blocks.<layer>.<type> with {layers} and type one of {', '.join(HOOK_TYPES)}"


def parse_hook_point(name: str, num_layers: int | None = None) -> tuple[int, str]:
    """Split `blocks.{i}.{type}` into (layer index, hook type); raises InvalidHookPoint naming what is allowed."""
    details = {"hook_point": name, "num_layers": num_layers, "hook_types": list(HOOK_TYPES)}
    match = _HOOK_POINT.match(name) if isinstance(name, str) else None
    if match is None:
        raise InvalidHookPoint(f"hook point '{name}' is not of the form blocks.<layer>.<type>; {_allowed(num_layers)}",
                               details=details)
    layer_index, hook_type = int(match.group(1)), match.group(2)
    if hook_type not in HOOK_TYPES:
        raise InvalidHookPoint(f"hook point '{name}' has unknown type '{hook_type}'; {_allowed(num_layers)}",
                               details=details)
    if num_layers is not None and layer_index >= num_layers:
        raise InvalidHookPoint(f"hook point '{name}' names layer {layer_index} but the model has {num_layers} "
                               f"layers; {_allowed(num_layers)}", details=details)
    return layer_index, hook_type


def _family_layout(model: torch.nn.Module) -> FamilyLayout:
    return family_layout(getattr(getattr(model, "config", None), "model_type", None))


def _layers_with_path(model: torch.nn.Module) -> tuple[str, torch.nn.ModuleList]:
    layout = _family_layout(model)
    parts = layout.layers_path.split(".")
    # Also accept the bare backbone (LlamaModel has `layers`, not `model.layers`).
    for start in range(len(parts)):
        path = ".".join(parts[start:])
        try:
            layers = model.get_submodule(path)
        except AttributeError:
            continue
        if isinstance(layers, torch.nn.ModuleList):
            return path, layers
    raise InvalidInput(f"{type(model).__name__} has no decoder layers at '{layout.layers_path}' "
                       f"as the {layout.family} layout expects")


def decoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    """The model's decoder layers (one per block), found through its family's layout."""
    return _layers_with_path(model)[1]


def resolve_hook_point(model: torch.nn.Module, hook_point: str) -> HookSite:
    """The module a hook point reads on this model, with its dotted name and whether input or output."""
    layout = _family_layout(model)
    layers_path, layers = _layers_with_path(model)
    layer_index, hook_type = parse_hook_point(hook_point, len(layers))
    layer_name = f"{layers_path}.{layer_index}"
    if hook_type in ("resid_pre", "resid_post"):
        reads: Literal["input", "output"] = "input" if hook_type == "resid_pre" else "output"
        return HookSite(hook_point, layer_name, layers[layer_index], reads)
    attribute = layout.attn_out_module if hook_type == "attn_out" else layout.mlp_out_module
    module = layers[layer_index].get_submodule(attribute)
    return HookSite(hook_point, f"{layer_name}.{attribute}", module, "output")


def _first_tensor(value: Any) -> torch.Tensor:
    # Attention modules return (output, weights); falcon's decoder layer returns (hidden, weights).
    while isinstance(value, tuple | list):
        value = value[0]
    return value


@contextmanager
def capture_activations(model: torch.nn.Module, hook_points: list[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Hook the given points; each forward pass fills the yielded dict with detached copies, one per point.

    A later forward pass replaces the previous pass's tensors, so read the dict after each batch. Hooks are
    removed on exit, also when the body raises.
    """
    sites = [resolve_hook_point(model, point) for point in dict.fromkeys(hook_points)]
    captured: dict[str, torch.Tensor] = {}
    handles: list[torch.utils.hooks.RemovableHandle] = []

    def store(hook_point: str, value: Any) -> None:
        # A copy, not a view: falcon adds the attention output into the MLP's output tensor in place.
        captured[hook_point] = _first_tensor(value).detach().clone()

    try:
        for site in sites:
            if site.reads == "input":
                def pre_hook(module: torch.nn.Module, args: tuple, kwargs: dict, point: str = site.hook_point) -> None:
                    store(point, args[0] if args else kwargs["hidden_states"])

                handles.append(site.module.register_forward_pre_hook(pre_hook, with_kwargs=True))
            else:
                def hook(module: torch.nn.Module, args: tuple, output: Any, point: str = site.hook_point) -> None:
                    store(point, output)

                handles.append(site.module.register_forward_hook(hook))
        yield captured
    finally:
        for handle in handles:
            handle.remove()
