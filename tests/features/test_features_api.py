"""The features API end to end: a real SAE trained in the studio, analysed by a real job, browsed through HTTP and
checked against the store read back with `lens.features.load_features` and a direct lens run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mistudio.lens.features import load_features
from mistudio.lens.features.result import EXAMPLE_KINDS
from tests.extraction.test_extraction_api import _accepted
from tests.support.api_fixtures import wait_for_job

ANALYSIS = {"top_k": 5, "context": 3, "intervals": 4, "per_interval": 2, "correlations": 4, "neighbours": 5,
            "logit_lens": 6, "batch_size": 16, "histogram_bins": 12}


@pytest.fixture(scope="module")
def analysed(studio: dict[str, Any]) -> dict[str, Any]:
    """One completed analysis over the whole tokenization, with the ablation of the first two top examples."""
    client = studio["client"]
    started = _accepted(client.post(f"/api/v1/saes/{studio['sae_id']}/analyses", json={
        **ANALYSIS, "dataset_id": studio["dataset_id"], "tokenization_id": studio["tokenization_id"],
        "ablation_top": 2}))
    assert started["status"] == "queued" and started["source"] == "tokenization"
    job = wait_for_job(client, started["job_id"], timeout=300)
    assert job["status"] == "completed", job
    analysis = client.get(f"/api/v1/analyses/{started['id']}").json()["data"]
    return {"analysis": analysis, "saved": load_features(analysis["path"])}


def _features(client: Any, analysis_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/analyses/{analysis_id}/features", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_an_analysis_completes_and_its_rows_match_the_store(studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    client, analysis, saved = studio["client"], analysed["analysis"], analysed["saved"]
    assert analysis["ready"] and analysis["phase"] == "complete" and analysis["width"] == 48
    assert analysis["num_sequences"] == 300 and analysis["tokens"] == saved.analysis.summary.tokens
    summary = saved.analysis.summary
    assert analysis["dead_count"] == int(summary.dead.sum())
    page = _features(client, analysis["id"])
    assert page["pagination"]["total"] == 48
    rows = page["data"]
    assert [row["latent"] for row in rows] == list(range(48))
    np.testing.assert_allclose([row["frequency"] for row in rows], summary.frequency, rtol=1e-6)
    np.testing.assert_allclose([row["max_activation"] for row in rows], summary.max_activation, rtol=1e-6)
    assert [row["dead"] for row in rows] == summary.dead.tolist()
    labels = {label.latent: label.text for label in saved.labels}
    assert [row["label"] for row in rows] == [labels[i] for i in range(48)]
    assert all(row["label_kind"] == "automatic" and row["label_score"] is None for row in rows)
    listed = client.get(f"/api/v1/saes/{studio['sae_id']}/analyses").json()
    assert analysis["id"] in [item["id"] for item in listed["data"]]
