"""Where a causal LM keeps its decoder layers, attention, MLP, norms, embeddings and head: found from its module tree.

`discover_layout(model)` works on any model transformers builds as a causal LM, real or on the meta device (so a
config alone is enough: `layout_for_config`). The rules are structural, not a list of families:
- the decoder layers are the `ModuleList` with `num_hidden_layers` entries (the largest, if several: a multimodal
  model's vision tower has its own);
- in each layer, attention is the child named like attention (`self_attn`, `attn`, `attention`, …) or whose class
  says so; the MLP is the child named like a feed-forward (`mlp`, `feed_forward`, `ffn`, `block_sparse_moe`, …) or
  whose class says so, else the `fc2` projection where the layer holds `fc1`/`fc2` itself (OPT, XGLM, BioGPT);
- where a layer normalizes a sub-block's output before adding it to the residual (Gemma 2/3, OLMo 2, …), the
  hook point reads the output of that post-norm, which is what really enters the residual stream;
- the final norm is the backbone's norm child after the layers; embeddings and head come from transformers'
  `get_input_embeddings` / `get_output_embeddings`.
`FAMILY_QUIRKS` only records what structure cannot tell: display names, checkpoint renames of older releases and
what `attn_out` / `mlp_out` mean where attention and MLP run in parallel. A layer with no attention (a state-space
or convolution mixer) or no MLP simply has fewer hook points (a pure state-space model has only resid_pre and
resid_post); a model with no discoverable layer list is refused with the reason (`LayoutNotFound`).
"""

from __future__ import annotations

import json
import math
import re
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mistudio.lens.errors import UnsupportedModel

HOOK_TYPES: tuple[str, ...] = ("resid_pre", "resid_post", "mlp_out", "attn_out")

_ATTENTION_NAMES = ("self_attn", "self_attention", "attn", "attention", "multi_head_attention", "self_att",
                    "linear_attn", "rel_attn")
_MLP_NAMES = ("mlp", "feed_forward", "ffn", "ff", "block_sparse_moe", "moe")
_ATTENTION_CLASS = re.compile(r"Attention|Attn")
_MLP_CLASS = re.compile(r"MLP|Mlp|MoE|Moe|FeedForward|FFN|Experts")
_NORM_CLASS = re.compile(r"Norm")
# Modules that process a sub-block's output before the residual add (post-norms, short convolutions), as pairs:
# the MLP's, then the attention's it comes with. The MLP's is what tells a post-processed block: Gemma 2's
# `post_attention_layernorm` then follows the attention, while in Llama the same name is the norm *before* the MLP.
_POST_MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("post_feedforward_layernorm", ("post_attention_layernorm",)),
    ("post_mlp_layernorm", ("post_self_attn_layernorm", "post_attention_layernorm")),
    ("post_ffn_norm", ("post_operator_norm",)),
    ("post_norm2", ("post_norm1",)),
    ("mlp_sconv", ("attn_sconv",)),
    ("post_mlp_convolution", ("post_attention_convolution",)),
)
_FINAL_NORMS = ("norm", "final_layernorm", "final_layer_norm", "ln_f", "norm_f", "layer_norm", "final_norm",
                "out_norm", "ln_out", "layernorm")
# Number attributes of a decoder layer that scale both branches before the residual add.
_BRANCH_SCALES = ("residual_scale", "residual_multiplier")
_POSITION_EMBEDDINGS = ("wpe", "embed_positions", "positions_embed", "position_embeddings")

_PRE_NORM_ATTN = "output of the attention module (after its output projection), added as-is to the residual stream"
_PRE_NORM_MLP = "output of the MLP (after its down projection), added as-is to the residual stream"
_POST_NORM_ATTN = ("attention output after its post-norm (included, as in TransformerLens), which is what is added "
                   "to the residual stream")
_POST_NORM_MLP = "MLP output after its post-norm (included), which is what is added to the residual stream"
_PARALLEL_MLP = ("output of the MLP alone; attention and MLP both read resid_pre (each through its own norm) "
                 "and resid_post = resid_pre + attn_out + mlp_out")


class LayoutNotFound(UnsupportedModel):
    """The module tree has no recognisable list of decoder layers; the message says what was looked for."""


@dataclass(frozen=True)
class FamilyQuirks:
    """What the module tree cannot tell about a family."""

    family: str
    checkpoint_renames: tuple[tuple[str, str], ...] = ()  # (regex, replacement): old tensor names → module paths
    attn_out_meaning: str | None = None
    mlp_out_meaning: str | None = None


