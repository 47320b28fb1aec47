"""Load a causal LM in a chosen format, and fall back along the spec's chain when memory runs out.

Formats: fp32 / fp16 / bf16 (plain dtypes); q8 = bitsandbytes LLM.int8 (threshold 6.0); q4 = bitsandbytes nf4 with
double quantization; q2 = HQQ 2-bit (group size 64), applied after loading because transformers' HQQ integration
does not quantize on load. bitsandbytes and HQQ both run on CPU and CUDA.

Fallback (`load_with_fallback`): when the requested format's estimate does not fit the free memory, the nearest
smaller format of the chain that fits is loaded instead (fp32 → fp16 → q8 → q4 → q2). When a load or quantization
really runs out of memory, the next format of the chain Q2 → Q4 → Q8 → FP16 → FP32 whose estimate fits is tried (a
smaller one quantizes with less transient memory: HQQ needs the full-precision model first, bitsandbytes quantizes
as it loads), then the nearest smaller one that fits. On CUDA, when no format fits on the GPU, the layers are spread
over GPU and CPU with accelerate's device_map="auto" and max_memory. When nothing fits: InsufficientMemory.
"""

from __future__ import annotations

import gc
import importlib.metadata
import logging
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from packaging.version import Version

from mistudio.lens.errors import InvalidArgument, NoCapacity
from mistudio.lens.memory import (
    FORMATS,
    QUANT_GROUP_SIZE,
    compute_dtype_bytes,
    free_memory_bytes,
    is_linear_layer,
    is_out_of_memory,
    measure_footprint,
    meta_model,
    quantizable_linear_names,
)
from mistudio.lens.units import human_bytes

logger = logging.getLogger(__name__)


def _gb(n_bytes: float) -> str:
    """Bytes in GB, so the figures one message compares share a unit."""
    return human_bytes(n_bytes, "GB")


FALLBACK_CHAIN = ("q2", "q4", "q8", "fp16", "fp32")
_BACKENDS = {"fp32": "torch", "fp16": "torch", "bf16": "torch", "q8": "bitsandbytes", "q4": "bitsandbytes",
             "q2": "hqq"}
# The oldest releases measured to run these formats on CPU as well as CUDA.
_MIN_VERSIONS = {"bitsandbytes": "0.50", "hqq": "0.2.8"}
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class FormatUnavailable(InvalidArgument):
    """The format cannot run here (backend missing, device lacks support); the message says which and why."""

    code = "format_unavailable"


class InsufficientMemory(NoCapacity):
    """No format of the model fits the free memory; the message reads "needs X GB, Y GB free"."""

    code = "insufficient_memory"


@dataclass(frozen=True)
class FormatAvailability:
    """Whether a format can be loaded on a device, by which backend, and if not, why."""

    format: str
    available: bool
    backend: str
    reason: str | None = None


@dataclass
class LoadedModel:
    """A model loaded in the format and placement it really got, with the steps that led there."""

    model: Any
    format: str
    device: str
    placement: dict[str, Any]
    footprint_bytes: int
    steps: list[str] = field(default_factory=list)


def _device_problem(device: str) -> str | None:
    if device == "cpu":
        return None
    if not re.fullmatch(r"cuda(:\d+)?", device):
        return f"unknown device {device!r}: use 'cpu' or 'cuda'"
    if not torch.cuda.is_available():
        return "CUDA is not available on this machine"
    return None


