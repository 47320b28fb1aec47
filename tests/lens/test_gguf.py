"""GGUF import: the real SmolLM2 GGUF converts once into a folder that loads fast with the same logits."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.gguf import convert_gguf, is_gguf_file


def test_a_file_that_is_not_gguf_is_invalid_input(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(InvalidArgument, match="model.gguf is not a GGUF file"):
        convert_gguf(fake, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(InvalidArgument, match="missing.gguf is not a file"):
        convert_gguf(tmp_path / "missing.gguf", tmp_path / "out")


def test_a_gguf_of_an_unsupported_architecture_is_invalid_input(tmp_path: Path) -> None:
    import gguf

    path = tmp_path / "odd.gguf"
    writer = gguf.GGUFWriter(str(path), arch="notanarch")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert is_gguf_file(path)
    with pytest.raises(InvalidArgument, match="architecture notanarch is not supported"):
        convert_gguf(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_smollm2_gguf_converts_to_a_folder_that_loads_fast_with_the_same_logits(smollm2_gguf_path: Path,
                                                                                tmp_path: Path) -> None:
    progress: list[float] = []
    out = convert_gguf(smollm2_gguf_path, tmp_path / "smollm2",
                       on_progress=lambda fraction, _message: progress.append(fraction))
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress)
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json"} <= names
    assert not list(tmp_path.glob(".gguf-*")), "the staging folder was left behind"

    started = time.monotonic()
    converted = AutoModelForCausalLM.from_pretrained(out)
    assert time.monotonic() - started < 10
    assert "quantization_config" not in converted.config.to_dict()
    assert converted.lm_head.weight.data_ptr() == converted.model.embed_tokens.weight.data_ptr()

    reference = AutoModelForCausalLM.from_pretrained(smollm2_gguf_path.parent, gguf_file=smollm2_gguf_path.name,
                                                     dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        expected, actual = reference(ids).logits, converted(ids).logits
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)
    assert tokenizer.decode(actual[0, -1].argmax()) == tokenizer.decode(expected[0, -1].argmax())
