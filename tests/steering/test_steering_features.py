"""Steering with a strength in units of a feature's max activation, read from a real completed feature analysis of
an SAE really trained on the tiny llama (the features tests' studio)."""

from __future__ import annotations

from typing import Any

from tests.extraction.test_extraction_api import _accepted
from tests.support.api_fixtures import wait_for_job


def test_a_strength_in_max_activations_is_scaled_by_the_analysis(features_studio: dict[str, Any]) -> None:
    studio = features_studio
    client = studio["client"]
    started = _accepted(client.post(f"/api/v1/saes/{studio['sae_id']}/analyses", json={
        "dataset_id": studio["dataset_id"], "tokenization_id": studio["tokenization_id"], "max_sequences": 40}))
    assert wait_for_job(client, started["job_id"], timeout=300)["status"] == "completed"
    rows = client.get(f"/api/v1/analyses/{started['id']}/features", params={"limit": 200}).json()["data"]
    latent = max(rows, key=lambda row: row["max_activation"])
    assert latent["max_activation"] > 0
    intervention = {"sae_id": studio["sae_id"], "feature": latent["latent"], "strength": 3.0,
                    "unit": "max_activation", "analysis_id": started["id"]}
    body = {"model_id": studio["model_id"], "prompt": "the king and the", "max_new_tokens": 6, "seed": 1,
            "interventions": [intervention]}
    response = client.post("/api/v1/steering/compare", json=body)
    assert response.status_code == 200, response.text
    [described] = response.json()["data"]["interventions"]
    scaled = 3.0 * latent["max_activation"]
    assert described == f"add feature {latent['latent']} × {scaled:g} at blocks.1.resid_post (all)"

    missing = client.post("/api/v1/steering/compare", json={**body, "interventions": [
        {**intervention, "analysis_id": None}]})
    assert missing.status_code == 400 and missing.json()["error"]["details"]["field"] == "interventions[0].analysis_id"
