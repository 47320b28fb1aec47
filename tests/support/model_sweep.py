"""Every text-only causal LM type of the installed transformers, built tiny from its own config class, through lens.

`sweep()` tries each model type of `MODEL_FOR_CAUSAL_LM_MAPPING_NAMES` that is neither an encoder, an
encoder-decoder nor multimodal, shrinks its config (64 wide, 2 layers, 512 tokens), builds it with random weights,
and checks what the studio relies on: `check_compatibility` accepts the config, every hook point of the discovered
layout fires with a [batch, seq, d_model] activation, `resid_post(i) == resid_pre(i + 1)`, and
`resid_post == resid_pre + attn_out + mlp_out` in every layer that has both. `python -m tests.support.model_sweep`
prints the table the README reports.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

TINY_SETTINGS: dict[str, Any] = {
    "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "intermediate_size": 128, "vocab_size": 512, "head_dim": 16, "max_position_embeddings": 256,
    "num_local_experts": 4, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 64,
    "shared_expert_intermediate_size": 64, "n_routed_experts": 4, "n_shared_experts": 1, "first_k_dense_replace": 1,
    "kv_lora_rank": 16, "q_lora_rank": 32, "qk_rope_head_dim": 8, "qk_nope_head_dim": 8, "v_head_dim": 16,
    "n_group": 1, "topk_group": 1, "ffn_hidden_size": 128, "n_embd": 64, "n_layer": 2, "n_head": 4, "d_model": 64,
    "n_positions": 256, "n_inner": 128, "rotary_dim": 8, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2,
}
MAX_TINY_PARAMETERS = 20_000_000  # a config whose sizes do not follow the settings above stays out
TOLERANCE = 1e-4


@dataclass(frozen=True)
class SweepResult:
    model_type: str
    outcome: str  # "pass", "fail", "not built tiny", "skipped"
    reason: str = ""


def text_only_causal_types() -> list[str]:
    """Model types transformers can build as a causal LM that are decoder-only and take text alone."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    kept = []
    for model_type in sorted(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES):
        if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
            continue  # an encoder that also has a decoder mode (bert, roberta, …)
        try:
            default = CONFIG_MAPPING[model_type]()
        except Exception:  # noqa: BLE001 - a config class that cannot even be built with defaults
            kept.append(model_type)
            continue
        sub_configs = set(getattr(default, "sub_configs", {}) or {})
        if getattr(default, "is_encoder_decoder", False) or sub_configs & {"vision_config", "audio_config",
                                                                           "speech_config", "encoder_config"}:
            continue
        kept.append(model_type)
    return kept


