"""Compatibility, parameter counts and a JSON description of a causal LM's architecture.

Everything here works from a model's config.json (and, when available, its safetensors headers): no weights
are read and no real memory is allocated, so a description can be computed once at download time and
served from the database. transformers (and with it torch) is imported inside the functions that need it,
so importing this module stays cheap.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mistudio.lens.errors import InvalidArgument, UnsupportedModel
from mistudio.lens.layout import ModelLayout, layout_for_config

_HEAD_KINDS = (("ForMaskedLM", "a masked language model (an encoder)"),
               ("ForConditionalGeneration", "an encoder-decoder (sequence-to-sequence) model"),
               ("ForSequenceClassification", "a sequence classifier"),
               ("ForTokenClassification", "a token classifier"),
               ("ForQuestionAnswering", "a question-answering model"))
# Encoders that transformers can also wrap in an LM head (BertLMHeadModel…); a config naming no architecture
# is judged by these.
_ENCODER_MODEL_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "distilbert", "albert", "electra",
                                  "deberta", "deberta-v2", "ernie", "modernbert", "xlm", "megatron-bert"})
NORMALIZED_FIELDS = ("model_type", "family", "hidden_size", "num_layers", "num_attention_heads", "num_key_value_heads",
                     "head_dim", "intermediate_size", "vocab_size", "context_length", "sliding_window", "num_experts",
                     "num_experts_per_token", "tie_word_embeddings", "torch_dtype")


@dataclass(frozen=True)
class Compatibility:
    """Whether miStudio can load a model, and if not (or with a caveat) why, in words a user can act on."""

    compatible: bool
    model_type: str | None
    family: str | None
    reason: str | None


def check_compatibility(config: dict) -> Compatibility:
    """Judge a raw config.json: causal LM of a supported family, or incompatible with a readable reason."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    model_type = config.get("model_type")
    architectures = [str(name) for name in config.get("architectures") or []]
    if not model_type:
        return Compatibility(False, None, None, "config.json has no model_type, so its model family is unknown")
    causal_classes = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    if architectures and not any(name in causal_classes or name.endswith("ForCausalLM") for name in architectures):
        name = architectures[0]
        kind = next((words for suffix, words in _HEAD_KINDS if name.endswith(suffix)), "not a text generator")
        return Compatibility(False, model_type, None,
                             f"{name} is {kind}, not a causal language model; miStudio needs a decoder-only model "
                             "with a causal LM head (*ForCausalLM)")
    encoder = model_type in _ENCODER_MODEL_TYPES or bool(config.get("is_encoder_decoder")) or (
        model_type in CONFIG_MAPPING_NAMES and model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)
    if encoder:
        return Compatibility(False, model_type, None,
                             f"model type '{model_type}' is an encoder (or encoder-decoder) model, not a causal "
                             "language model; miStudio needs a decoder-only model with a causal LM head")
    remote_code = "auto_map" in config
    if model_type not in CONFIG_MAPPING_NAMES:
        reason = (f"model type '{model_type}' is not known to the installed transformers, so miStudio cannot build "
                  "it (a newer transformers may know it)")
        if remote_code:
            reason += "; the repo ships its own modelling code (auto_map), which would need trust_remote_code"
        return Compatibility(False, model_type, None, reason)
    try:
        layout = _layout(config)
    except (UnsupportedModel, InvalidArgument) as error:
        return Compatibility(False, model_type, None, error.message)
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # transformers refused to build the config
        return Compatibility(False, model_type, None, f"transformers cannot build this {model_type} config: "
                                                      f"{type(error).__name__}: {error}")
    if remote_code:
        return Compatibility(True, model_type, layout.family,
                             "the repo ships custom modelling code (auto_map) that needs trust_remote_code; miStudio "
                             f"uses transformers' built-in {model_type} implementation instead, so it stays off")
    return Compatibility(True, model_type, layout.family, None)


def read_safetensors_shapes(folder: Path) -> dict[str, tuple[list[int], str]]:
    """Tensor name → (shape, dtype) from the safetensors headers in `folder` (sharded or not); {} when none."""
    folder = Path(folder)
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        files = sorted({folder / name for name in json.loads(index.read_text())["weight_map"].values()})
    elif (folder / "model.safetensors").is_file():
        # Some repos also ship e.g. consolidated.safetensors (another layout of the same weights).
        files = [folder / "model.safetensors"]
    else:
        files = sorted(folder.glob("*.safetensors"))
    shapes: dict[str, tuple[list[int], str]] = {}
    for path in files:
        for name, entry in _safetensors_header(path).items():
            if name != "__metadata__":
                shapes[name] = (list(entry["shape"]), str(entry["dtype"]))
    return shapes