def format_availability(fmt: str, device: str = "cpu") -> FormatAvailability:
    """Whether `fmt` can be loaded on `device` right now; cheap (no backend import), so previews can call it."""
    if fmt not in FORMATS:
        raise InvalidArgument(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    backend = _BACKENDS[fmt]
    problem = _device_problem(device)
    if problem is None and fmt == "bf16" and device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        problem = "bf16 is not supported on this device"
    if problem is None and backend in _MIN_VERSIONS:
        try:
            version = importlib.metadata.version(backend)
        except importlib.metadata.PackageNotFoundError:
            problem = f"{backend} is not installed (pip install '{backend}>={_MIN_VERSIONS[backend]}')"
        else:
            if Version(version) < Version(_MIN_VERSIONS[backend]):
                problem = f"{backend} {version} is too old for {fmt} on {device}: need >= {_MIN_VERSIONS[backend]}"
    return FormatAvailability(format=fmt, available=problem is None, backend=backend, reason=problem)


def available_formats(device: str = "cpu") -> list[FormatAvailability]:
    """The availability of every format on `device`, in FORMATS order."""
    return [format_availability(fmt, device) for fmt in FORMATS]


def _compute_dtype(device: str) -> torch.dtype:
    # Half-precision matmuls are slow on most CPUs, so quantized formats compute (and keep norms) in fp32 there.
    return torch.float16 if compute_dtype_bytes(device) == 2 else torch.float32


def _bnb_config(fmt: str, device: str, skip: list[str], offload: bool) -> Any:
    from transformers import BitsAndBytesConfig

    # An explicit skip list replaces transformers' default one, so the quantized set is exactly the one that
    # memory.split_parameters counts: the Linear layers inside the decoder blocks.
    common = {"llm_int8_skip_modules": [re.escape(name) for name in skip],
              "llm_int8_enable_fp32_cpu_offload": offload}
    if fmt == "q8":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=6.0, **common)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=_compute_dtype(device), **common)


class _Int8CastNotice(logging.Filter):
    """Drops bitsandbytes' "MatMul8bitLt: inputs will be cast from float32 to float16" warning.

    LLM.int8 always quantizes activations from fp16; with fp32 compute on CPU bitsandbytes logs this on every
    call of every int8 layer, thousands of lines per generation, none of them actionable.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("MatMul8bitLt: inputs will be cast")


def _quiet_int8_cast_notice() -> None:
    bnb_logger = logging.getLogger("bitsandbytes.autograd._functions")
    if not any(isinstance(f, _Int8CastNotice) for f in bnb_logger.filters):
        bnb_logger.addFilter(_Int8CastNotice())


def _quantize_hqq(model: torch.nn.Module, names: list[str]) -> None:
    """Replace each named Linear by an HQQ 2-bit layer on the layer's own device, freeing its full weight."""
    from hqq.core.quantize import BaseQuantizeConfig, HQQLinear

    config = BaseQuantizeConfig(nbits=2, group_size=QUANT_GROUP_SIZE)
    with torch.no_grad():
        for name in names:
            layer = model.get_submodule(name)
            # GPT-2's Conv1D stores its weight as (in, out); HQQ expects nn.Linear's (out, in).
            weight = layer.weight.t() if type(layer).__name__ == "Conv1D" else layer.weight
            quantized = HQQLinear.from_weights(weight.contiguous(), layer.bias, quant_config=config,
                                               compute_dtype=weight.dtype, device=str(weight.device))
            model.set_submodule(name, quantized)
            del layer, weight


def _step_reporter(steps: list[str], on_step: Callable[[str], None] | None) -> Callable[[str], None]:
    """A callable that keeps, logs and forwards each step message."""

    def report(message: str) -> None:
        steps.append(message)
        logger.info(message)
        if on_step is not None:
            on_step(message)

    return report


def _load_arguments(config: Any, fmt: str, device: str, max_memory: dict[Any, int] | None,
                    trust_remote_code: bool) -> tuple[dict[str, Any], list[str]]:
    """from_pretrained's dtype / placement / quantization arguments, and the names of the layers to quantize."""
    kwargs: dict[str, Any] = {"dtype": _DTYPES.get(fmt, _compute_dtype(device))}
    if max_memory is not None:
        kwargs.update(device_map="auto", max_memory=max_memory)
    elif device != "cpu":
        kwargs["device_map"] = {"": device}
    if fmt not in ("q8", "q4", "q2"):
        return kwargs, []
    skeleton = meta_model(config, trust_remote_code=trust_remote_code)
    quantized_names = quantizable_linear_names(skeleton)
    if not quantized_names:  # e.g. Falcon's Linear subclass, which transformers' bitsandbytes path skips
        raise FormatUnavailable(f"{fmt} cannot quantize this {config.model_type} model: its decoder blocks have "
                                f"no plain Linear layers for {_BACKENDS[fmt]}")
    if fmt != "q2":
        keep = set(quantized_names)
        skip = [name for name, module in skeleton.named_modules() if is_linear_layer(module) and name not in keep]
        kwargs["quantization_config"] = _bnb_config(fmt, device, skip, offload=max_memory is not None)
    return kwargs, quantized_names


