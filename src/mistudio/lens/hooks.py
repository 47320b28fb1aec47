"""Hook points that read and write: `blocks.{i}.{type}` (the TransformerLens / SAELens names) on real HF modules.

One naming scheme for every model whose layout `lens.layout` discovers:
- `resid_pre`  — input of decoder layer i (the residual stream entering the block);
- `resid_post` — output of decoder layer i (the first element where a layer returns a tuple);
- `attn_out`   — what the attention sub-block adds to the residual stream;
- `mlp_out`    — what the MLP (or MoE) sub-block adds to the residual stream.
For sequential, parallel and post-normed blocks alike `resid_post == resid_pre + attn_out + mlp_out` in eval mode
(the layout's `attn_out_meaning` / `mlp_out_meaning` say exactly which module each reads).

`Hooks(model, {point: fn})` attaches functions for the duration of a `with` block. A function gets the live
activation and a `HookContext` and returns None (read only) or a tensor that replaces the activation (to add `v`,
return `activation + v`). It works in a plain forward pass and inside `generate` with the KV cache, where it runs
once for the prompt and once per new token; `HookContext` says which positions of the whole sequence the call
covers and which of those are prompt and which generated. `stop_early=True` aborts the forward pass as soon as
every hooked point has run (later layers and the lm_head are never computed); run the model through
`Hooks.run(...)`, which returns None then. Nothing else in miStudio registers torch hooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.layout import HOOK_TYPES, ModelLayout, decoder_layers, layout_of

__all__ = ["HOOK_TYPES", "HookContext", "HookFunction", "HookSite", "Hooks", "InvalidHookPoint", "Scope",
           "capture_activations", "decoder_layers", "hook_point_names", "parse_hook_point", "resolve_hook_point"]

_HOOK_POINT = re.compile(r"^blocks\.(0|[1-9][0-9]*)\.([A-Za-z_]+)$")
Scope = Literal["all", "prompt", "generated"]


class InvalidHookPoint(InvalidArgument):
    """A hook point name that is malformed, names an unknown type, or a layer the model does not have."""

    code = "invalid_hook_point"


@dataclass(frozen=True)
class HookSite:
    """The HF module behind a hook point, and whether the activation is that module's input or output."""

    hook_point: str
    module_name: str
    module: torch.nn.Module
    reads: Literal["input", "output"]
    layer_index: int
    hook_type: str
    scale: float = 1.0  # the activation is the module's output × scale (what the layer adds to the residual)
    residual_inside: bool = False  # the module returns output + its `residual` argument: the hook takes it off


@dataclass(frozen=True)
class HookContext:
    """Where in the sequence a hook call is: positions [start, start + length) of the whole (prompt + generated).

    `step` is 0 for a plain forward pass or the prompt pass of `generate`, then 1, 2, … for each new token.
    """

    hook_point: str
    layer_index: int
    hook_type: str
    step: int
    start: int
    length: int
    prompt_length: int

    @property
    def positions(self) -> torch.Tensor:
        return torch.arange(self.start, self.start + self.length)

    def mask(self, scope: Scope, device: torch.device | str | None = None) -> torch.Tensor:
        """A bool mask over this call's positions: which belong to `scope` (all, prompt only, generated only)."""
        positions = torch.arange(self.start, self.start + self.length, device=device)
        if scope == "all":
            return torch.ones_like(positions, dtype=torch.bool)
        if scope == "prompt":
            return positions < self.prompt_length
        if scope == "generated":
            return positions >= self.prompt_length
        raise InvalidArgument(f"scope must be one of all, prompt, generated; got {scope!r}")


HookFunction = Callable[[torch.Tensor, HookContext], "torch.Tensor | None"]


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


