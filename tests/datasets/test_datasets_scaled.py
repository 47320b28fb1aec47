"""Dataset jobs on both runners: the embedded one, and Celery workers on PostgreSQL + Redis (real services)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.hub_fixtures import TinyModels
from tests.support.studio import StudioServer

API = "/api/v1/datasets"


def test_upload_then_tokenize_runs_on_either_runner(studio: StudioServer, tiny_models: TinyModels) -> None:
    rows = "".join(json.dumps({"text": f"row {i} about the sea and the sky"}) + "\n" for i in range(25))
    response = studio.client.post(f"{API}/upload", files=[("files", ("rows.jsonl", rows.encode()))])
    assert response.status_code == 202, response.text
    dataset = response.json()["data"]
    assert studio.wait_for_job(dataset["job_id"], ("completed", "failed"), timeout=120)["status"] == "completed"

    model = studio.client.post("/api/v1/models/import", json={"path": str(tiny_models("llama")), "mode": "link"})
    assert studio.wait_for_job(model.json()["data"]["job_id"], ("completed", "failed"), timeout=120)["status"] == \
        "completed"
    tokenize = studio.client.post(f"{API}/{dataset['id']}/tokenize",
                                  json={"model_id": model.json()["data"]["id"], "max_length": 8})
    assert tokenize.status_code == 202, tokenize.text
    job = studio.wait_for_job(tokenize.json()["data"]["job_id"], ("completed", "failed"), timeout=120)
    assert job["status"] == "completed", job
    shown = studio.client.get(f"{API}/{dataset['id']}").json()["data"]
    assert (shown["status"], shown["ready"], shown["num_rows"]) == ("completed", True, 25)
    tokenization = shown["tokenizations"][0]
    assert (tokenization["status"], tokenization["ready"], tokenization["num_sequences"]) == ("completed", True, 25)
    assert Path(studio.home, "datasets", dataset["id"], "tokenizations", tokenize.json()["data"]["id"],
                "tokens.npy").is_file()
