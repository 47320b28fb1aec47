"""How much memory a model needs in each format: the spec's quick estimate, a refined one, and the real footprint.

The refined estimate counts what each backend really stores: the Linear weights inside the decoder blocks are
quantized (LLM.int8: int8 + one fp32 scale per row; nf4 with double quantization: 4 bits + a uint8 absmax per
64-weight block + second-level fp32 statistics; HQQ 2-bit: 2 bits + a scale and a zero per 64-weight group),
while embeddings, lm_head, norms and biases stay in the compute dtype (fp32 on CPU, fp16 on CUDA).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import psutil
import torch
from torch import nn

from mistudio.lens.errors import InvalidArgument, UnsupportedModel
from mistudio.lens.layout import LayoutNotFound, decoder_layers

FORMATS = ("fp32", "fp16", "bf16", "q8", "q4", "q2")
BYTES_PER_PARAM: dict[str, float] = {"fp32": 4, "fp16": 2, "bf16": 2, "q8": 1, "q4": 0.5, "q2": 0.25}
SPEC_OVERHEAD = 1.2
DEFAULT_BUDGET_BYTES = 6 * 1024**3  # the Jetson Orin Nano edge budget
QUANT_GROUP_SIZE = 64  # nf4 block size and HQQ group size; a weight whose size it does not divide stays unquantized
GB = 1024**3

# nf4 double quantization keeps, per quantized layer, a 16-entry fp32 code book, a 256-entry fp32 code book for the
# absmax values, and one fp32 offset; the absmax values themselves get one fp32 scale per 256 blocks.
_NF4_CODE_BYTES = 16 * 4 + 256 * 4 + 4
_NF4_NESTED_BLOCK = 256


def spec_estimate_bytes(parameter_count: int, fmt: str) -> int:
    """The specification's estimate: parameters × bytes per parameter × 1.2."""
    _check_format(fmt)
    return int(parameter_count * BYTES_PER_PARAM[fmt] * SPEC_OVERHEAD)


@dataclass(frozen=True)
class ParameterSplit:
    """A model's parameters split into what quantization touches and what it leaves alone."""

    total: int
    quantizable: int  # weights of the Linear layers inside the decoder blocks that every backend quantizes
    unquantized: int  # embeddings, lm_head, norms, biases, weights outside the blocks
    quantized_layers: int = 0  # how many Linear layers that is (per-layer metadata such as nf4 code books)
    quantized_rows: int = 0  # their summed output features (LLM.int8 keeps one fp32 scale per row)
    buffer_bytes: int = 0  # buffers such as rotary frequencies, loaded as they are in every format


def decoder_blocks(model: nn.Module) -> nn.ModuleList | None:
    """The model's transformer blocks (`layout.decoder_layers`); None for a model whose layout is not found."""
    try:
        return decoder_layers(model)
    except LayoutNotFound:
        return None


