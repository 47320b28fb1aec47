"""`mistudio worker` keeps its Celery workers alive, and the health endpoint names a queue nobody serves."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from mistudio.config import Settings
from mistudio.platform.jobs import worker_pool
from mistudio.platform.jobs.worker_pool import WorkerPool
from tests.support.studio import StudioServer, run_mistudio_in_background, studio_env, wait_until


def test_a_worker_that_dies_is_started_again_with_backoff_and_stop_ends_all(monkeypatch, tmp_path: Path,
                                                                           caplog) -> None:
    monkeypatch.setattr(worker_pool, "FIRST_BACKOFF_S", 0.2)
    monkeypatch.setattr(worker_pool, "POLL_S", 0.05)
    starts = tmp_path / "starts"
    # dies at once (exit 3) the first two times, then stays up
    crashing = [sys.executable, "-c", "import pathlib, sys, time; p = pathlib.Path(sys.argv[1]); "
                "n = len(p.read_text()) if p.exists() else 0; p.write_text('x' * (n + 1)); "
                "sys.exit(3) if n < 2 else time.sleep(60)", str(starts)]
    steady = [sys.executable, "-c", "import time; time.sleep(60)"]
    pool = WorkerPool({"gpu": crashing, "io": steady})
    caplog.set_level(logging.WARNING, logger=worker_pool.__name__)
    import threading

    runner = threading.Thread(target=lambda: setattr(pool, "code", pool.run()))
    started = time.monotonic()
    runner.start()
    wait_until(lambda: starts.exists() and len(starts.read_text()) == 3, timeout=10, what="two restarts")
    assert time.monotonic() - started >= 0.2 + 0.4  # the backoff doubled between the two deaths
    assert "the gpu worker" in caplog.text and "exited with code 3" in caplog.text and "restart 2" in caplog.text
    pool.stop(signal.SIGTERM)
    runner.join(10)
    assert not runner.is_alive() and pool.code == -signal.SIGTERM  # type: ignore[attr-defined]
    time.sleep(0.5)
    assert len(starts.read_text()) == 3  # nothing restarted after stop


@pytest.mark.redis
@pytest.mark.postgres
def test_health_names_the_queue_without_worker_and_a_killed_worker_comes_back(redis_available, postgres_url,
                                                                             studio_home: Path, tmp_path: Path) -> None:
    import redis

    from tests.support.services import REDIS_URL

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {"MISTUDIO_REDIS_URL": REDIS_URL, "MISTUDIO_DATABASE_URL": postgres_url}
    log_path = tmp_path / "worker.log"
    worker = run_mistudio_in_background("worker", env=studio_env(studio_home, **env), log_path=log_path,
                                        args=("--queues", "io"))
    server = StudioServer(studio_home, tmp_path / "server.log", **env)
    try:  # the worker is stopped even if the server fails to start: left running, it would take later tests' jobs
        server.start()
        def runner() -> dict:
            return server.client.get("/api/v1/health").json()["data"]["runner"]

        health = wait_until(lambda: (r := runner())["detail"].startswith("1 worker") and r, timeout=60,
                            interval=0.5, what="the io worker to answer")
        assert health["ok"] is False and health["missing_queues"] == ["gpu"]
        assert "mistudio worker --queues gpu" in health["detail"]

        celery = [child for child in psutil.Process(worker.pid).children() if "celery" in " ".join(child.cmdline())]
        assert len(celery) == 1
        os.kill(celery[0].pid, signal.SIGKILL)
        wait_until(lambda: "died: killed by SIGKILL" in log_path.read_text(errors="replace"),
                   timeout=10, what="the death to be logged")
        wait_until(lambda: any(child.pid != celery[0].pid for child in psutil.Process(worker.pid).children()),
                   timeout=15, what="a new worker process")
        wait_until(lambda: runner()["detail"].startswith("1 worker"), timeout=60, interval=0.5,
                   what="the restarted worker to answer")

        # A job sent by a studio on another database (sharing this Redis database) is named, not silently dropped.
        from mistudio.platform.jobs.celery_app import RUN_JOB_TASK, make_celery

        make_celery(Settings(home=studio_home, redis_url=REDIS_URL)).send_task(
            RUN_JOB_TASK, args=["job-of-another-studio"], queue="io", task_id="job-of-another-studio")
        wait_until(lambda: "job job-of-another-studio is not in this worker's database" in log_path.read_text(
            errors="replace"), timeout=30, what="the worker to name the job it does not know")
    finally:
        server.stop()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