FAMILY_QUIRKS: dict[str, FamilyQuirks] = {quirks.family: quirks for quirks in (
    # transformers 5 names the MoE block `mlp`; checkpoints keep Mixtral's original `block_sparse_moe`.
    FamilyQuirks("mixtral", ((r"^(model\.layers\.\d+)\.block_sparse_moe\.", r"\1.mlp."),),
                 mlp_out_meaning="output of the sparse MoE block: the router-weighted sum of the top-k experts' "
                                 "outputs, added as-is to the residual stream"),
    # The multimodal Gemma 3: checkpoints use the older language_model.model.* / vision_tower.* names.
    FamilyQuirks("gemma3", ((r"^language_model\.model\.", "model.language_model."),
                            (r"^language_model\.lm_head\.", "lm_head."),
                            (r"^(vision_tower|multi_modal_projector)\.", r"model.\1."))),
    # OpenAI's original checkpoints have no `transformer.` prefix (h.0.attn..., wte.weight).
    FamilyQuirks("gpt2", ((r"^(?!transformer\.|lm_head\.)", "transformer."),),
                 "output of the attention module after c_proj, added as-is to the residual stream",
                 "output of the MLP after c_proj, added as-is to the residual stream"),
    # transformers 5 calls Pythia's output head lm_head; checkpoints keep the original embed_out.
    FamilyQuirks("gpt_neox", ((r"^embed_out\.", "lm_head."),),
                 "output of the attention module after its dense projection; with use_parallel_residual (Pythia's "
                 "default) attention and MLP both read resid_pre, otherwise the MLP reads resid_pre + attn_out",
                 "output of the MLP alone; in both residual layouts resid_post = resid_pre + attn_out + mlp_out"),
    FamilyQuirks("phi", attn_out_meaning="output of the attention module after its dense projection; attention and "
                                         "MLP run in parallel on the same input_layernorm output",
                 mlp_out_meaning="output of the MLP alone; resid_post = resid_pre + attn_out + mlp_out"),
    FamilyQuirks("falcon", attn_out_meaning="output of the attention module after its dense projection; with "
                                            "parallel_attn / new_decoder_architecture it runs in parallel with the MLP",
                 mlp_out_meaning=_PARALLEL_MLP + " (falcon then adds attn_out into this tensor in place; the hook "
                                                 "copies it first, so mlp_out is the MLP alone)"),
    FamilyQuirks("cohere", attn_out_meaning="output of the attention module; attention and MLP run in parallel on "
                                            "the same input_layernorm output", mlp_out_meaning=_PARALLEL_MLP),
    FamilyQuirks("gptj", attn_out_meaning="output of the attention module; attention and MLP run in parallel on the "
                                          "same ln_1 output", mlp_out_meaning=_PARALLEL_MLP),
)}
DISPLAY_NAMES = {"gpt_neox": "pythia (gpt_neox)", "gemma3_text": "gemma3 (text)"}


@dataclass(frozen=True)
class BlockLayout:
    """One decoder layer: its attention and MLP children, and the modules whose outputs are attn_out / mlp_out."""

    attention: str | None
    mlp: str | None
    attn_out: str | None  # relative to the layer; None: this layer has no attention (e.g. a state-space mixer)
    mlp_out: str | None
    post_norms: bool = False
    resid_pre: str | None = None  # a child whose output is resid_pre (RWKV's first layer norms its input first)
    # A layer may scale each branch before adding it (MiniCPM, Granite, MiniMax) and the residual it adds to
    # (MiniMax, Beam): resid_post = mlp_residual_scale · (attn_residual_scale · resid_pre + attn_out) + mlp_out,
    # where attn_out / mlp_out already include their branch scale, as they are what enters the residual stream.
    attn_scale: float = 1.0
    mlp_scale: float = 1.0
    attn_residual_scale: float = 1.0
    mlp_residual_scale: float = 1.0
    residual_inside: tuple[str, ...] = ()  # sub-modules that add the residual themselves (BLOOM, MPT)

    @property
    def scaled_residual(self) -> bool:
        return (self.attn_residual_scale, self.mlp_residual_scale) != (1.0, 1.0)

    @property
    def hook_types(self) -> tuple[str, ...]:
        """The hook types this layer has, in HOOK_TYPES order."""
        present = {"resid_pre": True, "resid_post": True, "mlp_out": self.mlp_out is not None,
                   "attn_out": self.attn_out is not None}
        return tuple(kind for kind in HOOK_TYPES if present[kind])


@dataclass(frozen=True)
class ModelLayout:
    """Where a model keeps everything the hook points, descriptions and estimates need."""

    model_type: str
    family: str
    layers_path: str
    d_model: int
    blocks: tuple[BlockLayout, ...]
    embedding_paths: tuple[str, ...]
    final_norm_path: str | None
    lm_head_path: str | None
    moe: bool = False
    checkpoint_renames: tuple[tuple[str, str], ...] = ()
    attn_out_meaning: str = _PRE_NORM_ATTN
    mlp_out_meaning: str = _PRE_NORM_MLP
    notes: tuple[str, ...] = field(default=())

    @property
    def num_layers(self) -> int:
        return len(self.blocks)

    def hook_points(self) -> list[str]:
        """Every hook point this model has, in layer order."""
        return [f"blocks.{index}.{kind}" for index, block in enumerate(self.blocks) for kind in block.hook_types]