def is_out_of_memory(error: BaseException) -> bool:
    """Whether an exception means memory ran out: CUDA's OutOfMemoryError, MemoryError, or the CPU allocator's
    plain RuntimeError ("can't allocate memory", "not enough memory", "out of memory")."""
    if isinstance(error, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and any(
        words in text for words in ("out of memory", "can't allocate memory", "not enough memory"))


def is_linear_layer(module: nn.Module) -> bool:
    """Whether a quantization backend replaces this module: exactly nn.Linear, or GPT-2's Conv1D."""
    # Exactly, because transformers' bitsandbytes integration leaves Linear subclasses (Falcon's) in full precision.
    return type(module) is nn.Linear or type(module).__name__ == "Conv1D"


def quantizable_linear_names(model: nn.Module) -> list[str]:
    """Full names of the Linear layers inside the decoder blocks whose weights a quantized format stores in low bits."""
    blocks = decoder_blocks(model)
    if blocks is None:
        return []
    block_ids = {id(m) for m in blocks.modules()}
    return [name for name, module in model.named_modules()
            if id(module) in block_ids and is_linear_layer(module) and module.weight.numel() % QUANT_GROUP_SIZE == 0]


def meta_model(config: Any, *, trust_remote_code: bool = False) -> nn.Module:
    """A causal LM built from its config on the meta device: shapes and names only, no memory."""
    from transformers import AutoConfig, AutoModelForCausalLM, PretrainedConfig

    if not isinstance(config, PretrainedConfig):
        # auto_map would ask for remote code a dict-built config cannot run; the meta model needs only shapes.
        values = {key: value for key, value in config.items() if key != "auto_map"}
        model_type = values.pop("model_type", None)
        if not model_type:
            raise InvalidArgument("the model's config.json has no model_type")
        try:
            config = AutoConfig.for_model(model_type, **values)
        except ValueError as error:
            import transformers

            raise UnsupportedModel(f"model type {model_type!r} is not known to the installed transformers "
                                   f"{transformers.__version__}, so miStudio cannot build it") from error
    try:
        with torch.device("meta"):
            return AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    except ValueError as error:
        raise InvalidArgument(f"{config.model_type} is not a causal language model: {error}") from error


def split_parameters(config: dict[str, Any] | Any) -> ParameterSplit:
    """Count quantizable and unquantized parameters of the model a config describes, without allocating weights."""
    model = meta_model(config)
    names = set(quantizable_linear_names(model))
    quantizable = rows = 0
    for name, module in model.named_modules():
        if name in names:
            quantizable += module.weight.numel()
            rows += module.weight.shape[1] if type(module).__name__ == "Conv1D" else module.weight.shape[0]
    total = sum(p.numel() for p in model.parameters())  # shared (tied) parameters count once
    buffer_bytes = sum(b.numel() * b.element_size() for b in model.buffers())
    return ParameterSplit(total=total, quantizable=quantizable, unquantized=total - quantizable,
                          quantized_layers=len(names), quantized_rows=rows, buffer_bytes=buffer_bytes)


def compute_dtype_bytes(device: str) -> int:
    """Bytes per unquantized parameter in a quantized format: fp32 on CPU (fast there), fp16 on CUDA."""
    return 2 if device.startswith("cuda") else 4


def estimate_memory(split: ParameterSplit, fmt: str, device: str = "cpu") -> int:
    """Bytes of parameters, buffers and quantization metadata the model holds once loaded in `fmt` on `device`."""
    _check_format(fmt)
    if fmt in ("fp32", "fp16", "bf16"):
        return int(split.total * BYTES_PER_PARAM[fmt]) + split.buffer_bytes
    weights = split.quantizable
    groups = weights // QUANT_GROUP_SIZE
    if fmt == "q8":
        quantized = weights + split.quantized_rows * 4
    elif fmt == "q4":
        nested_scales = math.ceil(groups / _NF4_NESTED_BLOCK) * 4
        quantized = weights // 2 + groups + nested_scales + split.quantized_layers * _NF4_CODE_BYTES
    else:  # q2: HQQ keeps a scale and a zero per group in the compute dtype
        quantized = weights // 4 + 2 * groups * compute_dtype_bytes(device)
    return quantized + split.unquantized * compute_dtype_bytes(device) + split.buffer_bytes


def fit_level(estimate_bytes: int, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> Literal["green", "yellow", "red"]:
    """green below two thirds of the budget (4 GB of 6), yellow up to the budget, red above it."""
    if estimate_bytes < budget_bytes * 2 / 3:
        return "green"
    return "yellow" if estimate_bytes <= budget_bytes else "red"


def free_memory_bytes(device: str) -> int:
    """Memory free for a model now: available RAM on CPU, free GPU memory on CUDA."""
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InvalidArgument("CUDA is not available on this machine")
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    if device != "cpu":
        raise InvalidArgument(f"unknown device {device!r}: use 'cpu' or 'cuda'")
    return int(psutil.virtual_memory().available)


def _tensors_in(value: Any, depth: int, seen: dict[int, Any]) -> Iterator[torch.Tensor]:
    """Tensors reachable from `value`: quantized weights keep scales and code books in attributes, not buffers."""
    if depth < 0 or id(value) in seen or isinstance(value, (nn.Module, type, str, bytes, int, float, bool)):
        return
    seen[id(value)] = value  # holding a reference keeps the id from being reused by a later object
    if isinstance(value, torch.Tensor):
        yield value
        if hasattr(value, "__tensor_flatten__"):  # wrapper subclasses hold their data in inner tensors
            inner_names, _ = value.__tensor_flatten__()
            for name in inner_names:
                yield from _tensors_in(getattr(value, name), depth - 1, seen)
        children = vars(value).values() if hasattr(value, "__dict__") else ()
    elif isinstance(value, dict):
        children = value.values()
    elif isinstance(value, (list, tuple)):
        children = value
    elif hasattr(value, "__dict__"):
        children = vars(value).values()
    else:
        return
    for child in children:
        yield from _tensors_in(child, depth - 1, seen)


def measure_footprint(model: nn.Module) -> int:
    """Bytes actually held by the model's parameters, buffers and quantization state, each storage counted once."""
    storages: dict[tuple[str, int], int] = {}
    seen: dict[int, Any] = {}
    for module in model.modules():
        held = [*module._parameters.values(), *module._buffers.values(),
                *(v for k, v in vars(module).items() if k not in ("_parameters", "_buffers", "_modules"))]
        for tensor in _tensors_in(held, depth=4, seen=seen):
            if tensor.device.type == "meta" or tensor.__class__.__name__ == "FakeTensor":
                continue
            storage = tensor.untyped_storage()
            key = (str(tensor.device), storage.data_ptr())
            storages[key] = max(storages.get(key, 0), storage.nbytes())
    return sum(storages.values())


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidArgument(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
