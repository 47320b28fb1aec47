"""lens.steer llama.cpp control vectors: the GGUF as llama.cpp reads it (checked with gguf's own reader), the
layer numbering, the round trip, and files that are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.model import ModelHandle
from mistudio.lens.steer import (
    AddDirection,
    Direction,
    control_vector_layer,
    export_control_vector,
    import_control_vector,
    steering_hooks,
)
from tests.lens.test_steer_interventions import D_MODEL, open_tiny


def _vector(seed: int, width: int = D_MODEL) -> torch.Tensor:
    return torch.randn(width, generator=torch.Generator().manual_seed(seed))


def _field(reader: gguf.GGUFReader, key: str) -> Any:
    return reader.get_field(key).contents()


@pytest.mark.parametrize(("hook_point", "layer"), [
    ("blocks.1.resid_post", 1), ("blocks.2.resid_pre", 1), ("blocks.23.resid_post", 23), ("blocks.24.resid_pre", 23)])
def test_llama_cpp_layer_n_is_the_output_of_block_n(hook_point: str, layer: int) -> None:
    # llama.cpp adds direction.N after layer N's residual adds (its `l_out`): blocks.N.resid_post.
    assert control_vector_layer(hook_point) == layer


def test_the_file_is_what_llama_cpp_reads(tmp_path: Path) -> None:
    first, second = _vector(1), _vector(2)
    path = export_control_vector({"blocks.3.resid_post": first, "blocks.2.resid_pre": second},
                                 tmp_path / "happy.gguf", model_hint="llama", num_layers=30, scale=2.0)
    reader = gguf.GGUFReader(str(path))
    assert _field(reader, "general.architecture") == "controlvector"
    assert _field(reader, "controlvector.model_hint") == "llama"
    assert _field(reader, "controlvector.layer_count") == 2
    tensors = {tensor.name: tensor for tensor in reader.tensors}
    assert sorted(tensors) == ["direction.1", "direction.3"]
    for name, expected in (("direction.3", first), ("direction.1", second)):
        tensor = tensors[name]
        assert tensor.tensor_type == gguf.GGMLQuantizationType.F32
        assert list(tensor.shape) == [D_MODEL] and tensor.n_elements == D_MODEL
        np.testing.assert_array_equal(np.asarray(tensor.data), (2.0 * expected).numpy())


def test_directions_round_trip_to_the_resid_post_of_their_layer(tmp_path: Path) -> None:
    directions = [Direction(_vector(3), "blocks.5.resid_post"), Direction(_vector(4), "blocks.2.resid_pre"),
                  AddDirection("blocks.9.resid_post", _vector(5), strength=-1.5)]
    path = export_control_vector(directions, tmp_path / "cv.gguf", model_hint="qwen2")
    loaded = import_control_vector(path, num_layers=10, d_model=D_MODEL)
    assert loaded.model_hint == "qwen2"
    assert list(loaded.directions) == ["blocks.1.resid_post", "blocks.5.resid_post", "blocks.9.resid_post"]
    assert torch.equal(loaded.directions["blocks.5.resid_post"], _vector(3))
    assert torch.equal(loaded.directions["blocks.1.resid_post"], _vector(4))
    assert torch.equal(loaded.directions["blocks.9.resid_post"], -1.5 * _vector(5))


def test_an_imported_control_vector_steers_here_as_its_directions_do(tiny_models: Any, tmp_path: Path) -> None:
    handle: ModelHandle = open_tiny(tiny_models)
    vector = _vector(6)
    path = export_control_vector({"blocks.1.resid_post": vector}, tmp_path / "cv.gguf",
                                 model_hint=handle.layout.model_type, num_layers=handle.n_layers)
    loaded = import_control_vector(path, num_layers=handle.n_layers, d_model=handle.d_model)
    ids = handle.tokenizer("The river and the stone", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        with steering_hooks(handle, loaded.interventions(3.0)) as hooks:
            imported = hooks.run(input_ids=ids).logits
        with steering_hooks(handle, [AddDirection("blocks.1.resid_post", vector, 3.0)]) as hooks:
            direct = hooks.run(input_ids=ids).logits
        clean = handle.model(input_ids=ids).logits
    assert torch.equal(imported, direct) and not torch.allclose(imported, clean, atol=1e-3)


@pytest.mark.parametrize(("directions", "field"), [
    ({"blocks.0.resid_post": _vector(1)}, "hook_point"),  # llama.cpp has no direction.0
    ({"blocks.1.resid_pre": _vector(1)}, "hook_point"),
    ({"blocks.3.attn_out": _vector(1)}, "hook_point"),
    ({"blocks.3.resid_post": _vector(1), "blocks.4.resid_pre": _vector(2)}, "hook_point"),  # the same layer twice
    ({"blocks.3.resid_post": _vector(1), "blocks.4.resid_post": _vector(2, 32)}, "directions"),
    ({"blocks.3.resid_post": torch.full((8,), float("nan"))}, "directions"),
    ({"blocks.40.resid_post": _vector(1)}, "hook_point"),  # beyond num_layers
    ({}, "directions")])
def test_directions_llama_cpp_cannot_take_are_refused_naming_the_field(
        tmp_path: Path, directions: dict[str, torch.Tensor], field: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        export_control_vector(directions, tmp_path / "x.gguf", model_hint="llama", num_layers=30)
    assert error.value.details["field"] == field
    assert not (tmp_path / "x.gguf").exists()


def _write(path: Path, architecture: str, tensors: dict[str, np.ndarray]) -> Path:
    writer = gguf.GGUFWriter(str(path), architecture)
    for name, values in tensors.items():
        writer.add_tensor(name, values)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_files_that_are_not_control_vectors_are_refused(tmp_path: Path) -> None:
    row = np.ones(D_MODEL, dtype=np.float32)
    (tmp_path / "text.gguf").write_text("not a gguf")
    bad = {
        "model": _write(tmp_path / "model.gguf", "llama", {"direction.1": row}),
        "zero": _write(tmp_path / "zero.gguf", "controlvector", {"direction.0": row}),
        "named": _write(tmp_path / "named.gguf", "controlvector", {"token_embd.weight": row}),
        "matrix": _write(tmp_path / "matrix.gguf", "controlvector", {"direction.1": np.ones((2, 4), np.float32)}),
        "half": _write(tmp_path / "half.gguf", "controlvector", {"direction.1": row.astype(np.float16)}),
        "widths": _write(tmp_path / "widths.gguf", "controlvector", {"direction.1": row, "direction.2": row[:8]}),
        "empty": _write(tmp_path / "empty.gguf", "controlvector", {}),
        "text": tmp_path / "text.gguf",
        "missing": tmp_path / "missing.gguf",
    }
    for name, path in bad.items():
        with pytest.raises(InvalidArgument) as error:
            import_control_vector(path)
        assert error.value.details["field"] == "path", name
    good = _write(tmp_path / "good.gguf", "controlvector", {"direction.5": row})
    with pytest.raises(InvalidArgument):
        import_control_vector(good, num_layers=4)  # steers a layer the model does not have
    with pytest.raises(InvalidArgument):
        import_control_vector(good, d_model=32)
    assert list(import_control_vector(good).directions) == ["blocks.5.resid_post"]