def _text_config(config: Any) -> Any:
    return config.get_text_config() if hasattr(config, "get_text_config") else config


def _size(module: Any) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def _find_layers(model: Any, num_layers: int | None) -> tuple[str, Any]:
    from torch import nn

    candidates = [(name, module) for name, module in model.named_modules()
                  if isinstance(module, nn.ModuleList) and len(module) > 0
                  and (num_layers is None or len(module) == num_layers)]
    # Only lists of whole blocks: a layer's own ModuleList of experts (or heads) lies inside another candidate.
    outer = [(name, module) for name, module in candidates
             if not any(name.startswith(other + ".") for other, _ in candidates if other != name)]
    if not outer:
        wanted = f"{num_layers} decoder layers" if num_layers else "decoder layers"
        raise LayoutNotFound(f"{type(model).__name__} has no list of {wanted} (a ModuleList with one entry per "
                             "layer) in its module tree, so its hook points cannot be placed")
    return max(outer, key=lambda item: (_size(item[1]), -item[0].count(".")))


def _child(layer: Any, names: tuple[str, ...], pattern: re.Pattern[str]) -> str | None:
    children = dict(layer.named_children())
    for name in names:
        if name in children:
            return name
    for name, module in children.items():
        class_name = type(module).__name__
        if pattern.search(class_name) and not _NORM_CLASS.search(class_name):
            return name
    return None


def _block_layout(layer: Any) -> BlockLayout:
    children = dict(layer.named_children())
    attention = _child(layer, _ATTENTION_NAMES, _ATTENTION_CLASS)
    mlp = _child(layer, _MLP_NAMES, _MLP_CLASS)
    mlp_out = mlp
    if mlp is None and "fc1" in children and "fc2" in children:  # OPT-style: the MLP's layers sit in the block
        mlp_out = "fc2"
    mlp_post = attention_post = None
    for mlp_name, attention_names in _POST_MODULES:
        if mlp_name in children:
            mlp_post = mlp_name
            attention_post = next((name for name in attention_names if name in children), None)
            break
    attn_out = (attention_post or attention) if attention else None
    mlp_out = (mlp_post or mlp_out) if mlp_out else None
    inside = tuple(name for name in (attn_out, mlp_out) if name and _adds_residual(layer.get_submodule(name)))
    return BlockLayout(attention=attention, mlp=mlp, attn_out=attn_out, mlp_out=mlp_out,
                       post_norms=mlp_post is not None, resid_pre="pre_ln" if "pre_ln" in children else None,
                       residual_inside=inside, **_scales(layer))


def _number(layer: Any, name: str) -> float | None:
    value = getattr(layer, name, None)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _scales(layer: Any) -> dict[str, float]:
    """The branch and residual scales a decoder layer keeps as attributes (see BlockLayout)."""
    common = next((value for name in _BRANCH_SCALES if (value := _number(layer, name)) is not None), 1.0)
    scales = {"attn_scale": common, "mlp_scale": common, "attn_residual_scale": 1.0, "mlp_residual_scale": 1.0}
    for branch in ("attn", "mlp"):
        # MiniMax: residual · alpha + branch · beta.
        beta, alpha = _number(layer, f"{branch}_beta_factor"), _number(layer, f"{branch}_alpha_factor")
        if beta is not None and alpha is not None:
            scales[f"{branch}_scale"], scales[f"{branch}_residual_scale"] = beta, alpha
        # Beam / Dory: a depth-scaled add, branch / sqrt(k) + residual · sqrt((k - 1) / k) for the k-th add.
        index = _number(layer, f"{branch}_residual_add_idx")
        if index is not None and index >= 1:
            scales[f"{branch}_scale"] = 1.0 / math.sqrt(index)
            scales[f"{branch}_residual_scale"] = math.sqrt((index - 1) / index)
    return scales


def _adds_residual(module: Any) -> bool:
    """A sub-module whose forward takes the residual and returns output + residual (BLOOM's attention, MPT's MLP)."""
    import inspect

    try:
        return "residual" in inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False


def _module_name(model: Any, target: Any) -> str | None:
    if target is None:
        return None
    return next((name for name, module in model.named_modules() if module is target), None)


def _safe(getter: Any) -> Any:
    try:
        return getter()
    except (AttributeError, NotImplementedError, TypeError):
        return None


