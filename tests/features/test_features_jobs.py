"""Analysis jobs: the training's hold-out by default, pause then resume from the saved state (same numbers as an
uninterrupted run), and delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tests.extraction.test_extraction_api import _accepted
from tests.support.api_fixtures import wait_for_job
from tests.support.studio import wait_until

SMALL = {"top_k": 4, "context": 2, "intervals": 3, "per_interval": 1, "correlations": 3, "neighbours": 3,
         "logit_lens": 3}


def _rows(client: Any, analysis_id: str) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/analyses/{analysis_id}/features", params={"limit": 200}).json()["data"]


def test_by_default_an_analysis_reads_the_trainings_hold_out(studio: dict[str, Any]) -> None:
    from mistudio.lens.features import load_features

    client = studio["client"]
    started = _accepted(client.post(f"/api/v1/saes/{studio['sae_id']}/analyses", json=SMALL))
    # holdout_fraction 0.1 of 300 streamed sequences: the last 30
    assert (started["source"], started["first_sequence"], started["num_sequences"]) == ("holdout", 270, 30)
    assert (started["dataset_id"], started["tokenization_id"]) == (studio["dataset_id"], studio["tokenization_id"])
    assert wait_for_job(client, started["job_id"], timeout=300)["status"] == "completed"
    saved = load_features(started["path"])
    assert saved.analysis.sequences == 30 and saved.ablation is None
    latent = int(np.argmax(saved.analysis.summary.active_count))
    detail = client.get(f"/api/v1/analyses/{started['id']}/features/{latent}").json()["data"]
    # examples name rows of the tokenization, not of the 30 analysed sequences
    assert detail["examples"] and all(270 <= example["sequence"] < 300 for example in detail["examples"])
    assert sorted(e["sequence"] - 270 for e in detail["examples"] if e["kind"] == "top") == \
        sorted(saved.analysis.examples.of(latent).sequence.tolist())
    assert detail["ablation_mean_delta_loss"] is None
    assert all(example["delta_loss"] is None for example in detail["examples"])


def test_pause_then_resume_completes_with_the_numbers_of_an_uninterrupted_run(studio: dict[str, Any]) -> None:
    client = studio["client"]
    body = {**SMALL, "dataset_id": studio["dataset_id"], "tokenization_id": studio["tokenization_id"],
            "batch_size": 1, "checkpoint_every": 4}
    started = _accepted(client.post(f"/api/v1/saes/{studio['sae_id']}/analyses", json=body))

    def some_sequences() -> bool:
        return client.get(f"/api/v1/analyses/{started['id']}").json()["data"]["sequences_done"] >= 1

    wait_until(some_sequences, timeout=180)
    running = client.delete(f"/api/v1/analyses/{started['id']}")
    assert running.status_code == 409 and "pause it first" in running.json()["error"]["message"]
    paused = client.post(f"/api/v1/analyses/{started['id']}/pause")
    assert paused.status_code == 200
    assert wait_for_job(client, started["job_id"])["status"] == "cancelled"
    row = client.get(f"/api/v1/analyses/{started['id']}").json()["data"]
    assert row["status"] == "cancelled" and row["resumable"] and "paused in the activations pass" in row["message"]
    assert Path(row["path"], "state.safetensors").is_file()
    listed = client.get(f"/api/v1/analyses/{started['id']}/features")
    assert listed.status_code == 409 and "cancelled" in listed.json()["error"]["message"]
    again = _accepted(client.post(f"/api/v1/analyses/{started['id']}/resume"))
    job = wait_for_job(client, again["job_id"], timeout=300)
    assert job["status"] == "completed"
    done = client.get(f"/api/v1/analyses/{started['id']}").json()["data"]
    assert done["ready"] and not Path(done["path"], "state.safetensors").exists()
    log = client.get(f"/api/v1/jobs/{again['job_id']}").json()["data"]["log"]
    assert any("resuming from the saved state" in entry["text"] for entry in log), log

    whole = _accepted(client.post(f"/api/v1/saes/{studio['sae_id']}/analyses", json={**body, "batch_size": 16}))
    assert wait_for_job(client, whole["job_id"], timeout=300)["status"] == "completed"
    resumed, uninterrupted = _rows(client, started["id"]), _rows(client, whole["id"])
    # batch size changes only the order of float sums
    np.testing.assert_allclose([r["frequency"] for r in resumed], [r["frequency"] for r in uninterrupted], rtol=1e-6)
    np.testing.assert_allclose([r["max_activation"] for r in resumed], [r["max_activation"] for r in uninterrupted],
                               rtol=1e-5)
    assert [r["label"] for r in resumed] == [r["label"] for r in uninterrupted]

    again_resumed = client.post(f"/api/v1/analyses/{started['id']}/resume")
    assert again_resumed.status_code == 409 and "completed" in again_resumed.json()["error"]["message"]
    deleted = client.delete(f"/api/v1/analyses/{whole['id']}").json()["data"]
    assert deleted["bytes_freed"] > 0 and not Path(whole["path"]).exists()
    assert client.get(f"/api/v1/analyses/{whole['id']}").status_code == 404


def test_an_imported_sae_needs_its_model_and_tokens_and_must_fit_the_model(studio: dict[str, Any],
                                                                           tmp_path: Path) -> None:
    from mistudio.lens.sae.architectures import SparseAutoencoder
    from mistudio.lens.sae.config import SAEConfig
    from mistudio.lens.sae.formats import save_saelens

    client = studio["client"]
    save_saelens(SparseAutoencoder(SAEConfig("topk", d_in=32, d_sae=64, k=4, hook_point="blocks.1.resid_post")),
                 tmp_path / "narrow")
    imported = client.post("/api/v1/saes/import", json={"path": str(tmp_path / "narrow")})
    assert imported.status_code in (200, 201), imported.text
    sae_id = imported.json()["data"]["id"]
    tokens = {"dataset_id": studio["dataset_id"], "tokenization_id": studio["tokenization_id"]}

    def refused(**body: Any) -> dict[str, Any]:
        response = client.post(f"/api/v1/saes/{sae_id}/analyses", json=body)
        assert response.status_code == 400, response.text
        return response.json()["error"]

    assert refused(**tokens)["details"]["field"] == "model_id"  # imported without a model
    error = refused(model_id=studio["model_id"], **tokens)
    assert error["details"]["field"] == "model_id" and "d_in=32" in error["message"] and "64" in error["message"]
    assert client.get(f"/api/v1/saes/{sae_id}/analyses").json()["pagination"]["total"] == 0

    # one that fits the model, imported with it: still no training hold-out to default to
    save_saelens(SparseAutoencoder(SAEConfig("topk", d_in=64, d_sae=64, k=4, hook_point="blocks.1.resid_post")),
                 tmp_path / "fitting")
    fitting = client.post("/api/v1/saes/import", json={"path": str(tmp_path / "fitting"),
                                                       "model_id": studio["model_id"]}).json()["data"]["id"]
    response = client.post(f"/api/v1/saes/{fitting}/analyses", json={})
    error = response.json()["error"]
    assert response.status_code == 400 and error["details"]["field"] == "tokenization_id"
    assert "imported" in error["message"]
