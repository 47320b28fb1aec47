""""Your own text" through the API and the model host, checked against an independent computation: the model run
with a plain torch forward hook on its layer and the SAE's top-k encoding written out from its saved weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from tests.features.test_export import analysed  # noqa: F401 (the fixture: a small completed analysis)

TEXT = "Line 7: the king and the queen met by the river at dawn, singing 42."
HOOK_LAYER = 1  # the studio's SAE reads blocks.1.resid_post: the output of decoder layer 1


@pytest.fixture(scope="module")
def independent(studio: dict[str, Any], analysed: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """Latents [tokens, width] of TEXT, the token ids and the tokens the analysis leaves out, computed without
    lens: transformers + a torch hook + the top-k rule on the saved weights."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    client = studio["client"]
    sae = client.get(f"/api/v1/saes/{studio['sae_id']}").json()["data"]
    folder = Path(sae["path"])
    config = json.loads((folder / "cfg.json").read_text())
    ours = config["metadata"]["mistudio"]
    assert ours["architecture"] == "topk" and ours["input_scale"] == 1.0 and ours["apply_b_dec_to_input"]
    weights = load_file(str(folder / "sae_weights.safetensors"))
    model = AutoModelForCausalLM.from_pretrained(studio["model_path"], dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(studio["model_path"])
    input_ids = tokenizer(TEXT, return_tensors="pt")["input_ids"]
    captured: dict[str, torch.Tensor] = {}

    def keep(module: Any, inputs: Any, output: Any) -> None:
        captured["resid_post"] = output[0] if isinstance(output, tuple) else output

    hook = model.model.layers[HOOK_LAYER].register_forward_hook(keep)
    with torch.no_grad():
        model(input_ids)
    hook.remove()
    x = captured["resid_post"][0].float()
    pre = (x - weights["b_dec"]) @ weights["W_enc"] + weights["b_enc"]
    values, indices = pre.topk(ours["k"], dim=-1)
    latents = torch.zeros_like(pre).scatter_(-1, indices, values.relu())
    analysis = client.get(f"/api/v1/analyses/{analysed['id']}").json()["data"]
    ignored = set(analysis["settings"]["config"]["ignore_token_ids"])
    counted = torch.tensor([token not in ignored for token in input_ids[0].tolist()])
    return {"latents": latents, "ids": input_ids[0].tolist(), "counted": counted}


def _probe(client: Any, analysis_id: str, **body: Any) -> Any:
    return client.post(f"/api/v1/analyses/{analysis_id}/probe", json=body)


def test_probe_activations_equal_the_sae_on_the_models_hook_activations(
        studio: dict[str, Any], analysed: dict[str, Any], independent: dict[str, Any]) -> None:  # noqa: F811
    client, latents = studio["client"], independent["latents"]
    scored = latents.masked_fill(~independent["counted"][:, None], 0.0)
    expected_max = scored.max(dim=0).values
    response = _probe(client, analysed["id"], text=TEXT, top=5)
    assert response.status_code == 200, response.text
    found = response.json()["data"]
    assert [token["token"] for token in found["tokens"]] == independent["ids"]
    assert [token["counted"] for token in found["tokens"]] == independent["counted"].tolist()
    # Top latents: by max over the counted tokens, highest first, with the sum; the default latent is the first.
    top = found["top_latents"]
    assert found["ranked_by"] == "max" and len(top) == 5
    assert [entry["max_activation"] for entry in top] == pytest.approx(
        expected_max.sort(descending=True).values[:5].tolist(), abs=1e-4)
    for entry in top:
        assert entry["max_activation"] == pytest.approx(float(expected_max[entry["latent"]]), abs=1e-4)
        assert entry["sum_activation"] == pytest.approx(float(scored[:, entry["latent"]].sum()), abs=1e-3)
        assert scored[entry["peak_position"], entry["latent"]] == pytest.approx(entry["max_activation"], abs=1e-4)
    assert found["latent"] == top[0]["latent"]
    # A chosen latent (the top one, and the one firing least on the text): its value on every token.
    quiet = int(latents.max(dim=0).values.argmin())
    for latent in (top[0]["latent"], quiet):
        chosen = _probe(client, analysed["id"], text=TEXT, latent=latent, top=0).json()["data"]
        assert chosen["latent"] == latent and chosen["top_latents"] == []
        assert [token["activation"] for token in chosen["tokens"]] == pytest.approx(
            latents[:, latent].tolist(), abs=1e-4)
    labels = {row["latent"]: row["label"] for row in client.get(
        f"/api/v1/analyses/{analysed['id']}/features", params={"limit": 200}).json()["data"]}
    assert [entry["label"] for entry in top] == [labels[entry["latent"]] for entry in top]


def test_bad_probe_input_is_refused_naming_the_field(studio: dict[str, Any], analysed: dict[str, Any]) -> None:  # noqa: F811
    client, analysis_id = studio["client"], analysed["id"]
    cases = [({"text": "   "}, 400, "text", "empty"),
             ({"text": TEXT, "latent": 48}, 400, "latent", "out of range"),
             ({"text": "king " * 400}, 400, "text", "at most 256")]
    for body, status, field, why in cases:
        refused = _probe(client, analysis_id, **body)
        assert refused.status_code == status, refused.text
        error = refused.json()["error"]
        assert error["details"]["field"] == field and why in error["message"], error
    for body in ({"text": TEXT, "latent": -1}, {"latent": 3}, {"text": TEXT, "extra": 1}):
        assert _probe(client, analysis_id, **body).status_code == 422
    assert _probe(client, "nope", text=TEXT).status_code == 404
