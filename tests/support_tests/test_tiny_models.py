"""Tiny random models: every causal family loads and runs in transformers; bert is the incompatible one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from tests.support.hub_fixtures import HfEnv, TinyModels
from tests.support.tiny_models import TINY_FAMILIES, build_tiny_model

GQA_FAMILIES = {"llama", "mistral", "mixtral", "qwen2", "gemma2", "phi3"}


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_each_family_loads_as_a_causal_lm_and_runs(family: str, tiny_models: TinyModels) -> None:
    folder = tiny_models(family)
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json"} <= {
        p.name for p in folder.iterdir()}

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    inputs = tokenizer(["the river runs to the sea", "a quiet night"], return_tensors="pt", padding=True)
    with torch.no_grad():
        logits = model(**inputs).logits

    assert logits.shape == (2, inputs["input_ids"].shape[1], model.config.vocab_size)
    assert torch.isfinite(logits).all()
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.architectures[0].endswith(("ForCausalLM", "LMHeadModel"))
    assert sum(p.numel() for p in model.parameters()) < 400_000
    assert tokenizer.bos_token == "<s>" and tokenizer.eos_token_id == model.config.eos_token_id
    if family in GQA_FAMILIES:
        assert model.config.num_key_value_heads < model.config.num_attention_heads
    if family == "mixtral":
        assert (model.config.num_local_experts, model.config.num_experts_per_tok) == (4, 2)


def test_bert_is_a_masked_lm_not_a_causal_one(tiny_models: TinyModels) -> None:
    config = AutoConfig.from_pretrained(tiny_models("bert"))
    assert config.architectures == ["BertForMaskedLM"]
    assert not config.is_decoder
    # Beware: AutoModelForCausalLM still *loads* it (as BertLMHeadModel, with a warning), so compatibility checks
    # must look at the config (architectures / is_decoder), not at whether loading succeeds.
    assert type(AutoModelForCausalLM.from_pretrained(tiny_models("bert"))).__name__ == "BertLMHeadModel"


def test_builds_are_deterministic(tmp_path: Path) -> None:
    first = build_tiny_model("llama", tmp_path / "a")
    second = build_tiny_model("llama", tmp_path / "b")
    other_seed = build_tiny_model("llama", tmp_path / "c", seed=1)

    def digest(folder: Path) -> str:
        return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()

    assert digest(first) == digest(second) != digest(other_seed)
    assert (first / "tokenizer.json").read_bytes() == (second / "tokenizer.json").read_bytes()


def test_tiny_tokenizer_round_trips_and_has_a_chat_template(tiny_models: TinyModels) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_models("llama"))
    text = "Mechanistic interpretability, with ünïcode and digits 1234!"
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id and tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                           add_generation_prompt=True)
    assert prompt.endswith("<|assistant|>\n")


def test_unknown_family_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown tiny family"):
        build_tiny_model("t5", tmp_path)


def test_transformers_loads_a_published_tiny_model_from_the_fake_hub(hf_env: HfEnv, tiny_models: TinyModels) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "mixtral", "hub/mixtral")

    model = AutoModelForCausalLM.from_pretrained(repo_id)
    tokenizer = AutoTokenizer.from_pretrained(repo_id)

    local = AutoModelForCausalLM.from_pretrained(tiny_models("mixtral"))
    inputs = tokenizer("hello", return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(model(**inputs).logits, local(**inputs).logits)
    # transformers 5 resolves "main" to a commit sha (GET api/models/<repo>) and then downloads by sha.
    commit = hf_env.hub.commit_sha(repo_id)
    assert hf_env.hub.requests_for(f"/hub/mixtral/resolve/{commit}/model.safetensors", "GET")
    assert list(hf_env.hub_cache.glob("models--hub--mixtral/snapshots/*/model.safetensors"))