def resolve_hook_point(model: torch.nn.Module, hook_point: str, layout: ModelLayout | None = None) -> HookSite:
    """The module a hook point reads on this model, with its dotted name and whether input or output."""
    layout = layout or layout_of(model)
    layer_index, hook_type = parse_hook_point(hook_point, layout.num_layers)
    layer_name = f"{layout.layers_path}.{layer_index}"
    block = layout.blocks[layer_index]
    if hook_type == "resid_pre" and block.resid_pre:
        name = f"{layer_name}.{block.resid_pre}"
        return HookSite(hook_point, name, model.get_submodule(name), "output", layer_index, hook_type)
    if hook_type in ("resid_pre", "resid_post"):
        reads: Literal["input", "output"] = "input" if hook_type == "resid_pre" else "output"
        return HookSite(hook_point, layer_name, model.get_submodule(layer_name), reads, layer_index, hook_type)
    attribute = block.attn_out if hook_type == "attn_out" else block.mlp_out
    if attribute is None:
        kind = "attention" if hook_type == "attn_out" else "MLP"
        raise InvalidHookPoint(f"hook point '{hook_point}' does not exist: layer {layer_index} of this "
                               f"{layout.family} model has no {kind} sub-block; it has "
                               f"{', '.join(block.hook_types)}", details={"hook_point": hook_point})
    name = f"{layer_name}.{attribute}"
    scale = block.attn_scale if hook_type == "attn_out" else block.mlp_scale
    return HookSite(hook_point, name, model.get_submodule(name), "output", layer_index, hook_type,
                    scale=scale, residual_inside=attribute in block.residual_inside)


def _first_tensor(value: Any) -> torch.Tensor:
    # Attention modules return (output, weights); some decoder layers return (hidden, weights).
    while isinstance(value, tuple | list):
        value = value[0]
    return value


def _replace_first(value: Any, replacement: torch.Tensor) -> Any:
    if isinstance(value, tuple | list):
        return type(value)([_replace_first(value[0], replacement), *value[1:]])
    return replacement


class _StopForward(Exception):
    """Raised once every hooked point has run with stop_early: aborts the rest of the forward pass."""


def _cache_of(kwargs: dict[str, Any]) -> Any:
    # transformers 5 passes the KV cache as `cache`; older releases (and some models) as `past_key_values`.
    return kwargs.get("cache", kwargs.get("past_key_values"))


def _filled_length(cache: Any, kwargs: dict[str, Any]) -> int:
    """How many positions a cache the model has not been called with yet already holds (a reused prefix)."""
    cache_position = kwargs.get("cache_position")
    if isinstance(cache_position, torch.Tensor) and cache_position.numel():
        return int(cache_position.reshape(-1)[0])
    try:
        return int(cache.get_seq_length()) if cache is not None and hasattr(cache, "get_seq_length") else 0
    except ValueError:  # linear-attention caches do not keep a length
        return 0


