"""Scaled mode with two worker nodes (two `mistudio worker` groups, real PostgreSQL and Redis): a worker SIGKILLed
mid-extraction is noticed by its lapsed lease, the extraction is queued again by itself and the other worker
finishes it from its last checkpoint — with activations byte-identical to an uninterrupted run's."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support.hub_fixtures import TinyModels
from tests.support.studio import CeleryWorkers, StudioServer, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
LINES = [f"Line {i}: the {'king' if i % 3 else 'queen'} walks by the river at night, singing of {i % 17} stars."
         for i in range(1500)]


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 202), response.text
    return response.json()["data"]


def _done(server: StudioServer, job_id: str, timeout: float = 120) -> dict[str, Any]:
    return server.wait_for_job(job_id, ("completed", "failed", "cancelled", "interrupted"), timeout=timeout)


def _digest(folder: Path) -> dict[str, str]:
    """Every activation file's hash (metadata and timings differ between runs by nature; the values must not)."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*.npy"))}


def test_a_killed_worker_is_replaced_and_the_extraction_ends_byte_identical(
        redis_available: None, postgres_url: str, studio_home: Path, tmp_path: Path, tiny_models: TinyModels) -> None:
    import redis

    from tests.support.services import REDIS_URL

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {"MISTUDIO_REDIS_URL": REDIS_URL, "MISTUDIO_DATABASE_URL": postgres_url}
    nodes = [CeleryWorkers(studio_home, tmp_path / f"node{index}.log", **env) for index in range(2)]
    server = StudioServer(studio_home, tmp_path / "server.log", **env)
    try:  # everything started is stopped, whatever fails to start
        for part in (*nodes, server):
            part.start()
        client = server.client
        (tmp_path / "docs.txt").write_text("\n".join(LINES))
        model = _ok(client.post("/api/v1/models/import", json={"path": str(tiny_models("llama")), "mode": "link"}))
        assert _done(server, model["job_id"])["status"] == "completed"
        dataset = _ok(client.post("/api/v1/datasets/import", json={"path": str(tmp_path / "docs.txt")}))
        assert _done(server, dataset["job_id"])["status"] == "completed"
        tokenization = _ok(client.post(f"/api/v1/datasets/{dataset['id']}/tokenize",
                                       json={"model_id": model["id"], "max_length": 24}))
        assert _done(server, tokenization["job_id"])["status"] == "completed"
        body = {"dataset_id": dataset["id"], "tokenization_id": tokenization["id"], "layers": [0, 1],
                "hook_points": ["resid_post", "mlp_out"], "batch_size": 2}

        reference = _ok(client.post(f"/api/v1/models/{model['id']}/extract", json=body))
        assert _done(server, reference["job_id"])["status"] == "completed"

        cut = _ok(client.post(f"/api/v1/models/{model['id']}/extract", json=body))
        job = wait_until(lambda: (j := server.job(cut["job_id"]))["progress"] > 0.1 and j, timeout=60,
                         what="the extraction to be part-way")
        supervisor = job["id"] and _supervisor_pid(server, cut["job_id"])
        victim = next(node for node in nodes if _owns(node, supervisor))
        os.killpg(victim.process.pid, signal.SIGKILL)  # the whole node: its workers and the job's process
        killed = time.monotonic()
        interrupted = server.wait_for_job(cut["job_id"], ("interrupted",), timeout=30)
        noticed = time.monotonic() - killed
        assert "lease lapsed" in interrupted["message"]
        resumed = wait_until(lambda: _resumption(server, cut["job_id"]), timeout=15, what="the resumption")
        wait_until(lambda: server.job(resumed["id"])["status"] != "queued", timeout=60, what="the other node to start")
        restarted = time.monotonic() - killed
        final = _done(server, resumed["id"], timeout=180)
        print(f"\n[recovery] node SIGKILLed mid-extraction: interrupted after {noticed:.1f}s, running again on the "
              f"other node after {restarted:.1f}s, completed {time.monotonic() - killed:.1f}s after the kill")
        assert final["status"] == "completed", final
        assert final["attempt"] == 2 and final["resumed_from"] == cut["job_id"]
        assert any("resuming" in entry["text"] for entry in final["log"]), final["log"]
        row = _ok(client.get(f"/api/v1/extractions/{cut['id']}"))
        assert row["status"] == "completed" and row["job_id"] == resumed["id"]
        folder = studio_home / "activations"
        assert _digest(folder / cut["id"]) == _digest(folder / reference["id"]) != {}
    finally:
        server.stop()
        for node in nodes:
            node.stop()


def _supervisor_pid(server: StudioServer, job_id: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(server.env["MISTUDIO_DATABASE_URL"])
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT supervisor_pid FROM jobs WHERE id = :id"), {"id": job_id}).scalar())


def _owns(node: CeleryWorkers, pid: int) -> bool:
    assert node.process is not None
    return any(child.pid == pid for child in psutil.Process(node.process.pid).children(recursive=True))


def _resumption(server: StudioServer, job_id: str) -> dict[str, Any] | None:
    jobs = server.client.get("/api/v1/jobs", params={"limit": 50}).json()["data"]
    return next((job for job in jobs if job.get("resumed_from") == job_id), None)
