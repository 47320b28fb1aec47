"""A batch of token windows → the SAE's latents at its hook point, through a read hook that stops the pass early."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hooks import HookContext, Hooks
from mistudio.lens.layout import layout_of
from mistudio.lens.sae.architectures import SparseAutoencoder


def to_tensor(values: Any) -> torch.Tensor:
    """Rows of a tensor, numpy array or memory map as an int64 CPU tensor."""
    if isinstance(values, torch.Tensor):
        return values.detach().to("cpu", torch.int64)
    return torch.from_numpy(np.asarray(values).astype(np.int64, copy=False))


def counted_positions(input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
                      ignore_token_ids: Sequence[int]) -> torch.Tensor:
    """Which positions count in the statistics: real (mask 1) and not one of the ignored tokens (BOS, padding…)."""
    counted = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
    if ignore_token_ids:
        counted &= ~torch.isin(input_ids, torch.tensor(list(ignore_token_ids), dtype=input_ids.dtype))
    return counted


def hook_point_of(sae: SparseAutoencoder) -> str:
    """Where the SAE reads (a transcoder's input point); InvalidArgument if the config does not say."""
    if not sae.config.hook_point:
        raise InvalidArgument("the SAE does not say which hook point it reads (config.hook_point); set it to analyse "
                              "its latents inside the model", details={"field": "hook_point"})
    return sae.config.hook_point


def check_width(activation: torch.Tensor, sae: SparseAutoencoder, hook_point: str) -> None:
    if activation.shape[-1] != sae.config.d_in:
        raise InvalidArgument(f"the SAE reads vectors of {sae.config.d_in} numbers but the model's {hook_point} has "
                              f"{activation.shape[-1]}: this SAE was trained on another model or hook point",
                              details={"field": "hook_point", "sae_d_in": sae.config.d_in,
                                       "model_d": int(activation.shape[-1])})


class LatentEncoder:
    """Callable: (input_ids, attention_mask) [batch, seq] → float32 latents [batch, seq, width] on `device`."""

    def __init__(self, model: torch.nn.Module, sae: SparseAutoencoder, device: torch.device | str) -> None:
        self.model, self.sae, self.device = model, sae, torch.device(device)
        self.hook_point = hook_point_of(sae)
        self.layout = layout_of(model)
        self.input_device = model.get_input_embeddings().weight.device
        self.sae_device = sae.W_enc.device

    @torch.no_grad()
    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        captured: dict[str, torch.Tensor] = {}

        def encode(activation: torch.Tensor, context: HookContext) -> None:
            # Encoded inside the hook: the activation is used before any later module could change it in place.
            check_width(activation, self.sae, self.hook_point)
            captured["latents"] = self.sae.encode(activation.to(self.sae_device)).float().to(self.device)

        inputs = {"input_ids": input_ids.to(self.input_device)}
        if attention_mask is not None:
            inputs["attention_mask"] = attention_mask.to(self.input_device)
        with Hooks(self.model, {self.hook_point: encode}, stop_early=True, layout=self.layout) as hooks:
            hooks.run(**inputs)
        return captured["latents"]
