"""Helpers for the models API tests (the `client` fixture comes from tests/support/api_fixtures.py)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.api_fixtures import wait_for_job


def download(client: TestClient, repo_id: str, **body: Any) -> dict[str, Any]:
    """Download `repo_id` and wait for the job; returns the model as the API shows it afterwards."""
    response = client.post("/api/v1/models/download", json={"repo_id": repo_id, **body})
    assert response.status_code == 202, response.text
    accepted = response.json()["data"]
    job = wait_for_job(client, accepted["job_id"])
    assert job["status"] == "completed", job
    return client.get(f"/api/v1/models/{accepted['id']}").json()["data"]