def _final_norm(model: Any, layers_path: str) -> str | None:
    # The backbone holding the layers (or, for OPT, its decoder) holds the final norm next to them.
    parts = layers_path.split(".")
    for depth in range(len(parts) - 1, -1, -1):
        parent_path = ".".join(parts[:depth])
        parent = model.get_submodule(parent_path) if parent_path else model
        children = dict(parent.named_children())
        for name in _FINAL_NORMS:
            if name in children and _NORM_CLASS.search(type(children[name]).__name__):
                return f"{parent_path}.{name}" if parent_path else name
    return None


def _embeddings(model: Any, layers_path: str) -> tuple[str, ...]:
    paths = [_module_name(model, _safe(model.get_input_embeddings))]
    backbone_path = layers_path.rsplit(".", 1)[0] if "." in layers_path else ""
    backbone = model.get_submodule(backbone_path) if backbone_path else model
    for name in _POSITION_EMBEDDINGS:
        if hasattr(backbone, name) and "Embedding" in type(getattr(backbone, name)).__name__:
            paths.append(f"{backbone_path}.{name}" if backbone_path else name)
    return tuple(path for path in paths if path)


def discover_layout(model: Any) -> ModelLayout:
    """The layout of a causal LM (real or on the meta device) from its module tree; LayoutNotFound if it has none."""
    config = getattr(model, "config", None)
    text = _text_config(config) if config is not None else None
    num_layers = getattr(text, "num_hidden_layers", None)
    layers_path, layers = _find_layers(model, num_layers)
    blocks = tuple(_block_layout(layer) for layer in layers)
    model_type = str(getattr(config, "model_type", None) or type(model).__name__)
    quirks = FAMILY_QUIRKS.get(model_type)
    moe = any(re.search(r"MoE|Moe|Experts|Sparse", type(layers[i].get_submodule(b.mlp)).__name__)
              for i, b in enumerate(blocks) if b.mlp)
    post_normed = any(block.post_norms for block in blocks)
    if any(block.scaled_residual for block in blocks):
        notes_scaled = ("the layers scale the residual stream as they add to it: resid_post = a_mlp · (a_attn · "
                        "resid_pre + attn_out) + mlp_out, with each layer's a_attn / a_mlp in its BlockLayout",)
    else:
        notes_scaled = ()
    if not any(block.attn_out or block.mlp_out for block in blocks):
        # A state-space model (Mamba, RWKV-like mixers): its residual stream is still there to read and steer.
        notes: tuple[str, ...] = (f"the layers ({type(layers[0]).__name__}) have no attention or MLP sub-module "
                                  "miStudio recognises: only resid_pre and resid_post are offered",)
    else:
        notes = tuple(f"layer {i} has no {kind}" for i, block in enumerate(blocks)
                      for kind, module in (("attention", block.attn_out), ("MLP", block.mlp_out)) if module is None)
    hidden = getattr(text, "hidden_size", None) or getattr(text, "d_model", None) or getattr(text, "n_embd", None)
    return ModelLayout(
        model_type=model_type, family=DISPLAY_NAMES.get(model_type, model_type), layers_path=layers_path,
        d_model=int(hidden or 0), blocks=blocks, embedding_paths=_embeddings(model, layers_path),
        final_norm_path=_final_norm(model, layers_path),
        lm_head_path=_module_name(model, _safe(model.get_output_embeddings)), moe=moe,
        checkpoint_renames=quirks.checkpoint_renames if quirks else (),
        attn_out_meaning=(quirks and quirks.attn_out_meaning) or (_POST_NORM_ATTN if post_normed else _PRE_NORM_ATTN),
        mlp_out_meaning=(quirks and quirks.mlp_out_meaning) or (_POST_NORM_MLP if post_normed else _PRE_NORM_MLP),
        notes=notes + notes_scaled)


_model_layouts: weakref.WeakKeyDictionary[Any, ModelLayout] = weakref.WeakKeyDictionary()


def layout_of(model: Any) -> ModelLayout:
    """The (cached) layout of a loaded model."""
    layout = _model_layouts.get(model)
    if layout is None:
        layout = _model_layouts[model] = discover_layout(model)
    return layout


def decoder_layers(model: Any) -> Any:
    """The model's decoder layers (one per block): the one lookup, through its discovered layout."""
    return model.get_submodule(layout_of(model).layers_path)


def layout_for_config(config: dict[str, Any]) -> ModelLayout:
    """The layout of the model a raw config.json describes, from a meta-device build (no memory, no weights)."""
    return _layout_for_config_json(json.dumps(config, sort_keys=True, default=str))


@lru_cache(maxsize=64)
def _layout_for_config_json(config_json: str) -> ModelLayout:
    from mistudio.lens.memory import meta_model

    return discover_layout(meta_model(json.loads(config_json)))
