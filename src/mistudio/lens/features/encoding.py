"""A batch of token windows → the SAE's latents at its hook point, through a read hook that stops the pass early."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features.sparse import BatchLatents
from mistudio.lens.features.stats import ActiveEntries
from mistudio.lens.hooks import HookContext, Hooks
from mistudio.lens.layout import layout_of
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.threads import one_thread


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
    """Callable: (input_ids, attention_mask) [batch, seq] → float32 latents [batch, seq, width] on `device`;
    `active` gives the same latents as their active entries (`BatchLatents`)."""

    def __init__(self, model: torch.nn.Module, sae: SparseAutoencoder, device: torch.device | str) -> None:
        self.model, self.sae, self.device = model, sae, torch.device(device)
        self.hook_point = hook_point_of(sae)
        self.layout = layout_of(model)
        self.input_device = model.get_input_embeddings().weight.device
        self.sae_device = sae.W_enc.device

    @torch.no_grad()
    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self._run(input_ids, attention_mask, lambda activation: self.sae.encode(activation).float())

    @torch.no_grad()
    def active(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
               counted: torch.Tensor) -> BatchLatents:
        """The latents of the `counted` positions [batch, seq] (the others hold none), as active entries. A TopK SAE
        encodes sparsely (`encode_sparse`): the dense [batch, seq, width] tensor is never built."""
        batch, length = input_ids.shape
        width = self.sae.width
        counted = counted.reshape(-1).to(self.device)
        if self.sae.config.architecture == "topk":
            values, indices = self._run(input_ids, attention_mask, self.sae.encode_sparse)
            with one_thread(self.device):
                active = ActiveEntries.of_top_k(values.reshape(batch * length, -1).float(),
                                                indices.reshape(batch * length, -1), width)
                return BatchLatents(active.keep(counted), batch, length, width)
        latents = self._run(input_ids, attention_mask, lambda activation: self.sae.encode(activation).float())
        active = ActiveEntries.of(latents.view(batch * length, width))  # a dense scan: threads help
        with one_thread(self.device):
            return BatchLatents(active.keep(counted), batch, length, width)

    def _run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, encode: Callable[[torch.Tensor], Any]
             ) -> Any:
        """The model up to the hook point; `encode(activation)` there, its tensor(s) moved to `device`."""
        captured: dict[str, Any] = {}

        def hook(activation: torch.Tensor, context: HookContext) -> None:
            # Encoded inside the hook: the activation is used before any later module could change it in place.
            check_width(activation, self.sae, self.hook_point)
            encoded = encode(activation.to(self.sae_device))
            captured["latents"] = tuple(part.to(self.device) for part in encoded) if isinstance(encoded, tuple) \
                else encoded.to(self.device)

        inputs = {"input_ids": input_ids.to(self.input_device)}
        if attention_mask is not None:
            inputs["attention_mask"] = attention_mask.to(self.input_device)
        with Hooks(self.model, {self.hook_point: hook}, stop_early=True, layout=self.layout) as hooks:
            hooks.run(**inputs)
        return captured["latents"]