class Hooks:
    """Functions attached to hook points while the `with` block lasts (see the module docstring)."""

    def __init__(self, model: torch.nn.Module, functions: Mapping[str, HookFunction | Sequence[HookFunction]], *,
                 stop_early: bool = False, prompt_length: int | None = None,
                 layout: ModelLayout | None = None) -> None:
        self.model, self.stop_early, self.fixed_prompt_length = model, stop_early, prompt_length
        self.layout = layout or layout_of(model)
        self.functions = {point: list(fns) if isinstance(fns, Sequence) else [fns] for point, fns in functions.items()}
        self.sites = [resolve_hook_point(model, point, self.layout) for point in self.functions]
        self.handles: list[torch.utils.hooks.RemovableHandle] = []
        self.step, self.start, self.prompt_length, self.fired = 0, 0, 0, set()
        # The positions of a call: a cache seen in the previous call continues where that call ended, so the count
        # does not depend on a cache API that linear-attention (state-space) caches lack.
        self.cache_id: int | None = None
        self.next_start = 0
        self.tokens_shape: tuple[int, int] | None = None

    def __enter__(self) -> Hooks:
        try:
            self.handles.append(self.model.register_forward_pre_hook(self._on_model_call, with_kwargs=True))
            for site in self.sites:
                if site.reads == "input":
                    self.handles.append(site.module.register_forward_pre_hook(self._input_hook(site), with_kwargs=True))
                else:
                    self.handles.append(site.module.register_forward_hook(self._output_hook(site), with_kwargs=True))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Call the model; None if stop_early cut the pass short (the hook functions have all run by then)."""
        try:
            return self.model(*args, **kwargs)
        except _StopForward:
            return None

    def _on_model_call(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        tokens = kwargs.get("input_ids") if kwargs.get("input_ids") is not None else kwargs.get("inputs_embeds")
        if tokens is None and args:
            tokens = args[0]
        has_sequence = isinstance(tokens, torch.Tensor) and tokens.dim() > 1
        length = int(tokens.shape[1]) if has_sequence else 0
        self.tokens_shape = (int(tokens.shape[0]), length) if has_sequence else None
        cache = _cache_of(kwargs)
        continuing = cache is not None and id(cache) == self.cache_id
        self.start = self.next_start if continuing else _filled_length(cache, kwargs)
        self.cache_id = id(cache) if cache is not None else None
        self.next_start = self.start + length
        if self.start == 0:
            self.step = 0
            self.prompt_length = self.fixed_prompt_length if self.fixed_prompt_length is not None else length
        else:
            self.step += 1
        self.fired = set()

    def _context(self, site: HookSite, activation: torch.Tensor) -> HookContext:
        length = int(activation.shape[1]) if activation.dim() > 1 else 1
        return HookContext(site.hook_point, site.layer_index, site.hook_type, self.step, self.start, length,
                           self.prompt_length)

    def _apply(self, site: HookSite, activation: torch.Tensor) -> torch.Tensor | None:
        # Some MLPs (OPT's fc2, MoE blocks) work on the tokens flattened to [batch * seq, d]: functions always see
        # [batch, seq, d], and what they return is flattened back.
        flat = activation.dim() == 2 and self.tokens_shape is not None \
            and activation.shape[0] == self.tokens_shape[0] * self.tokens_shape[1]
        seen = activation.view(*self.tokens_shape, -1) if flat and self.tokens_shape else activation
        context, replaced = self._context(site, seen), None
        for function in self.functions[site.hook_point]:
            result = function(seen if replaced is None else replaced, context)
            if result is not None:
                replaced = result
        self.fired.add(site.hook_point)
        if self.stop_early and len(self.fired) == len(self.sites):
            raise _StopForward
        if replaced is not None and flat:
            return replaced.reshape(activation.shape)
        return replaced

    def _input_hook(self, site: HookSite) -> Callable[..., Any]:
        def hook(module: torch.nn.Module, args: tuple, kwargs: dict) -> Any:
            if args:
                replaced = self._apply(site, args[0])
                return None if replaced is None else ((replaced, *args[1:]), kwargs)
            replaced = self._apply(site, kwargs["hidden_states"])
            return None if replaced is None else (args, {**kwargs, "hidden_states": replaced})

        return hook

    def _output_hook(self, site: HookSite) -> Callable[..., Any]:
        def hook(module: torch.nn.Module, args: tuple, kwargs: dict, output: Any) -> Any:
            produced = _first_tensor(output)
            residual = (args[1] if len(args) > 1 else kwargs.get("residual")) if site.residual_inside else None
            # What the sub-block adds to the residual stream: without the residual it already added, times the
            # layer's branch scale; a replacement is mapped back the same way.
            added = produced if residual is None else produced - residual
            if site.scale != 1.0:
                added = added * site.scale
            replaced = self._apply(site, added)
            if replaced is None:
                return None
            if site.scale != 1.0:
                replaced = replaced / site.scale
            return _replace_first(output, replaced if residual is None else replaced + residual)

        return hook


def capturing(store: Callable[[str, torch.Tensor], None],
              dtype: torch.dtype | None = None) -> Callable[[str], HookFunction]:
    """A factory of read-only hook functions that hand a detached copy of each activation to `store(point, t)`."""

    def for_point(point: str) -> HookFunction:
        def capture(activation: torch.Tensor, context: HookContext) -> None:
            # A copy, not a view: falcon adds the attention output into the MLP's output tensor in place.
            store(point, activation.detach().to(dtype or activation.dtype, copy=True))

        return capture

    return for_point


@contextmanager
def capture_activations(model: torch.nn.Module, hook_points: list[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Hook the given points; each forward pass fills the yielded dict with detached copies, one per point.

    A later forward pass replaces the previous pass's tensors, so read the dict after each batch. Hooks are
    removed on exit, also when the body raises.
    """
    captured: dict[str, torch.Tensor] = {}
    capture = capturing(captured.__setitem__)
    with Hooks(model, {point: capture(point) for point in dict.fromkeys(hook_points)}):
        yield captured