def tiny_model(model_type: str) -> Any:
    """The model type built tiny with random weights (seeded); raises when its config class will not shrink."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    config_class = CONFIG_MAPPING[model_type]
    default = config_class()
    known = set(default.to_dict()) | set(getattr(config_class, "attribute_map", {}))
    settings = {key: value for key, value in TINY_SETTINGS.items() if key in known}
    layer_types = getattr(default, "layer_types", None)
    if isinstance(layer_types, list | tuple) and len(layer_types) > 2 and "layer_types" in default.to_dict():
        settings["layer_types"] = list(layer_types[:2])
    config = config_class(**settings)
    with torch.device("meta"):
        size = sum(p.numel() for p in AutoModelForCausalLM.from_config(config).parameters())
    if size > MAX_TINY_PARAMETERS:
        raise ValueError(f"still {size:,} parameters after shrinking its config")
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config).eval(), config


_CROSS_ATTENTION = ("encoder_attn", "crossattention", "cross_attn", "cross_attention")


def _layer_lists(model: Any) -> list[Any]:
    from torch import nn

    return [layer for module in model.modules() if isinstance(module, nn.ModuleList) for layer in module]


def check_model_type(model_type: str) -> SweepResult:
    import torch

    from mistudio.lens.architecture import check_compatibility
    from mistudio.lens.hooks import capture_activations
    from mistudio.lens.layout import layout_of

    try:
        model, config = tiny_model(model_type)
    except Exception as error:  # noqa: BLE001 - recorded as the reason it could not be built tiny
        return SweepResult(model_type, "not built tiny", f"{type(error).__name__}: {str(error)[:160]}")
    if any(name in _CROSS_ATTENTION for layer in _layer_lists(model) for name, _ in layer.named_children()):
        return SweepResult(model_type, "skipped", "the decoder of an encoder-decoder model: its layers have "
                                                  "cross-attention over an encoder's output")
    ids = torch.randint(5, 500, (2, 6), generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            model(input_ids=ids, use_cache=False)
    except Exception as error:  # noqa: BLE001 - its tiny config does not run even without miStudio
        return SweepResult(model_type, "not built tiny", f"a plain forward fails: {type(error).__name__}: "
                                                         f"{str(error)[:140]}")
    try:
        compatibility = check_compatibility(config.to_dict())
        if not compatibility.compatible:
            return SweepResult(model_type, "fail", f"refused: {compatibility.reason}")
        layout = layout_of(model)
        points = layout.hook_points()
        with torch.no_grad(), capture_activations(model, points) as captured:
            model(input_ids=ids, use_cache=False)
        missing = [point for point in points if point not in captured]
        if missing:
            return SweepResult(model_type, "fail", f"hook points that did not fire: {', '.join(missing[:4])}")
        width = layout.d_model
        wrong = [p for p in points if tuple(captured[p].shape) != (2, 6, width)]
        if wrong:
            return SweepResult(model_type, "fail", f"{wrong[0]} has shape {tuple(captured[wrong[0]].shape)}")
        return _check_relations(model_type, layout, captured)
    except Exception as error:  # noqa: BLE001 - a model the lens cannot handle: the reason goes in the table
        return SweepResult(model_type, "fail", f"{type(error).__name__}: {str(error)[:160]}")


def _check_relations(model_type: str, layout: Any, captured: dict[str, Any]) -> SweepResult:
    for index in range(layout.num_layers - 1):
        gap = (captured[f"blocks.{index}.resid_post"] - captured[f"blocks.{index + 1}.resid_pre"]).abs().max()
        if gap > TOLERANCE:
            return SweepResult(model_type, "fail", f"resid_post of layer {index} is not resid_pre of layer "
                                                   f"{index + 1} (off by {gap:.2g})")
    for index, block in enumerate(layout.blocks):
        if block.attn_out is None or block.mlp_out is None:
            continue
        pre, post = captured[f"blocks.{index}.resid_pre"], captured[f"blocks.{index}.resid_post"]
        attn, mlp = captured[f"blocks.{index}.attn_out"], captured[f"blocks.{index}.mlp_out"]
        # The documented relation; with unit residual scales it is resid_post = resid_pre + attn_out + mlp_out.
        expected = block.mlp_residual_scale * (block.attn_residual_scale * pre + attn) + mlp
        gap = (post - expected).abs().max()
        if gap > TOLERANCE * max(1.0, float(post.abs().max())):
            return SweepResult(model_type, "fail", f"layer {index}: resid_post != resid_pre + attn_out + mlp_out "
                                                   f"(off by {gap:.2g})")
    return SweepResult(model_type, "pass")


def sweep() -> list[SweepResult]:
    """Every text-only causal model type, checked (a few seconds each at most)."""
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    try:
        return [check_model_type(model_type) for model_type in text_only_causal_types()]
    finally:
        logging.disable(logging.NOTSET)


def summary(results: list[SweepResult]) -> str:
    built = [r for r in results if r.outcome in ("pass", "fail")]
    passed = [r for r in built if r.outcome == "pass"]
    skipped = [r for r in results if r.outcome == "skipped"]
    lines = [f"{len(passed)} of {len(built)} built tiny pass ({100 * len(passed) / max(len(built), 1):.1f}%); "
             f"of {len(results)} text-only causal types, {len(results) - len(built) - len(skipped)} could not be "
             f"built tiny and {len(skipped)} not decoder-only"]
    lines += [f"- {r.model_type}: {r.outcome}: {r.reason}" for r in results if r.outcome != "pass"]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(sweep()))