def load_model(folder: Path, fmt: str, device: str = "cpu", *, max_memory: dict[Any, int] | None = None,
               trust_remote_code: bool = False, on_step: Callable[[str], None] | None = None) -> LoadedModel:
    """Load the HF model folder in `fmt` on `device` (max_memory: spread layers over GPU and CPU with accelerate)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    steps: list[str] = []
    report = _step_reporter(steps, on_step)
    availability = format_availability(fmt, device)
    if not availability.available:
        raise FormatUnavailable(f"{fmt} cannot be loaded on {device}: {availability.reason}")
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise InvalidArgument(f"{folder.name} is not a model folder: it has no config.json")
    started = time.monotonic()
    config = AutoConfig.from_pretrained(folder, trust_remote_code=trust_remote_code)
    use_safetensors = any(folder.glob("*.safetensors"))
    kwargs, quantized_names = _load_arguments(config, fmt, device, max_memory, trust_remote_code)
    source = "safetensors" if use_safetensors else "PyTorch weights (weights_only)"
    report(f"loading {folder.name} as {fmt} on {device} from {source}")
    model = AutoModelForCausalLM.from_pretrained(folder, config=config, use_safetensors=use_safetensors,
                                                 weights_only=True, trust_remote_code=trust_remote_code, **kwargs)
    model.eval()
    if fmt == "q8":
        _quiet_int8_cast_notice()
        report(f"quantized {len(quantized_names)} linear layers to int8 with bitsandbytes LLM.int8 (threshold 6.0)")
    elif fmt == "q4":
        report(f"quantized {len(quantized_names)} linear layers to nf4 with bitsandbytes (double quantization)")
    elif fmt == "q2":
        _quantize_hqq(model, quantized_names)
        gc.collect()  # the full-precision weights the HQQ layers replaced
        report(f"quantized {len(quantized_names)} linear layers to 2 bits with HQQ (group size {QUANT_GROUP_SIZE})")
    if max_memory is not None:
        placement: dict[str, Any] = {"device_map": dict(getattr(model, "hf_device_map", {})),
                                     "max_memory": {str(k): v for k, v in max_memory.items()}}
    else:
        placement = {"device": device}
    footprint = measure_footprint(model)
    report(f"loaded {fmt} in {time.monotonic() - started:.1f}s, holding {_gb(footprint)}")
    return LoadedModel(model=model, format=fmt, device=device, placement=placement, footprint_bytes=footprint,
                       steps=steps)


def _release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def smaller_fitting_format(fmt: str, estimates: dict[str, int], free: int,
                           tried: Collection[str] = ()) -> str | None:
    """The first chain format, from fp32 down to q2, whose estimate is below `fmt`'s and fits `free` (not tried)."""
    for candidate in reversed(FALLBACK_CHAIN):
        if candidate not in tried and candidate in estimates and estimates[candidate] < estimates[fmt] \
                and estimates[candidate] <= free:
            return candidate
    return None


def format_after_out_of_memory(fmt: str, estimates: dict[str, int], free: int,
                               tried: Collection[str] = ()) -> str | None:
    """After `fmt` ran out of memory: the chain's next format that fits (bf16 sits where fp16 does), else a smaller."""
    position = FALLBACK_CHAIN.index("fp16" if fmt == "bf16" else fmt)
    for candidate in FALLBACK_CHAIN[position + 1:]:
        if candidate not in tried and candidate in estimates and estimates[candidate] <= free:
            return candidate
    return smaller_fitting_format(fmt, estimates, free, tried)


