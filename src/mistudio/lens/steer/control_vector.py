"""Per-layer directions as a llama.cpp control vector (GGUF), so users can steer in their own runtime; and back.

The format, as llama.cpp reads it (`common_control_vector_load_one`, `llama_adapter_cvec`) and as its
cvector-generator and repeng write it:
- `general.architecture = "controlvector"`, `controlvector.model_hint` (the model family),
  `controlvector.layer_count` (how many directions the file holds);
- one tensor per steered layer, `direction.{N}`: F32, 1-D, n_embd values, the same length in every tensor;
- llama.cpp adds direction.N × the user's scale (`--control-vector-scaled FILE SCALE`) to the output of its
  0-based layer N after both residual adds (`l_out`): our `blocks.N.resid_post`, which is also
  `blocks.{N+1}.resid_pre`. The loader refuses `direction.0`, so `blocks.0.resid_post` (and the resid_pre of
  layers 0 and 1) cannot be exported; the last layer can. A file's direction.N comes back as blocks.N.resid_post.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mistudio.lens.hooks import parse_hook_point
from mistudio.lens.steer.directions import Direction
from mistudio.lens.steer.interventions import AddDirection, Positions, _check_hook_point
from mistudio.lens.steer.validation import finite_number, invalid

ARCHITECTURE = "controlvector"
MODEL_HINT_KEY = f"{ARCHITECTURE}.model_hint"
LAYER_COUNT_KEY = f"{ARCHITECTURE}.layer_count"
_TENSOR_NAME = re.compile(r"^direction\.([0-9]+)$")


def control_vector_layer(hook_point: str) -> int:
    """The llama.cpp layer N (tensor `direction.N`) that adds at `hook_point`; refused where none does."""
    _check_hook_point(hook_point)
    layer_index, hook_type = parse_hook_point(hook_point)
    if hook_type not in ("resid_post", "resid_pre"):
        raise invalid(f"a control vector adds to a layer's output (resid_post, or the next layer's resid_pre); "
                      f"{hook_point} is not one", "hook_point", hook_point=hook_point)
    layer = layer_index if hook_type == "resid_post" else layer_index - 1
    if layer < 1:
        raise invalid(f"llama.cpp control vectors start at its layer 1 (blocks.1.resid_post = blocks.2.resid_pre); "
                      f"{hook_point} is before that", "hook_point", hook_point=hook_point)
    return layer


def _vectors(directions: Mapping[str, torch.Tensor] | Sequence[Direction | AddDirection]
             ) -> list[tuple[str, torch.Tensor]]:
    if isinstance(directions, Mapping):
        return [(point, vector) for point, vector in directions.items()]
    items: list[tuple[str, torch.Tensor]] = []
    for item in directions:
        if isinstance(item, Direction):
            items.append((item.hook_point, item.vector))
        elif isinstance(item, AddDirection):
            items.append((item.hook_point, item.direction * item.strength))  # what it adds at strength 1
        else:
            raise invalid(f"expected Direction or AddDirection items; got {type(item).__name__}", "directions")
    return items


def export_control_vector(directions: Mapping[str, torch.Tensor] | Sequence[Direction | AddDirection],
                          path: Path | str, *, model_hint: str, num_layers: int | None = None,
                          scale: float = 1.0) -> Path:
    """Write directions (hook point → vector, or Direction / AddDirection items) as a control-vector GGUF.

    Each vector is written × `scale`. `num_layers` (the model's), when given, refuses layers it does not have.
    Two hook points that are the same llama.cpp layer (blocks.3.resid_post, blocks.4.resid_pre) are refused:
    add them into one vector first.
    """
    import gguf  # only where a GGUF is written: a heavy import

    scale = finite_number(scale, "scale")
    items = _vectors(directions)
    if not items:
        raise invalid("no directions to export", "directions")
    if not isinstance(model_hint, str) or not model_hint:
        raise invalid("model_hint (the model family, e.g. llama) must be non-empty text", "model_hint")
    layers: dict[int, tuple[str, np.ndarray]] = {}
    width: int | None = None
    for point, vector in items:
        layer = control_vector_layer(point)
        if num_layers is not None and layer >= num_layers:
            raise invalid(f"{point} is beyond the model's {num_layers} layers", "hook_point", hook_point=point)
        if layer in layers:
            raise invalid(f"{layers[layer][0]} and {point} are both llama.cpp layer {layer}: add them into one "
                          "direction first", "hook_point", hook_point=point)
        values = (vector.detach().float().cpu() * scale).numpy().astype(np.float32)
        if values.ndim != 1 or not values.size or not np.isfinite(values).all():
            raise invalid(f"the direction at {point} must be a finite, non-empty 1-D vector", "directions",
                          hook_point=point)
        if width is not None and values.size != width:
            raise invalid(f"every direction must have the same width; {point} has {values.size}, not {width}",
                          "directions", hook_point=point)
        width = values.size
        layers[layer] = (point, values)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), ARCHITECTURE)
    writer.add_string(MODEL_HINT_KEY, model_hint)
    writer.add_uint32(LAYER_COUNT_KEY, len(layers))
    for layer in sorted(layers):
        writer.add_tensor(f"direction.{layer}", layers[layer][1])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@dataclass(frozen=True, eq=False)
class ControlVector:
    """A control vector read back: hook point (`blocks.N.resid_post`) → direction, and its model hint."""

    directions: dict[str, torch.Tensor]
    model_hint: str | None

    def interventions(self, strength: float = 1.0, positions: Positions = "all") -> list[AddDirection]:
        """Steer with it here as llama.cpp would with `--control-vector-scaled FILE strength`."""
        return [AddDirection(point, vector, strength, positions, label=f"control vector {point}")
                for point, vector in self.directions.items()]


def _field_text(reader: Any, key: str) -> str | None:
    field = reader.get_field(key)
    if field is None:
        return None
    value = field.contents()
    return value if isinstance(value, str) else None


def import_control_vector(path: Path | str, *, num_layers: int | None = None,
                          d_model: int | None = None) -> ControlVector:
    """Read a llama.cpp control-vector GGUF; checked as llama.cpp checks it, and against the model when given."""
    import gguf

    path = Path(path)
    if not path.is_file():
        raise invalid(f"{path.name} is not a file", "path")
    try:
        reader = gguf.GGUFReader(str(path))
    except (ValueError, OSError) as error:  # gguf raises ValueError for a bad magic or version
        raise invalid(f"{path.name} is not a GGUF file: {error}", "path") from error
    architecture = _field_text(reader, "general.architecture")
    if architecture != ARCHITECTURE:
        raise invalid(f"{path.name} is a GGUF of architecture {architecture!r}, not a control vector", "path")
    directions: dict[int, torch.Tensor] = {}
    for tensor in reader.tensors:
        match = _TENSOR_NAME.match(tensor.name)
        if match is None or int(match.group(1)) < 1:
            raise invalid(f"{path.name} has a tensor {tensor.name!r}: control vectors hold only direction.N "
                          "with N ≥ 1", "path")
        if tensor.tensor_type != gguf.GGMLQuantizationType.F32 or len(tensor.shape) != 1:
            raise invalid(f"{path.name}'s {tensor.name} must be a 1-D F32 tensor", "path")
        directions[int(match.group(1))] = torch.from_numpy(np.array(tensor.data, dtype=np.float32))
    if not directions:
        raise invalid(f"{path.name} holds no direction tensors", "path")
    widths = {vector.numel() for vector in directions.values()}
    if len(widths) != 1:
        raise invalid(f"{path.name}'s directions have different widths {sorted(widths)}", "path")
    if d_model is not None and widths != {d_model}:
        raise invalid(f"{path.name}'s directions have width {widths.pop()} but the model's is {d_model}", "path")
    if num_layers is not None and max(directions) >= num_layers:
        raise invalid(f"{path.name} steers layer {max(directions)} but the model has {num_layers} layers", "path")
    return ControlVector({f"blocks.{layer}.resid_post": directions[layer] for layer in sorted(directions)},
                         _field_text(reader, MODEL_HINT_KEY))
