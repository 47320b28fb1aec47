"""One way to open a model: `open_model(folder, format, device)` → a `ModelHandle`.

The handle carries everything later work needs: the torch model (eval mode), its tokenizer, its discovered layout
(`lens.layout`), `d_model`, `n_layers`, where it lives, its dtype and the format really obtained (a fallback may
have chosen a smaller one). How a format is loaded (dtypes, bitsandbytes, HQQ, offloading) stays in
`lens.quantize`; this module is where loading is asked for. Importing it does not import torch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.layout import ModelLayout


@dataclass
class ModelHandle:
    """An opened causal LM with what hooks, extraction, training and generation need to know about it."""

    model: Any
    tokenizer: Any | None
    layout: ModelLayout
    format: str  # really obtained
    requested_format: str
    device: str
    placement: dict[str, Any]
    footprint_bytes: int
    steps: list[str] = field(default_factory=list)

    @property
    def d_model(self) -> int:
        return self.layout.d_model

    @property
    def n_layers(self) -> int:
        return self.layout.num_layers

    @property
    def dtype(self) -> Any:
        """The dtype activations flow in (the input embeddings'; quantized layers compute in it too)."""
        return self.model.get_input_embeddings().weight.dtype

    @property
    def devices(self) -> list[str]:
        """Every device holding a parameter (more than one when layers are offloaded or split)."""
        return sorted({str(parameter.device) for parameter in self.model.parameters()})

    @property
    def input_device(self) -> Any:
        return self.model.get_input_embeddings().weight.device

    def hook_points(self) -> list[str]:
        return self.layout.hook_points()


def load_tokenizer(folder: Path, *, trust_remote_code: bool = False, require_fast: bool = True) -> Any:
    """The tokenizer saved in `folder` (AutoTokenizer); InvalidArgument naming the folder if there is none."""
    from transformers import AutoTokenizer  # slow to import: only when a tokenizer is needed

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
    except Exception as error:  # transformers raises OSError, ValueError, KeyError... for the same cause
        raise InvalidArgument(f"no tokenizer can be loaded from {folder}: {error}") from error
    if require_fast and not getattr(tokenizer, "is_fast", False):
        raise InvalidArgument(f"the tokenizer in {folder} has no fast (Rust) version; add its tokenizer.json")
    return tokenizer


def _read_config(folder: Path) -> dict[str, Any]:
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise InvalidArgument(f"{Path(folder).name} is not a model folder: it has no config.json")
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise InvalidArgument(f"{path} is not valid JSON ({error}); download or import the model again") from error


def open_model(folder: Path | str, format: str = "fp32", device: str = "cpu", *, trust_remote_code: bool = False,
               fallback: bool = False, free_bytes: int | None = None, with_tokenizer: bool = True,
               on_step: Callable[[str], None] | None = None) -> ModelHandle:
    """Load the HF model folder as `format` on `device`, with its tokenizer and layout.

    `fallback=True` follows `lens.quantize`'s chain when the format does not fit `free_bytes` (default: the device's
    free memory) or runs out of memory while loading; `handle.format` then says what was obtained. Without it the
    format is loaded as asked or the load fails.
    """
    from mistudio.lens import memory, quantize
    from mistudio.lens.layout import layout_of

    folder = Path(folder)
    config = _read_config(folder)
    if fallback:
        split = memory.split_parameters(config)
        loaded = quantize.load_with_fallback(folder, format, device, free_bytes=free_bytes,
                                             estimate=lambda name: memory.estimate_memory(split, name, device),
                                             on_step=on_step, trust_remote_code=trust_remote_code)
    else:
        loaded = quantize.load_model(folder, format, device, trust_remote_code=trust_remote_code, on_step=on_step)
    tokenizer = load_tokenizer(folder, trust_remote_code=trust_remote_code, require_fast=False) \
        if with_tokenizer else None
    return ModelHandle(model=loaded.model, tokenizer=tokenizer, layout=layout_of(loaded.model), format=loaded.format,
                       requested_format=format, device=loaded.device, placement=loaded.placement,
                       footprint_bytes=loaded.footprint_bytes, steps=loaded.steps)
