"""A studio app (FastAPI TestClient) on a temp home whose jobs talk to the fake hub, and a job waiter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mistudio.api import create_app
from mistudio.config import Settings
from tests.support.hub_fixtures import HfEnv
from tests.support.studio import wait_until

FINISHED = ("completed", "failed", "cancelled", "interrupted")


@pytest.fixture
def models_settings(hf_env: HfEnv, settings: Settings) -> Settings:
    return settings.model_copy(update={"hf_endpoint": hf_env.url, "job_modules": []})


@pytest.fixture
def client(models_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(models_settings)) as client:
        yield client


def wait_for_job(client: TestClient, job_id: str, statuses: tuple[str, ...] = FINISHED,
                 timeout: float = 120.0) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        job = client.get(f"/api/v1/jobs/{job_id}").json()["data"]
        return job if job["status"] in statuses else None

    return wait_until(reached, timeout=timeout, interval=0.1, what=f"job {job_id} to reach {statuses}")
