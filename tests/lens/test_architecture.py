"""lens.architecture on real tiny models of every supported family: compatibility, counts, description, compare."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from mistudio.lens.architecture import (
    check_compatibility,
    compare_architectures,
    count_parameters,
    describe_architecture,
    read_safetensors_shapes,
)
from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hooks import decoder_layers
from mistudio.lens.layout import layout_of
from tests.support.tiny_models import TINY_FAMILIES

_SMALL: dict[str, Any] = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                          "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 512, "max_position_embeddings": 256}
# Families the shared tiny-model factory does not build: tiny configs of our own.
EXTRA_FAMILY_CONFIGS: dict[str, dict[str, Any]] = {
    "qwen3": _SMALL,
    "gemma": _SMALL,
    "phi": _SMALL,
    "gemma3_text": {**_SMALL, "sliding_window": 64, "layer_types": ["sliding_attention", "full_attention"]},
    "gemma3": {"text_config": {**_SMALL, "model_type": "gemma3_text"}, "mm_tokens_per_image": 4,
               "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                                 "num_attention_heads": 2, "image_size": 28, "patch_size": 14}},
}
ALL_CAUSAL_FAMILIES: tuple[str, ...] = (*TINY_FAMILIES, *EXTRA_FAMILY_CONFIGS)


def build_extra_model(model_type: str) -> torch.nn.Module:
    """A tiny random model of a family the shared factory does not cover."""
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **EXTRA_FAMILY_CONFIGS[model_type]))


@pytest.fixture(scope="module")
def model_dir(tiny_models: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """family → saved tiny model folder (config.json + safetensors)."""
    extra_root = tmp_path_factory.mktemp("extra_families")

    def folder(family: str) -> Path:
        if family in TINY_FAMILIES:
            return tiny_models(family)
        path = extra_root / family
        if not path.exists():
            build_extra_model(family).save_pretrained(path)
        return path

    return folder


def _config(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "config.json").read_text())


def _loaded_parameter_count(folder: Path) -> int:
    model = AutoModelForCausalLM.from_pretrained(folder)
    return sum(parameter.numel() for parameter in model.parameters())  # parameters() yields a tied weight once


@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_every_supported_family_is_compatible(model_dir: Callable[[str], Path], family: str) -> None:
    result = check_compatibility(_config(model_dir(family)))
    assert (result.compatible, result.model_type, result.reason) == (True, family, None)
    assert result.family


def test_bert_is_incompatible_with_a_reason_a_user_can_read(tiny_models: Any) -> None:
    result = check_compatibility(_config(tiny_models("bert")))
    assert not result.compatible and result.model_type == "bert"
    assert "BertForMaskedLM" in result.reason and "not a causal language model" in result.reason


def test_encoder_model_type_without_architectures_is_incompatible() -> None:
    result = check_compatibility({"model_type": "roberta"})
    assert not result.compatible and "encoder" in result.reason


def test_a_model_type_transformers_does_not_know_is_incompatible_saying_so() -> None:
    result = check_compatibility({"model_type": "wombat", "architectures": ["WombatForCausalLM"]})
    assert not result.compatible
    assert result.reason.startswith("model type 'wombat' is not known to the installed transformers")


def test_an_unknown_family_with_custom_code_names_trust_remote_code() -> None:
    auto_map = {"AutoModelForCausalLM": "modeling_custom.CustomForCausalLM"}
    unknown = check_compatibility({"model_type": "custom", "architectures": ["CustomForCausalLM"],
                                   "auto_map": auto_map})
    assert not unknown.compatible and "trust_remote_code" in unknown.reason


def test_a_supported_family_with_custom_code_is_compatible_and_counted_with_the_built_in_class(
        tiny_models: Any) -> None:
    config = _config(tiny_models("phi3"))
    custom = {**config, "auto_map": {"AutoModelForCausalLM": "modeling_phi3.Phi3ForCausalLM"}}
    result = check_compatibility(custom)
    assert result.compatible and result.family == "phi3" and "trust_remote_code" in result.reason
    assert count_parameters(custom) == count_parameters(config)


@pytest.mark.parametrize("source", ["safetensors_shapes", "meta_model"])
@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_count_parameters_equals_the_loaded_model(model_dir: Callable[[str], Path], family: str, source: str) -> None:
    folder = model_dir(family)
    shapes = read_safetensors_shapes(folder) if source == "safetensors_shapes" else None
    assert count_parameters(_config(folder), shapes) == _loaded_parameter_count(folder)


@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_describe_parts_add_up_to_the_total_and_agree_across_sources(model_dir: Callable[[str], Path],
                                                                      family: str) -> None:
    folder = model_dir(family)
    from_shapes = describe_architecture(_config(folder), read_safetensors_shapes(folder))
    from_meta = describe_architecture(_config(folder))
    parts = from_shapes["parameters"]
    assert sum(parts["per_block"]) + parts["embedding"] + parts["lm_head"] + parts["final_norm"] + parts["other"] \
        == parts["total"]
    assert parts["other"] == 0 or family == "gemma3"  # only the multimodal Gemma 3 has a vision tower
    assert parts == from_meta["parameters"]
    assert [layer["parameters"] for layer in from_shapes["layers"]] == parts["per_block"]
    assert (parts["lm_head"] == 0) == from_shapes["tie_word_embeddings"]


@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_per_layer_counts_match_the_modules_of_the_loaded_model(model_dir: Callable[[str], Path], family: str) -> None:
    folder = model_dir(family)
    model = AutoModelForCausalLM.from_pretrained(folder)
    layout, layers = layout_of(model), decoder_layers(model)
    described = describe_architecture(_config(folder), read_safetensors_shapes(folder))["layers"]

    def size(module: torch.nn.Module) -> int:
        return sum(parameter.numel() for parameter in module.parameters())

    assert [layer["parameters"] for layer in described] == [size(layer) for layer in layers]
    for described_layer, layer, block in zip(described, layers, layout.blocks, strict=True):
        assert described_layer["attention"]["parameters"] == size(getattr(layer, block.attention))
        assert described_layer["mlp"]["parameters"] == size(getattr(layer, block.mlp))
    assert all(layer["norms"] and all("norm" in name or name.startswith("ln") for name in layer["norms"])
               for layer in described)


def test_llama_reports_grouped_query_attention_and_gpt2_multi_head(tiny_models: Any) -> None:
    llama = describe_architecture(_config(tiny_models("llama")))
    gpt2 = describe_architecture(_config(tiny_models("gpt2")))
    assert (llama["num_attention_heads"], llama["num_key_value_heads"], llama["head_dim"]) == (4, 2, 16)
    assert llama["layers"][0]["attention"]["type"] == "gqa"
    # gpt2 names its fields n_embd / n_head / n_layer / n_positions / n_inner.
    assert (gpt2["hidden_size"], gpt2["num_layers"], gpt2["num_attention_heads"], gpt2["num_key_value_heads"],
            gpt2["context_length"], gpt2["intermediate_size"]) == (64, 2, 4, 4, 256, 128)
    assert gpt2["layers"][0]["attention"]["type"] == "mha"


def test_original_falcon_multi_query_config_reports_one_kv_head() -> None:
    config = {"model_type": "falcon", "architectures": ["FalconForCausalLM"], "hidden_size": 64, "num_hidden_layers": 1,
              "num_attention_heads": 4, "vocab_size": 128, "multi_query": True, "new_decoder_architecture": False}
    attention = describe_architecture(config)["layers"][0]["attention"]
    assert (attention["type"], attention["num_kv_heads"]) == ("mqa", 1)


def test_mixtral_reports_its_experts(tiny_models: Any) -> None:
    described = describe_architecture(_config(tiny_models("mixtral")), read_safetensors_shapes(tiny_models("mixtral")))
    assert (described["num_experts"], described["num_experts_per_token"]) == (4, 2)
    mlp = described["layers"][0]["mlp"]
    # 4 experts × (gate, up, down: 3 × 64 × 128) + a 64 → 4 router.
    assert (mlp["type"], mlp["num_experts"], mlp["experts_per_token"]) == ("moe", 4, 2)
    assert mlp["parameters"] == 4 * 3 * 64 * 128 + 64 * 4
    assert describe_architecture(_config(tiny_models("llama")))["layers"][0]["mlp"]["type"] == "dense"


def test_sliding_window_is_reported_only_on_sliding_layers(model_dir: Callable[[str], Path]) -> None:
    layers = describe_architecture(_config(model_dir("gemma3_text")))["layers"]
    assert [layer["attention"]["sliding_window"] for layer in layers] == [64, None]


def test_description_is_json_and_lists_every_hook_point_in_layer_order(tiny_models: Any) -> None:
    described = describe_architecture(_config(tiny_models("qwen2")), read_safetensors_shapes(tiny_models("qwen2")))
    assert json.loads(json.dumps(described)) == described
    assert described["hook_points"][:5] == ["blocks.0.resid_pre", "blocks.0.resid_post", "blocks.0.mlp_out",
                                            "blocks.0.attn_out", "blocks.1.resid_pre"]
    assert described["hook_points"] == [point for layer in described["layers"] for point in layer["hook_points"]]
    assert set(described["hook_point_meanings"]) == {"resid_pre", "resid_post", "mlp_out", "attn_out"}


def test_read_safetensors_shapes_reads_every_shard(tiny_models: Any, tmp_path: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_models("llama"))
    model.save_pretrained(tmp_path, max_shard_size="100KB")
    assert len(list(tmp_path.glob("*.safetensors"))) > 1
    assert read_safetensors_shapes(tmp_path) == read_safetensors_shapes(tiny_models("llama"))
    assert read_safetensors_shapes(tmp_path)["model.layers.0.self_attn.k_proj.weight"] == ([32, 64], "F32")


def test_read_safetensors_shapes_is_empty_without_weights(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert read_safetensors_shapes(tmp_path) == {}


def test_read_safetensors_shapes_rejects_a_corrupt_header(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", 10**9) + b"{}")
    with pytest.raises(InvalidArgument, match="model.safetensors is not a valid safetensors file"):
        read_safetensors_shapes(tmp_path)


def test_read_safetensors_shapes_names_a_shard_the_index_lists_but_the_folder_lacks(tmp_path: Path) -> None:
    index = {"metadata": {}, "weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(InvalidArgument, match="model-00002-of-00002.safetensors is listed .* but missing"):
        read_safetensors_shapes(tmp_path)


def test_original_gpt2_tensor_names_and_stored_buffers_count_the_same(tiny_models: Any) -> None:
    config, shapes = _config(tiny_models("gpt2")), read_safetensors_shapes(tiny_models("gpt2"))
    # OpenAI's files: no `transformer.` prefix, causal-mask buffers stored as h.{i}.attn.bias, lm_head stored too.
    original = {name.removeprefix("transformer."): entry for name, entry in shapes.items()}
    original.update({f"h.{i}.attn.bias": ([1, 1, 256, 256], "F32") for i in range(2)})
    original["lm_head.weight"] = shapes["transformer.wte.weight"]
    assert count_parameters(config, original) == count_parameters(config, shapes)
    assert describe_architecture(config, original)["parameters"] == describe_architecture(config, shapes)["parameters"]


def test_compare_llama_and_mistral_reports_the_differing_fields(tiny_models: Any) -> None:
    llama = describe_architecture(_config(tiny_models("llama")))
    mistral = describe_architecture(_config(tiny_models("mistral")))
    result = compare_architectures(llama, mistral)
    differences = {entry["key"]: (entry["a"], entry["b"]) for entry in result["config_differences"]}
    assert differences == {"model_type": ("llama", "mistral"), "family": ("llama", "mistral"),
                           "sliding_window": (None, 4096)}
    assert result["parameters"] == {"a": 139584, "b": 139584}
    assert result["hook_points"] == {"only_a": [], "only_b": [], "common": 8}


def test_compare_lists_hook_points_only_the_deeper_model_has(tiny_models: Any) -> None:
    config = _config(tiny_models("llama"))
    shallow, deep = describe_architecture(config), describe_architecture({**config, "num_hidden_layers": 3})
    result = compare_architectures(shallow, deep)
    assert {"key": "num_layers", "a": 2, "b": 3} in result["config_differences"]
    assert result["num_layers"] == {"a": 2, "b": 3}
    assert result["hook_points"] == {"only_a": [], "common": 8, "only_b": [
        "blocks.2.resid_pre", "blocks.2.resid_post", "blocks.2.mlp_out", "blocks.2.attn_out"]}
    assert result["parameters"]["b"] - result["parameters"]["a"] == shallow["parameters"]["per_block"][0]


def test_describing_an_unsupported_family_raises_invalid_input() -> None:
    with pytest.raises(InvalidArgument, match="model type 'wombat' is not known to the installed transformers"):
        describe_architecture({"model_type": "wombat"})
