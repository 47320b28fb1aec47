"""Memory estimates, fit levels and measured footprints (the per-format load checks live in test_quantize.py)."""

from __future__ import annotations

import json

import psutil
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.memory import (
    DEFAULT_BUDGET_BYTES,
    FORMATS,
    GB,
    estimate_memory,
    fit_level,
    free_memory_bytes,
    measure_footprint,
    spec_estimate_bytes,
    split_parameters,
)


def test_spec_estimate_is_parameters_times_bytes_times_1_2() -> None:
    expected = {"fp32": 4.8, "fp16": 2.4, "bf16": 2.4, "q8": 1.2, "q4": 0.6, "q2": 0.3}
    for fmt in FORMATS:
        assert spec_estimate_bytes(1_000_000, fmt) == pytest.approx(expected[fmt] * 1_000_000, abs=1)
    # The spec's worked figure: a 135M-parameter model needs about 646 MB in FP32.
    assert spec_estimate_bytes(134_515_008, "fp32") == 645_672_038


def test_spec_estimate_rejects_an_unknown_format() -> None:
    with pytest.raises(InvalidArgument, match="q3"):
        spec_estimate_bytes(10, "q3")


def test_fit_level_is_green_below_4_gb_yellow_to_6_gb_red_above() -> None:
    assert DEFAULT_BUDGET_BYTES == 6 * GB
    assert fit_level(int(3.99 * GB)) == "green"
    assert fit_level(4 * GB) == "yellow"
    assert fit_level(6 * GB) == "yellow"
    assert fit_level(6 * GB + 1) == "red"
    assert fit_level(int(1.9 * GB), budget_bytes=3 * GB) == "green"
    assert fit_level(int(2.5 * GB), budget_bytes=3 * GB) == "yellow"


def test_split_parameters_matches_the_real_model(tiny_models) -> None:
    folder = tiny_models("llama")
    split = split_parameters(json.loads((folder / "config.json").read_text()))
    model = AutoModelForCausalLM.from_pretrained(folder)
    block_linears = [m for m in model.model.layers.modules() if isinstance(m, torch.nn.Linear)]
    assert split.total == sum(p.numel() for p in model.parameters())
    assert split.quantizable == sum(m.weight.numel() for m in block_linears)
    assert split.quantized_layers == len(block_linears) == 2 * 7
    assert split.quantized_rows == sum(m.out_features for m in block_linears)
    # embeddings, lm_head and norms stay unquantized
    embeddings = model.model.embed_tokens.weight.numel() + model.lm_head.weight.numel()
    norms = sum(p.numel() for name, p in model.named_parameters() if "norm" in name)
    assert split.unquantized == embeddings + norms


def test_split_parameters_of_an_unknown_model_type_is_invalid_input() -> None:
    with pytest.raises(InvalidArgument, match="no model_type"):
        split_parameters({"hidden_size": 8})
    with pytest.raises(InvalidArgument, match="not_a_family"):
        split_parameters({"model_type": "not_a_family"})


def test_refined_estimate_shrinks_only_the_quantized_share(tiny_models) -> None:
    split = split_parameters(json.loads((tiny_models("llama") / "config.json").read_text()))
    fp32 = estimate_memory(split, "fp32")
    assert fp32 == 4 * split.total + split.buffer_bytes
    assert estimate_memory(split, "fp16") == estimate_memory(split, "bf16") == 2 * split.total + split.buffer_bytes
    unquantized_fp32 = 4 * split.unquantized + split.buffer_bytes
    for fmt, bits in (("q8", 8), ("q4", 4), ("q2", 2)):
        quantized = estimate_memory(split, fmt) - unquantized_fp32
        # the weights' own bits plus per-group metadata, never more than twice the bits
        assert split.quantizable * bits / 8 < quantized < split.quantizable * bits / 4


def test_free_memory_on_cpu_is_the_available_ram() -> None:
    free = free_memory_bytes("cpu")
    assert 0 < free <= psutil.virtual_memory().total
    with pytest.raises(InvalidArgument, match="tpu"):
        free_memory_bytes("tpu")


def test_measure_footprint_counts_tied_weights_once(tiny_models) -> None:
    config = AutoConfig.from_pretrained(tiny_models("llama"), tie_word_embeddings=True)
    model = AutoModelForCausalLM.from_config(config)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    for dtype in (torch.float32, torch.float16):
        model.to(dtype)
        tensors = [*model.parameters(), *model.buffers()]  # shared parameters are listed once
        assert measure_footprint(model) == sum(t.numel() * t.element_size() for t in tensors)
