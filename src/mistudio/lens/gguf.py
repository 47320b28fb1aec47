"""Convert a GGUF file once into a plain HF safetensors folder, so later loads take seconds instead of a GGUF parse."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from mistudio.lens.errors import InvalidArgument

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"


def is_gguf_file(path: Path) -> bool:
    """Whether `path` is a file starting with the GGUF magic bytes."""
    path = Path(path)
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        return handle.read(len(GGUF_MAGIC)) == GGUF_MAGIC


def _plain_model(loaded: Any) -> Any:
    """The GGUF-loaded model's weights in a model built from its config without quantization_config.

    transformers refuses save_pretrained on a GGUF-loaded model; a fresh model that takes over the same tensors
    (built on the meta device, so nothing is allocated twice) saves normally.
    """
    from transformers import AutoConfig, AutoModelForCausalLM

    values = loaded.config.to_dict()
    values.pop("quantization_config", None)
    config = AutoConfig.for_model(values.pop("model_type"), **values)
    with torch.device("meta"):
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False, assign=True)
    if config.tie_word_embeddings:
        plain.tie_weights()  # a tied lm_head is absent from GGUF files and from the state dict
    still_missing = [name for name, param in plain.named_parameters() if param.is_meta]
    if unexpected or still_missing:
        raise InvalidArgument(f"the GGUF weights do not match a {config.model_type} model: "
                           f"missing {still_missing or missing}, unexpected {unexpected}")
    plain.generation_config = loaded.generation_config
    return plain


def convert_gguf(gguf_path: Path, out_dir: Path, *,
                 on_progress: Callable[[float, str], None] | None = None) -> Path:
    """Dequantize `gguf_path` into out_dir as fp32 safetensors + config + tokenizer + generation config.

    Raises InvalidArgument for a file that is not GGUF or a GGUF architecture transformers cannot load as a causal LM.
    Files are written to a staging folder first, so a failure leaves out_dir as it was.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def progress(fraction: float, message: str) -> None:
        logger.info("GGUF conversion %.0f%%: %s", fraction * 100, message)
        if on_progress is not None:
            on_progress(fraction, message)

    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    if not gguf_path.is_file():
        raise InvalidArgument(f"{gguf_path.name} is not a file")
    if not is_gguf_file(gguf_path):
        raise InvalidArgument(f"{gguf_path.name} is not a GGUF file: it does not start with the GGUF magic bytes")
    progress(0.0, f"reading and dequantizing {gguf_path.name}")
    try:
        loaded = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name,
                                                      dtype=torch.float32)
    except (ValueError, NotImplementedError) as error:
        # transformers says "GGUF model with architecture X is not supported yet" / "Unrecognized configuration".
        raise InvalidArgument(f"{gguf_path.name} cannot be imported: {error}") from error
    progress(0.6, "rebuilding a plain model from its config")
    plain = _plain_model(loaded)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".gguf-", dir=out_dir.parent))
    try:
        progress(0.7, "writing safetensors")
        plain.save_pretrained(staging)
        del plain, loaded
        progress(0.85, "converting the tokenizer")
        AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name).save_pretrained(staging)
        for item in staging.iterdir():
            os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(1.0, f"converted to {out_dir.name}")
    return out_dir
