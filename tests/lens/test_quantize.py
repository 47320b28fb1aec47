"""Every format really loads, generates and stores low-bit weights; the fallback chain picks what fits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.memory import (
    FORMATS,
    estimate_memory,
    measure_footprint,
    meta_model,
    quantizable_linear_names,
    spec_estimate_bytes,
    split_parameters,
)
from mistudio.lens.quantize import (
    FALLBACK_CHAIN,
    FormatUnavailable,
    InsufficientMemory,
    LoadedModel,
    available_formats,
    format_after_out_of_memory,
    format_availability,
    generate_check,
    load_model,
    load_with_fallback,
    smaller_fitting_format,
)

# Bytes a quantized layer holds per fp32 byte of its weight: int8 + a row scale; nf4 + block statistics;
# 2 bits + a scale and a zero per 64 weights. A "q2" storing int8 (0.25) or 4 bits (0.125) fails these.
MAX_QUANTIZED_SHARE = {"q8": 0.27, "q4": 0.15, "q2": 0.1}
MIN_QUANTIZED_SHARE = {"q8": 0.25, "q4": 0.125, "q2": 0.0625}


def _split(folder: Path):
    return split_parameters(json.loads((folder / "config.json").read_text()))


def _quantized_share(loaded: LoadedModel, folder: Path) -> float:
    """Bytes the quantized layers hold, over the fp32 bytes of their weights."""
    names = quantizable_linear_names(meta_model(json.loads((folder / "config.json").read_text())))
    layers = [loaded.model.get_submodule(name) for name in names]
    assert names and all(type(layer).__name__ != "Linear" for layer in layers), "layers were not replaced"
    held = sum(measure_footprint(layer) for layer in layers)
    weights = _split(folder).quantizable
    return held / (4 * weights)


def _check_loaded(loaded: LoadedModel, folder: Path, fmt: str, tokenizer) -> float:
    """The model generates, and its footprint is within 10% of the estimate; returns the relative error."""
    assert loaded.format == fmt and loaded.placement == {"device": "cpu"} and loaded.steps
    assert loaded.footprint_bytes == measure_footprint(loaded.model)
    assert generate_check(loaded, tokenizer).strip()
    estimate = estimate_memory(_split(folder), fmt)
    error = abs(estimate - loaded.footprint_bytes) / loaded.footprint_bytes
    assert error < 0.10, f"{fmt}: estimate {estimate} vs measured {loaded.footprint_bytes}"
    if fmt in MAX_QUANTIZED_SHARE:
        share = _quantized_share(loaded, folder)
        assert MIN_QUANTIZED_SHARE[fmt] < share < MAX_QUANTIZED_SHARE[fmt], f"{fmt}: {share:.3f} of fp32"
    return error


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_loads_and_generates_within_10_percent_of_the_estimate(tiny_models, fmt: str) -> None:
    folder = tiny_models("llama")
    _check_loaded(load_model(folder, fmt), folder, fmt, AutoTokenizer.from_pretrained(folder))


def test_q2_stores_packed_2_bit_weights(tiny_models) -> None:
    folder = tiny_models("llama")
    loaded = load_model(folder, "q2")
    layer = loaded.model.model.layers[0].mlp.down_proj
    packed = [t for t in layer.parameters() if t.dtype == torch.uint8]
    assert len(packed) == 1 and packed[0].numel() == layer.in_features * layer.out_features // 4
    assert any("2 bits with HQQ" in step for step in loaded.steps)


@pytest.mark.slow
def test_smollm2_loads_in_every_format_within_10_percent_of_the_estimate(smollm2_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    footprints = {}
    for fmt in FORMATS:
        loaded = load_model(smollm2_dir, fmt)
        _check_loaded(loaded, smollm2_dir, fmt, tokenizer)
        footprints[fmt] = loaded.footprint_bytes
        del loaded
    assert footprints["fp16"] == footprints["bf16"] == pytest.approx(footprints["fp32"] / 2, rel=1e-6)
    assert footprints["fp32"] > footprints["q8"] > footprints["q4"] > footprints["q2"]


def test_bitsandbytes_and_hqq_formats_are_available_on_cpu() -> None:
    formats = available_formats("cpu")
    assert [f.format for f in formats] == list(FORMATS)
    assert all(f.available and f.reason is None for f in formats)
    assert {f.format: f.backend for f in formats} == {
        "fp32": "torch", "fp16": "torch", "bf16": "torch", "q8": "bitsandbytes", "q4": "bitsandbytes", "q2": "hqq"}
    with pytest.raises(InvalidArgument, match="q3"):
        format_availability("q3")


def test_cuda_formats_say_why_they_are_unavailable_without_a_gpu(tiny_models) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the gpu-marked tests cover it")
    availability = format_availability("q4", "cuda")
    assert not availability.available and availability.reason == "CUDA is not available on this machine"
    assert format_availability("fp32", "tpu").reason == "unknown device 'tpu': use 'cpu' or 'cuda'"
    with pytest.raises(FormatUnavailable, match="CUDA is not available"):
        load_model(tiny_models("llama"), "q4", "cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("fmt", ["q8", "q4", "q2", "fp16"])
def test_formats_load_and_generate_on_cuda(tiny_models, fmt: str) -> None:
    folder = tiny_models("llama")
    loaded = load_model(folder, fmt, "cuda")
    assert loaded.model.device.type == "cuda"
    assert generate_check(loaded, AutoTokenizer.from_pretrained(folder)).strip()
    estimate = estimate_memory(_split(folder), fmt, device="cuda")
    assert abs(estimate - loaded.footprint_bytes) / loaded.footprint_bytes < 0.10


def test_quantized_formats_refuse_a_family_with_no_plain_linear_layers(tiny_models) -> None:
    # Falcon's blocks use a Linear subclass that transformers' bitsandbytes integration leaves in full precision.
    with pytest.raises(FormatUnavailable, match="no plain Linear layers"):
        load_model(tiny_models("falcon"), "q4")


def test_load_model_refuses_a_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no config.json"):
        load_model(tmp_path, "fp32")


def _spec_estimates(folder: Path):
    """The spec's estimate, which shrinks along the chain (the refined one keeps tiny models' fp32 embeddings)."""
    total = _split(folder).total
    return lambda fmt: spec_estimate_bytes(total, fmt)


def test_fallback_loads_the_nearest_smaller_format_that_fits(tiny_models) -> None:
    folder = tiny_models("llama")
    estimate = _spec_estimates(folder)
    reported: list[str] = []
    # room for q8 but not fp16
    loaded = load_with_fallback(folder, "fp32", "cpu", free_bytes=estimate("q8") + 1, estimate=estimate,
                                on_step=reported.append)
    assert loaded.format == "q8"
    assert reported == loaded.steps
    assert re.fullmatch(r"fp32 needs \S+ GB, \S+ GB free: loading q8 \(\S+ GB\) instead", loaded.steps[0])
    assert any("int8" in step for step in loaded.steps)


def test_fallback_keeps_the_requested_format_when_it_fits(tiny_models) -> None:
    folder = tiny_models("llama")
    estimate = _spec_estimates(folder)
    loaded = load_with_fallback(folder, "q4", "cpu", free_bytes=estimate("q4"), estimate=estimate)
    assert loaded.format == "q4"
    assert not any("instead" in step for step in loaded.steps)


def test_fallback_with_no_format_fitting_says_what_is_needed(tiny_models) -> None:
    folder = tiny_models("llama")
    estimate = _spec_estimates(folder)
    with pytest.raises(InsufficientMemory) as raised:
        load_with_fallback(folder, "fp16", "cpu", free_bytes=estimate("q2") - 1, estimate=estimate)
    assert raised.value.code == "insufficient_memory"
    assert re.search(r"needs \S+ GB, \S+ GB free", raised.value.message)
    assert raised.value.details["estimates"]["q2"] == estimate("q2")


def test_after_running_out_of_memory_the_chain_moves_to_the_next_format_that_fits() -> None:
    # SmolLM2-135M's refined CPU estimates
    estimates = {"fp32": 538, "fp16": 269, "bf16": 269, "q8": 220, "q4": 168, "q2": 153}
    assert FALLBACK_CHAIN == ("q2", "q4", "q8", "fp16", "fp32")
    assert format_after_out_of_memory("q2", estimates, free=300) == "q4"
    assert format_after_out_of_memory("q2", estimates, free=300, tried={"q4"}) == "q8"
    assert format_after_out_of_memory("q8", estimates, free=300) == "fp16"
    # nothing larger fits: the nearest smaller one does
    assert format_after_out_of_memory("q8", estimates, free=200) == "q4"
    assert format_after_out_of_memory("q2", estimates, free=160) is None
    assert smaller_fitting_format("fp32", estimates, free=250) == "q8"
    assert smaller_fitting_format("fp32", estimates, free=100) is None
