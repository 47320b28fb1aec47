"""The family table, compatibility, parameter counts and a JSON description of a causal LM's architecture.

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

from mistudio.errors import InvalidInput

_PRE_NORM_ATTN = "output of the attention module (after its output projection), added as-is to the residual stream"
_PRE_NORM_MLP = "output of the MLP (after its down projection), added as-is to the residual stream"
_POST_NORM_ATTN = ("attention output after post_attention_layernorm (the post-norm is included, as in "
                   "TransformerLens), which is what is added to the residual stream")
_POST_NORM_MLP = "MLP output after post_feedforward_layernorm (post-norm included), added to the residual stream"
_PARALLEL_MLP = ("output of the MLP alone; attention and MLP both read resid_pre (each through its own norm) "
                 "and resid_post = resid_pre + attn_out + mlp_out")


@dataclass(frozen=True)
class FamilyLayout:
    """Where one family keeps its blocks and what our hook points read in each block."""

    model_type: str
    family: str  # display name
    layers_path: str  # dotted path of the decoder-layer ModuleList on the *ForCausalLM model
    attention_attr: str  # attribute of a decoder layer holding its attention module
    mlp_attr: str  # attribute of a decoder layer holding its MLP (or MoE block)
    embedding_paths: tuple[str, ...]  # token (and learned position) embeddings
    final_norm_path: str
    lm_head_path: str = "lm_head"
    moe: bool = False
    attn_out_attr: str = ""  # module whose output is attn_out, when it is not attention_attr (post-norms)
    mlp_out_attr: str = ""
    # (regex, replacement) pairs mapping tensor names of older checkpoint layouts onto module paths
    checkpoint_renames: tuple[tuple[str, str], ...] = ()
    attn_out_meaning: str = _PRE_NORM_ATTN
    mlp_out_meaning: str = _PRE_NORM_MLP

    @property
    def attn_out_module(self) -> str:
        """Attribute of a decoder layer whose output is attn_out."""
        return self.attn_out_attr or self.attention_attr

    @property
    def mlp_out_module(self) -> str:
        """Attribute of a decoder layer whose output is mlp_out."""
        return self.mlp_out_attr or self.mlp_attr


def _llama_like(model_type: str, family: str | None = None, **overrides: Any) -> FamilyLayout:
    fields: dict[str, Any] = {
        "layers_path": "model.layers", "attention_attr": "self_attn", "mlp_attr": "mlp",
        "embedding_paths": ("model.embed_tokens",), "final_norm_path": "model.norm", **overrides}
    return FamilyLayout(model_type=model_type, family=family or model_type, **fields)


_GEMMA_POST_NORMS: dict[str, Any] = {
    "attn_out_attr": "post_attention_layernorm", "mlp_out_attr": "post_feedforward_layernorm",
    "attn_out_meaning": _POST_NORM_ATTN, "mlp_out_meaning": _POST_NORM_MLP}

FAMILIES: dict[str, FamilyLayout] = {layout.model_type: layout for layout in (
    _llama_like("llama"),
    _llama_like("mistral"),
    # transformers 5 names the MoE block `mlp`; checkpoints keep Mixtral's original `block_sparse_moe`.
    _llama_like("mixtral", moe=True, checkpoint_renames=((r"^(model\.layers\.\d+)\.block_sparse_moe\.", r"\1.mlp."),),
                mlp_out_meaning="output of the sparse MoE block: the router-weighted sum of the top-k experts' "
                                "outputs, added as-is to the residual stream"),
    _llama_like("qwen2"),
    _llama_like("qwen3"),
    _llama_like("gemma"),
    _llama_like("gemma2", **_GEMMA_POST_NORMS),
    _llama_like("gemma3_text", "gemma3 (text)", **_GEMMA_POST_NORMS),
    # The multimodal Gemma 3: the text decoder sits under model.language_model; checkpoints use the older
    # language_model.model.* / vision_tower.* names.
    _llama_like("gemma3", layers_path="model.language_model.layers",
                embedding_paths=("model.language_model.embed_tokens",), final_norm_path="model.language_model.norm",
                checkpoint_renames=((r"^language_model\.model\.", "model.language_model."),
                                    (r"^language_model\.lm_head\.", "lm_head."),
                                    (r"^(vision_tower|multi_modal_projector)\.", r"model.\1.")),
                **_GEMMA_POST_NORMS),
    FamilyLayout("gpt2", "gpt2", "transformer.h", "attn", "mlp", ("transformer.wte", "transformer.wpe"),
                 "transformer.ln_f",
                 # OpenAI's original checkpoints have no `transformer.` prefix (h.0.attn..., wte.weight).
                 checkpoint_renames=((r"^(?!transformer\.|lm_head\.)", "transformer."),),
                 attn_out_meaning="output of the attention module after c_proj, added as-is to the residual stream",
                 mlp_out_meaning="output of the MLP after c_proj, added as-is to the residual stream"),
    # transformers 5 calls Pythia's output head lm_head; checkpoints keep the original embed_out.
    FamilyLayout("gpt_neox", "pythia (gpt_neox)", "gpt_neox.layers", "attention", "mlp", ("gpt_neox.embed_in",),
                 "gpt_neox.final_layer_norm", checkpoint_renames=((r"^embed_out\.", "lm_head."),),
                 attn_out_meaning="output of the attention module after its dense projection; with "
                                  "use_parallel_residual (Pythia's default) attention and MLP both read resid_pre, "
                                  "otherwise the MLP reads resid_pre + attn_out",
                 mlp_out_meaning="output of the MLP alone; in both residual layouts resid_post = resid_pre + "
                                 "attn_out + mlp_out"),
    _llama_like("phi", final_norm_path="model.final_layernorm",
                attn_out_meaning="output of the attention module after its dense projection; attention and MLP "
                                 "run in parallel on the same input_layernorm output",
                mlp_out_meaning="output of the MLP alone; resid_post = resid_pre + attn_out + mlp_out"),
    _llama_like("phi3"),
    FamilyLayout("falcon", "falcon", "transformer.h", "self_attention", "mlp", ("transformer.word_embeddings",),
                 "transformer.ln_f",
                 attn_out_meaning="output of the attention module after its dense projection; with parallel_attn / "
                                  "new_decoder_architecture it runs in parallel with the MLP",
                 mlp_out_meaning=_PARALLEL_MLP + " (falcon then adds attn_out into this tensor in place; the hook "
                                                 "copies it first, so mlp_out is the MLP alone)"),
)}
SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(FAMILIES)

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
    layout = FAMILIES.get(model_type)
    encoder = model_type in _ENCODER_MODEL_TYPES or (
        model_type in CONFIG_MAPPING_NAMES and model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)
    if layout is None and encoder:
        return Compatibility(False, model_type, None,
                             f"model type '{model_type}' is an encoder (or encoder-decoder) model, not a causal "
                             "language model; miStudio needs a decoder-only model with a causal LM head")
    remote_code = "auto_map" in config
    if layout is None:
        reason = _unsupported(model_type)
        if remote_code:
            reason += "; the repo ships its own modelling code (auto_map), which would need trust_remote_code"
        return Compatibility(False, model_type, None, reason)
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
        raise InvalidInput(f"{path.name} is listed in model.safetensors.index.json but missing from the folder")
    with path.open("rb") as handle:
        prefix = handle.read(8)
        header_length = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else -1
        if not 0 < header_length <= path.stat().st_size - 8:
            raise InvalidInput(f"{path.name} is not a valid safetensors file (bad header length)")
        try:
            header = json.loads(handle.read(header_length))
            if not all(name == "__metadata__" or {"shape", "dtype"} <= set(entry) for name, entry in header.items()):
                raise ValueError("an entry lacks shape or dtype")
        except (ValueError, TypeError, AttributeError) as error:
            raise InvalidInput(f"{path.name} is not a valid safetensors file (unreadable header)") from error
    return header


def count_parameters(config: dict, tensor_shapes: dict | None = None) -> int:
    """Exact parameter count, tied embeddings once: from safetensors shapes, else from a meta-device model."""
    return sum(_named_parameter_sizes(_layout(config), _config_object(config), tensor_shapes).values())


def describe_architecture(config: dict, tensor_shapes: dict | None = None) -> dict:
    """A JSON-serializable description: normalized config fields, parameter breakdown, layers and hook points."""
    from mistudio.lens.hooks import HOOK_TYPES, hook_point_names  # hooks imports this module at import time

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
    points = hook_point_names(num_layers)
    per_layer = len(HOOK_TYPES)
    layers = [{**_describe_layer(index, block, fields, layout),
               "hook_points": points[index * per_layer:(index + 1) * per_layer]} for index, block in enumerate(blocks)]
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


def family_layout(model_type: str | None) -> FamilyLayout:
    """The layout of a supported family; InvalidInput naming the supported ones otherwise."""
    layout = FAMILIES.get(str(model_type))
    if layout is None:
        raise InvalidInput(_unsupported(model_type))
    return layout


def _unsupported(model_type: str | None) -> str:
    return f"family '{model_type}' is not supported yet (supported: {', '.join(SUPPORTED_MODEL_TYPES)})"


def _layout(config: dict) -> FamilyLayout:
    return family_layout(config.get("model_type"))


def _config_object(config: dict) -> Any:
    """The transformers config for a raw config.json, so class defaults fill the keys config.json omits."""
    from transformers import AutoConfig

    _layout(config)
    # Without auto_map transformers builds its own class instead of asking for trust_remote_code; without
    # quantization_config the meta model has the logical (unquantized) parameter shapes.
    settings = {key: value for key, value in config.items() if key not in ("auto_map", "quantization_config")}
    return AutoConfig.for_model(**settings)


def _is_tied(hf_config: Any) -> bool:
    text = hf_config.get_text_config()
    return bool(getattr(hf_config, "tie_word_embeddings", getattr(text, "tie_word_embeddings", False)))


def _named_parameter_sizes(layout: FamilyLayout, hf_config: Any, tensor_shapes: dict | None) -> dict[str, int]:
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
        sizes.pop(f"{layout.lm_head_path}.weight", None)
    return sizes


def _meta_model_sizes(hf_config: Any) -> dict[str, int]:
    import torch
    from transformers import AutoModelForCausalLM

    # The meta device records shapes without allocating storage, so even a 70B config costs no memory.
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(hf_config)
    # named_parameters() yields a shared (tied) parameter once, under its first name: the embedding.
    return {name: parameter.numel() for name, parameter in model.named_parameters()}


def _outside_block_group(name: str, layout: FamilyLayout) -> str:
    if any(name.startswith(path + ".") for path in layout.embedding_paths):
        return "embedding"
    if name.startswith(layout.lm_head_path + "."):
        return "lm_head"
    if name.startswith(layout.final_norm_path + "."):
        return "final_norm"
    return "other"  # e.g. Gemma 3's vision tower and projector


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _normalized_fields(config: dict, hf_config: Any, layout: FamilyLayout) -> dict[str, Any]:
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


def _describe_layer(index: int, block: dict[str, int], fields: dict[str, Any], layout: FamilyLayout) -> dict[str, Any]:
    layer_types = fields["layer_types"]
    sliding = layer_types[index] == "sliding_attention" if index < len(layer_types) else True
    heads, kv_heads = fields["num_attention_heads"], fields["num_key_value_heads"]
    return {
        "index": index, "parameters": sum(block.values()),
        "attention": {"type": _attention_type(heads, kv_heads), "num_heads": heads, "num_kv_heads": kv_heads,
                      "head_dim": fields["head_dim"], "sliding_window": fields["sliding_window"] if sliding else None,
                      "parameters": block.get(layout.attention_attr, 0)},
        "mlp": {"type": "moe" if layout.moe else "dense", "intermediate_size": fields["intermediate_size"],
                "num_experts": fields["num_experts"] if layout.moe else None,
                "experts_per_token": fields["num_experts_per_token"], "parameters": block.get(layout.mlp_attr, 0)},
        # Whatever else a block holds directly is its norms (input/post-attention/pre- and post-feedforward…).
        "norms": [name for name in block if name not in (layout.attention_attr, layout.mlp_attr)],
    }
