"""Steering directions without an SAE: difference of means of contrastive prompt pairs, saved and loaded.

    direction = contrastive_direction(handle, ["I love this", ...], ["I hate this", ...], "blocks.6.resid_post")
    save_direction(direction, "happy.safetensors")
    with steering_hooks(handle, [load_direction("happy.safetensors").intervention(4.0)]): ...

A direction file is safetensors with one tensor, `direction` [d_model] float32, and string metadata
(`format: mistudio.direction`, `hook_point`, and whatever else was recorded: name, method, pairs, model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hooks import Hooks
from mistudio.lens.steer.interventions import AddDirection, Positions, _check_hook_point
from mistudio.lens.steer.prompts import encode_prompt
from mistudio.lens.steer.validation import invalid, whole_number

DIRECTION_FORMAT = "mistudio.direction"
DIRECTION_TENSOR = "direction"
Reduce = Literal["last", "mean"]


@dataclass(frozen=True, eq=False)
class Direction:
    """A vector in a hook point's space [d_model], with what it is and how it was made."""

    vector: torch.Tensor
    hook_point: str
    name: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def norm(self) -> float:
        return float(self.vector.float().norm())

    def intervention(self, strength: float = 1.0, positions: Positions = "all") -> AddDirection:
        """Steer with it: add strength × vector at its hook point."""
        return AddDirection(self.hook_point, self.vector, strength, positions, label=self.name or "direction")


def _check_pairs(positive: Sequence[str], negative: Sequence[str]) -> None:
    for name, prompts in (("positive", positive), ("negative", negative)):
        if isinstance(prompts, str) or not isinstance(prompts, Sequence) or not prompts:
            raise invalid(f"{name} must be a non-empty list of prompts", name)
        for index, prompt in enumerate(prompts):
            if not isinstance(prompt, str) or not prompt.strip():
                raise invalid(f"{name} prompt {index} is empty", name, index=index)
    if len(positive) != len(negative):
        raise invalid(f"contrastive prompts come in pairs: {len(positive)} positive but {len(negative)} negative",
                      "negative", positive=len(positive), negative=len(negative))


@torch.no_grad()
def prompt_activations(handle: Any, prompts: Sequence[str], hook_point: str, *, reduce: Reduce = "last",
                       use_chat_template: bool = False, batch_size: int = 8) -> torch.Tensor:
    """One activation per prompt at `hook_point` [prompts, d_model] float32: its last token's, or the mean over
    its tokens. Prompts are batched right-padded, so padding never comes before a real token."""
    if reduce not in ("last", "mean"):
        raise invalid(f"reduce must be 'last' or 'mean'; got {reduce!r}", "reduce")
    _check_hook_point(hook_point)
    batch_size = whole_number(batch_size, "batch_size", minimum=1)
    tokenizer, model = handle.tokenizer, handle.model
    pad = next((t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id) if t is not None), 0)
    encoded = [encode_prompt(tokenizer, prompt, use_chat_template)[0] for prompt in prompts]
    device = handle.input_device
    rows: list[torch.Tensor] = []
    captured: dict[str, torch.Tensor] = {}
    hooks = Hooks(model, {hook_point: lambda activation, context: captured.__setitem__("a", activation.float())},
                  stop_early=True, layout=handle.layout)
    with hooks:
        for start in range(0, len(encoded), batch_size):
            chunk = encoded[start:start + batch_size]
            width = max(len(ids) for ids in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, tokens in enumerate(chunk):
                ids[row, :len(tokens)], mask[row, :len(tokens)] = tokens, 1
            hooks.run(input_ids=ids.to(device), attention_mask=mask.to(device))
            activations = captured.pop("a")
            real = mask.to(activations.device).float()
            if reduce == "last":
                last = real.sum(dim=1).long() - 1
                rows.append(activations[torch.arange(len(chunk), device=activations.device), last].cpu())
            else:
                rows.append(((activations * real[..., None]).sum(dim=1) / real.sum(dim=1, keepdim=True)).cpu())
    return torch.cat(rows)


def contrastive_direction(handle: Any, positive: Sequence[str], negative: Sequence[str], hook_point: str, *,
                          reduce: Reduce = "last", use_chat_template: bool = False, batch_size: int = 8,
                          name: str | None = None) -> Direction:
    """mean(activations of `positive`) − mean(activations of `negative`) at `hook_point` (pairs of equal count)."""
    _check_pairs(positive, negative)
    _check_hook_point(hook_point)
    positive_mean = prompt_activations(handle, positive, hook_point, reduce=reduce,
                                       use_chat_template=use_chat_template, batch_size=batch_size).mean(dim=0)
    negative_mean = prompt_activations(handle, negative, hook_point, reduce=reduce,
                                       use_chat_template=use_chat_template, batch_size=batch_size).mean(dim=0)
    metadata = {"method": "difference_of_means", "pairs": str(len(positive)), "reduce": reduce,
                "model": str(getattr(handle.layout, "model_type", ""))}
    return Direction(positive_mean - negative_mean, hook_point, name, metadata)


def random_direction(like: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A random direction with the same norm as `like` (the baseline a steering effect is compared against)."""
    generator = torch.Generator().manual_seed(seed)
    vector = torch.randn(like.numel(), generator=generator)
    return (vector / vector.norm() * like.float().norm().cpu()).to(like.device)


def save_direction(direction: Direction, path: Path | str) -> Path:
    """Write `direction` as safetensors with its metadata; returns the path."""
    path = Path(path)
    metadata = {key: str(value) for key, value in direction.metadata.items()}
    metadata.update(format=DIRECTION_FORMAT, hook_point=direction.hook_point, d_model=str(direction.vector.numel()))
    if direction.name is not None:
        metadata["name"] = direction.name
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({DIRECTION_TENSOR: direction.vector.detach().float().cpu().contiguous()}, str(path), metadata=metadata)
    return path


def load_direction(path: Path | str) -> Direction:
    """Read a direction written by `save_direction`; refused, naming the problem, when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise invalid(f"{path.name} is not a file", "path")
    try:
        with safe_open(str(path), framework="pt") as file:
            metadata = dict(file.metadata() or {})
            if DIRECTION_TENSOR not in file.keys():
                raise invalid(f"{path.name} has no '{DIRECTION_TENSOR}' tensor: it is not a saved direction", "path")
            vector = file.get_tensor(DIRECTION_TENSOR).float()
    except SafetensorError as error:
        raise invalid(f"{path.name} is not a safetensors file: {error}", "path") from error
    hook_point = metadata.pop("hook_point", None)
    if metadata.pop("format", None) != DIRECTION_FORMAT or hook_point is None:
        raise invalid(f"{path.name} does not say it is a {DIRECTION_FORMAT} with a hook_point", "path")
    if vector.dim() != 1 or not all(math.isfinite(v) for v in vector.tolist()):
        raise invalid(f"{path.name}'s direction must be a finite 1-D vector", "path")
    try:
        _check_hook_point(hook_point)
    except InvalidArgument as error:
        raise invalid(f"{path.name}: {error.message}", "path") from error
    metadata.pop("d_model", None)
    return Direction(vector, hook_point, metadata.pop("name", None), metadata)
