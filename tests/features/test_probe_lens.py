"""lens.features.probe_text in a notebook, without the studio: against a brute-force pass (`output_hidden_states`, the
SAE encoding every token at once) on a tiny llama, and its refusals naming the field."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features import probe_text
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig
from tests.support.tiny_models import BOS_ID, MAX_POSITIONS

TEXT = "the king and the queen met by the river at dawn"


@pytest.fixture(scope="module")
def setting(tiny_models: Any) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_models("llama")).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_models("llama"))
    sae = SparseAutoencoder(SAEConfig("standard", d_in=64, d_sae=32, hook_point="blocks.0.resid_post",
                                      input_scale=40.0), seed=3)
    return {"model": model, "tokenizer": tokenizer, "sae": sae}


@torch.no_grad()
def test_probe_text_equals_a_brute_force_pass_and_leaves_bos_out_of_the_ranking(setting: dict[str, Any]) -> None:
    model, tokenizer, sae = setting["model"], setting["tokenizer"], setting["sae"]
    ids = tokenizer(TEXT, return_tensors="pt")["input_ids"]
    assert ids[0, 0] == BOS_ID
    latents = sae.encode(model(input_ids=ids, output_hidden_states=True).hidden_states[1])[0].float()
    counted = latents.clone()
    counted[0] = 0  # BOS: not ranked
    found = probe_text(model, tokenizer, sae, TEXT, top=5, ignore_token_ids=[BOS_ID])
    assert found.token_ids == ids[0].tolist() and found.counted == [False] + [True] * (ids.shape[1] - 1)
    peaks = counted.max(dim=0).values
    expected = [latent for latent in torch.argsort(peaks, descending=True, stable=True).tolist() if peaks[latent] > 0]
    assert found.top_latents == expected[:5] and len(found.top_latents) == 5
    assert found.top_max == pytest.approx(peaks[expected[:5]].tolist(), abs=1e-5)
    assert found.top_sum == pytest.approx(counted[:, expected[:5]].sum(dim=0).tolist(), abs=1e-4)
    assert found.latent == expected[0]
    assert found.activations == pytest.approx(latents[:, expected[0]].tolist(), abs=1e-5)  # BOS shown, not ranked
    chosen = probe_text(model, tokenizer, sae, TEXT, latent=7, top=0)
    assert chosen.latent == 7 and chosen.top_latents == []
    assert chosen.activations == pytest.approx(latents[:, 7].tolist(), abs=1e-5)


def test_probe_text_refuses_bad_input_naming_the_field(setting: dict[str, Any]) -> None:
    model, tokenizer, sae = setting["model"], setting["tokenizer"], setting["sae"]
    cases = [({"text": " \n"}, "text", "non-empty"), ({"text": TEXT, "latent": 32}, "latent", "0 to 31"),
             ({"text": "king " * (MAX_POSITIONS + 10)}, "text", f"at most {MAX_POSITIONS}")]
    for arguments, field, why in cases:
        with pytest.raises(InvalidArgument) as refused:
            probe_text(model, tokenizer, sae, **arguments)
        assert refused.value.details["field"] == field and why in refused.value.message