def _safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of one safetensors file: 8 bytes of little-endian length, then that many bytes of JSON."""
    if not path.is_file():
        raise InvalidArgument(f"{path.name} is listed in model.safetensors.index.json but missing from the folder")
    with path.open("rb") as handle:
        prefix = handle.read(8)
        header_length = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else -1
        if not 0 < header_length <= path.stat().st_size - 8:
            raise InvalidArgument(f"{path.name} is not a valid safetensors file (bad header length)")
        try:
            header = json.loads(handle.read(header_length))
            if not all(name == "__metadata__" or {"shape", "dtype"} <= set(entry) for name, entry in header.items()):
                raise ValueError("an entry lacks shape or dtype")
        except (ValueError, TypeError, AttributeError) as error:
            raise InvalidArgument(f"{path.name} is not a valid safetensors file (unreadable header)") from error
    return header


def count_parameters(config: dict, tensor_shapes: dict | None = None) -> int:
    """Exact parameter count, tied embeddings once: from safetensors shapes, else from a meta-device model."""
    return sum(_named_parameter_sizes(_layout(config), _config_object(config), tensor_shapes).values())


def describe_architecture(config: dict, tensor_shapes: dict | None = None) -> dict:
    """A JSON-serializable description: normalized config fields, parameter breakdown, layers and hook points."""
    layout, hf_config = _layout(config), _config_object(config)
    fields = _normalized_fields(config, hf_config, layout)
    sizes = _named_parameter_sizes(layout, hf_config, tensor_shapes)
    num_layers = fields["num_layers"]
    blocks: list[dict[str, int]] = [{} for _ in range(num_layers)]
    parameters = {"total": sum(sizes.values()), "embedding": 0, "lm_head": 0, "final_norm": 0, "other": 0}
    block_pattern = re.compile(rf"^{re.escape(layout.layers_path)}\.(\d+)\.([^.]+)\.")
    for name, size in sizes.items():
        match = block_pattern.match(name)
        if match and int(match.group(1)) < num_layers:
            child = blocks[int(match.group(1))]
            child[match.group(2)] = child.get(match.group(2), 0) + size
        else:
            parameters[_outside_block_group(name, layout)] += size
    parameters["per_block"] = [sum(block.values()) for block in blocks]
    layers = [{**_describe_layer(index, block, fields, layout),
               "hook_points": [f"blocks.{index}.{kind}" for kind in layout.blocks[index].hook_types]}
              for index, block in enumerate(blocks)]
    points = [point for layer in layers for point in layer["hook_points"]]
    meanings = {"resid_pre": "the residual stream entering the block (input of decoder layer i)",
                "resid_post": "the residual stream leaving the block (output of decoder layer i; for the last "
                              "layer, before the final norm)",
                "attn_out": layout.attn_out_meaning, "mlp_out": layout.mlp_out_meaning}
    return {**fields, "parameters": parameters, "layers": layers, "hook_points": points,
            "hook_point_meanings": meanings}


def compare_architectures(a: dict, b: dict) -> dict:
    """Differences between two describe_architecture outputs: config fields, sizes, depth and hook points."""
    differences = [{"key": key, "a": a.get(key), "b": b.get(key)}
                   for key in NORMALIZED_FIELDS if a.get(key) != b.get(key)]
    points_a, points_b = a.get("hook_points", []), b.get("hook_points", [])
    in_b, in_a = set(points_b), set(points_a)
    return {"config_differences": differences,
            "parameters": {"a": (a.get("parameters") or {}).get("total"),
                           "b": (b.get("parameters") or {}).get("total")},
            "num_layers": {"a": a.get("num_layers"), "b": b.get("num_layers")},
            "hook_points": {"only_a": [p for p in points_a if p not in in_b],
                            "only_b": [p for p in points_b if p not in in_a],
                            "common": len(in_a & in_b)}}


def _usable_config(config: dict) -> dict:
    # Without auto_map transformers builds its own class instead of asking for trust_remote_code; without
    # quantization_config the meta model has the logical (unquantized) parameter shapes.
    return {key: value for key, value in config.items() if key not in ("auto_map", "quantization_config")}


def _layout(config: dict) -> ModelLayout:
    return layout_for_config(_usable_config(config))


def _config_object(config: dict) -> Any:
    """The transformers config for a raw config.json, so class defaults fill the keys config.json omits."""
    from transformers import AutoConfig

    return AutoConfig.for_model(**_usable_config(config))


def _is_tied(hf_config: Any) -> bool:
    text = hf_config.get_text_config()
    return bool(getattr(hf_config, "tie_word_embeddings", getattr(text, "tie_word_embeddings", False)))


def _named_parameter_sizes(layout: ModelLayout, hf_config: Any, tensor_shapes: dict | None) -> dict[str, int]:
    """Parameter name (as a module path of the loaded model) → element count, tied weights counted once."""
    if not tensor_shapes:
        return _meta_model_sizes(hf_config)
    sizes: dict[str, int] = {}
    for stored_name, (shape, _dtype) in tensor_shapes.items():
        # Older checkpoints also stored buffers: rotary inv_freq and 4-D causal masks named `*.bias`.
        if stored_name.endswith(("inv_freq", "masked_bias")) or (stored_name.endswith(".bias") and len(shape) == 4):
            continue
        name = stored_name
        for pattern, replacement in layout.checkpoint_renames:
            name = re.sub(pattern, replacement, name, count=1)
        sizes[name] = math.prod(shape)
    if _is_tied(hf_config):
        # A tied lm_head is the embedding matrix; the model holds it once even if the file stores both.
        sizes.pop(f"{layout.lm_head_path or 'lm_head'}.weight", None)
    return sizes


def _meta_model_sizes(hf_config: Any) -> dict[str, int]:
    import torch
    from transformers import AutoModelForCausalLM

    # The meta device records shapes without allocating storage, so even a 70B config costs no memory.
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(hf_config)
    # named_parameters() yields a shared (tied) parameter once, under its first name: the embedding.
    return {name: parameter.numel() for name, parameter in model.named_parameters()}


def _outside_block_group(name: str, layout: ModelLayout) -> str:
    if any(name.startswith(path + ".") for path in layout.embedding_paths):
        return "embedding"
    if layout.lm_head_path and name.startswith(layout.lm_head_path + "."):
        return "lm_head"
    if layout.final_norm_path and name.startswith(layout.final_norm_path + "."):
        return "final_norm"
    return "other"  # e.g. Gemma 3's vision tower and projector


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _normalized_fields(config: dict, hf_config: Any, layout: ModelLayout) -> dict[str, Any]:
    """Config fields under one name for every family (gpt2's n_embd, falcon's num_kv_heads, …)."""
    text = hf_config.get_text_config()  # attribute_map already turns n_embd/n_layer/n_head into standard names
    hidden, heads = int(text.hidden_size), int(text.num_attention_heads)
    if layout.model_type == "falcon":
        kv_heads = text.num_kv_heads if text.new_decoder_architecture else 1 if text.multi_query else heads
    else:
        kv_heads = _first(getattr(text, "num_key_value_heads", None), heads)
    intermediate = _first(getattr(text, "intermediate_size", None), getattr(text, "ffn_hidden_size", None),
                          getattr(text, "n_inner", None), 4 * hidden)
    raw_text = config.get("text_config") or {}
    dtype = _first(config.get("torch_dtype"), config.get("dtype"), raw_text.get("torch_dtype"), raw_text.get("dtype"))
    layer_types = [str(kind) for kind in getattr(text, "layer_types", None) or []]
    # A window only matters where some layer uses it (qwen2 keeps sliding_window set while it is switched off).
    uses_window = "sliding_attention" in layer_types if layer_types else getattr(text, "use_sliding_window", True)
    return {"model_type": layout.model_type, "family": layout.family, "hidden_size": hidden,
            "num_layers": int(text.num_hidden_layers), "num_attention_heads": heads,
            "num_key_value_heads": int(kv_heads),
            "head_dim": int(_first(getattr(text, "head_dim", None), hidden // heads)),
            "intermediate_size": int(intermediate), "vocab_size": int(text.vocab_size),
            "context_length": getattr(text, "max_position_embeddings", None),
            "sliding_window": getattr(text, "sliding_window", None) if uses_window else None,
            "num_experts": _first(getattr(text, "num_local_experts", None), getattr(text, "num_experts", None))
            if layout.moe else None,
            "num_experts_per_token": getattr(text, "num_experts_per_tok", None) if layout.moe else None,
            "tie_word_embeddings": _is_tied(hf_config), "torch_dtype": str(dtype) if dtype is not None else None,
            "layer_types": layer_types}


def _attention_type(num_heads: int, num_kv_heads: int) -> str:
    if num_kv_heads == num_heads:
        return "mha"
    return "mqa" if num_kv_heads == 1 else "gqa"


def _describe_layer(index: int, block: dict[str, int], fields: dict[str, Any], layout: ModelLayout) -> dict[str, Any]:
    layer_types = fields["layer_types"]
    sliding = layer_types[index] == "sliding_attention" if index < len(layer_types) else True
    heads, kv_heads = fields["num_attention_heads"], fields["num_key_value_heads"]
    structure = layout.blocks[index]
    # An OPT-style block keeps fc1/fc2 itself: those are its MLP.
    mlp_parts = (structure.mlp,) if structure.mlp else ("fc1", "fc2") if structure.mlp_out == "fc2" else ()
    return {
        "index": index, "parameters": sum(block.values()),
        "attention": {"type": _attention_type(heads, kv_heads), "num_heads": heads, "num_kv_heads": kv_heads,
                      "head_dim": fields["head_dim"], "sliding_window": fields["sliding_window"] if sliding else None,
                      "parameters": block.get(structure.attention or "", 0)},
        "mlp": {"type": "moe" if layout.moe else "dense", "intermediate_size": fields["intermediate_size"],
                "num_experts": fields["num_experts"] if layout.moe else None,
                "experts_per_token": fields["num_experts_per_token"],
                "parameters": sum(block.get(part, 0) for part in mlp_parts)},
        # Whatever else a block holds directly is its norms (input/post-attention/pre- and post-feedforward…).
        "norms": [name for name in block if name not in (structure.attention, *mlp_parts)],
    }