def load_with_fallback(folder: Path, fmt: str, device: str, *, free_bytes: int | None = None,
                       estimate: Callable[[str], int], on_step: Callable[[str], None] | None = None,
                       trust_remote_code: bool = False) -> LoadedModel:
    """Load `fmt`, or the format the fallback rules (module docstring) choose for the free memory."""
    steps: list[str] = []
    report = _step_reporter(steps, on_step)
    availability = format_availability(fmt, device)
    if not availability.available:
        raise FormatUnavailable(f"{fmt} cannot be loaded on {device}: {availability.reason}")
    free = free_memory_bytes(device) if free_bytes is None else free_bytes
    estimates = {f: int(estimate(f)) for f in FORMATS if f == fmt or format_availability(f, device).available}
    tried: set[str] = set()
    current: str | None = fmt
    if estimates[fmt] > free:
        current = smaller_fitting_format(fmt, estimates, free, tried)
        then = f"loading {current} ({_gb(estimates[current])}) instead" if current else "no smaller format fits"
        report(f"{fmt} needs {_gb(estimates[fmt])}, {_gb(free)} free: {then}")
    while current is not None:
        tried.add(current)
        try:
            loaded = load_model(folder, current, device, trust_remote_code=trust_remote_code, on_step=report)
        except (torch.OutOfMemoryError, MemoryError, RuntimeError) as error:
            if not is_out_of_memory(error):
                raise
            _release_memory()
            following = format_after_out_of_memory(current, estimates, free, tried)
            then = f"trying {following} ({_gb(estimates[following])})" if following else "no other format fits"
            report(f"{current} ran out of memory while loading ({type(error).__name__}): {then}")
            current = following
            continue
        loaded.steps = steps
        return loaded
    if device != "cpu":
        return _load_offloaded(folder, fmt, device, gpu_free=free, estimates=estimates, report=report,
                               steps=steps, trust_remote_code=trust_remote_code)
    smallest = min(estimates, key=estimates.__getitem__)
    raise _insufficient(folder, estimates, smallest, free, f"its smallest format, {smallest}")


def _insufficient(folder: Path, estimates: dict[str, int], fmt: str, free: int, why: str) -> InsufficientMemory:
    return InsufficientMemory(
        f"not enough memory for {Path(folder).name}: needs {_gb(estimates[fmt])}, {_gb(free)} free "
        f"({why})", details={"estimates": estimates, "free_bytes": free})


def _load_offloaded(folder: Path, fmt: str, device: str, *, gpu_free: int, estimates: dict[str, int],
                    report: Callable[[str], None], steps: list[str], trust_remote_code: bool) -> LoadedModel:
    """No format fits on the GPU: spread the layers over GPU and CPU, largest format first from the requested one."""
    cpu_free = free_memory_bytes("cpu")
    total = gpu_free + cpu_free
    chosen = fmt if estimates[fmt] <= total else smaller_fitting_format(fmt, estimates, total)
    if chosen is None:
        smallest = min(estimates, key=estimates.__getitem__)
        raise _insufficient(folder, estimates, smallest, total,
                            f"{_gb(gpu_free)} on {device} and {_gb(cpu_free)} on CPU, even for {smallest}")
    max_memory = {torch.device(device).index or 0: gpu_free, "cpu": cpu_free}
    report(f"no format fits in {_gb(gpu_free)} on {device}: loading {chosen} with layers offloaded to CPU "
           f"({_gb(cpu_free)} free there)")
    try:
        loaded = load_model(folder, chosen, device, max_memory=max_memory, trust_remote_code=trust_remote_code,
                            on_step=report)
    except (torch.OutOfMemoryError, MemoryError, RuntimeError) as error:
        if not is_out_of_memory(error):
            raise
        _release_memory()
        raise _insufficient(folder, estimates, chosen, total, f"offloading {chosen} to CPU ran out of memory") \
            from error
    loaded.steps = steps
    return loaded


def generate_check(loaded: LoadedModel | Any, tokenizer: Any, prompt: str = "The", max_new_tokens: int = 4) -> str:
    """Greedy-generate a few tokens to prove the model runs; returns the continuation text."""
    model = loaded.model
    inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
    pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    # no_grad, not inference_mode: some quantized tensor types refuse inference tensors.
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
                                do_sample=False, pad_token_id=pad_token_id)
    return tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
