"""Scaled mode through restarts of its services: a Redis and a PostgreSQL of the test's own (killed and started
again at will), a real server and a real `mistudio worker`.

- Redis restarted mid-job: the running job finishes, live events come back on the same WebSocket (after a
  `resync`), and a job whose queued message the restart lost is sent again and runs.
- PostgreSQL restarted mid-job: a short outage costs nothing (writes are retried, no lease is judged lost);
  a long one stops the job (it cannot record anything), and once the database is back the job is interrupted and
  resumes by itself from its last checkpoint, nothing stored lost.
- The server SIGKILLed mid-job and started again: the job runs on in its worker, and the new server reports it.
Each test prints the recovery times it measured (`-s` shows them; the README's cluster table quotes them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from mistudio.config import Settings
from mistudio.platform.runtime import Runtime
from tests.support.studio import CeleryWorkers, StudioServer, wait_until
from tests.support.throwaway_services import ThrowawayPostgres, ThrowawayRedis, seconds_since, throwaway_unavailable

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]
RETRY_SECONDS = 6  # MISTUDIO_DATABASE_RETRY_SECONDS of this cluster (the lease is studio_env's TEST_LEASE_SECONDS)


@dataclass
class Cluster:
    redis: ThrowawayRedis
    postgres: ThrowawayPostgres
    server: StudioServer
    workers: CeleryWorkers
    submitter: Runtime
    home: Path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = throwaway_unavailable()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("restarts")
    home = folder / "home"
    home.mkdir()
    redis, postgres = ThrowawayRedis(folder).start(), ThrowawayPostgres().init()
    env = {"MISTUDIO_REDIS_URL": redis.url, "MISTUDIO_DATABASE_URL": postgres.url,
           "MISTUDIO_DATABASE_RETRY_SECONDS": str(RETRY_SECONDS)}
    workers = server = submitter = None
    try:
        workers = CeleryWorkers(home, folder / "workers.log", **env).start()
        server = StudioServer(home, folder / "server.log", **env).start()
        submitter = Runtime.open(Settings(home=home, job_modules=["tests.support.job_kinds"],
                                          database_url=postgres.url, redis_url=redis.url))
        yield Cluster(redis, postgres, server, workers, submitter, home)
    finally:
        for part in (submitter, server, workers):
            if part is not None:
                part.close() if isinstance(part, Runtime) else part.stop()
        redis.kill()
        postgres.destroy()


def _subscribe(socket: ClientConnection, channels: list[str]) -> None:
    socket.send(json.dumps({"type": "subscribe", "channels": channels}))
    assert json.loads(socket.recv(timeout=5))["event"] == "subscribed"


def _next_message(socket: ClientConnection, deadline: float) -> dict[str, Any]:
    return json.loads(socket.recv(timeout=max(deadline - time.monotonic(), 0.1)))


def _job_update(message: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    if message["event"] == "job.updated" and message["data"]["id"] == job_id:
        return message["data"]
    return None


def test_redis_restarted_mid_job_the_job_finishes_and_live_events_come_back(cluster: Cluster) -> None:
    server, runner = cluster.server, cluster.submitter.runner
    with connect(server.ws_url, open_timeout=5) as socket:
        _subscribe(socket, ["jobs"])
        running = runner.submit("test.resumable", {"path": str(cluster.home / "redis.count"), "n": 60, "delay": 0.1})
        # The gpu queue runs one job at a time: this one waits in Redis, where the restart loses its message.
        waiting = runner.submit("test.heavy", {"n": 3, "delay": 0.05})
        deadline = time.monotonic() + 30
        while not ((update := _job_update(_next_message(socket, deadline), running.id)) and update["progress"] > .15):
            pass

        cluster.redis.kill()
        down = time.monotonic()
        time.sleep(1.0)  # the outage itself
        cluster.redis.start()
        up = time.monotonic()

        resynced = first_event = None
        deadline = up + 40
        while True:
            message = _next_message(socket, deadline)
            if message["channel"] == "system" and message["event"] == "resync":
                resynced = resynced or seconds_since(up)
            if (update := _job_update(message, running.id)) is not None:
                first_event = first_event or seconds_since(up)
                if update["status"] != "running":
                    break
    assert update["status"] == "completed" and update["attempt"] == 1, update  # it ran on, not again
    assert update["result"] == {"count": 60, "started_at": 0}
    assert resynced is not None, "the server never told the live client to resync after Redis came back"
    assert first_event is not None and first_event < 10

    done = server.wait_for_job(waiting.id, ("completed", "failed", "interrupted"), timeout=30)
    assert done["status"] == "completed", done
    redelivered = seconds_since(up)
    health = wait_until(lambda: (r := server.client.get("/api/v1/health").json()["data"]["runner"])["ok"] and r,
                        timeout=30, interval=0.5, what="the workers to answer the health check again")
    workers_back = seconds_since(up)
    assert health["missing_queues"] == []
    print(f"\n[recovery] Redis restart (down {up - down:.1f}s): live events back after {first_event}s "
          f"(resync sent after {resynced}s); the lost queued job ran {redelivered}s after the restart; "
          f"workers answer health {workers_back}s after it; the running job completed on its first attempt")


def _job_pid(cluster: Cluster, job_id: str) -> int:
    from mistudio.platform.db import session_scope
    from mistudio.platform.jobs.table import Job

    with session_scope(cluster.submitter.sessions) as session:
        return wait_until(lambda: session.get(Job, job_id, populate_existing=True).pid, timeout=10,
                          what="the job's process id")


def _part_way(cluster: Cluster, count_file: str, steps: int, delay: float) -> tuple[str, Path]:
    """A resumable job (`steps` of `delay` seconds, each saved to its count file), a tenth of its work done."""
    path = cluster.home / count_file
    job = cluster.submitter.runner.submit("test.resumable", {"path": str(path), "n": steps, "delay": delay})
    wait_until(lambda: cluster.server.job(job.id)["progress"] > 0.1, timeout=60, interval=0.1,
               what="the job to be part-way")
    return job.id, path


def test_postgres_restarted_mid_job_a_short_outage_costs_nothing(cluster: Cluster) -> None:
    server = cluster.server
    job_id, path = _part_way(cluster, "pg-short.count", 60, 0.1)
    cluster.postgres.stop("fast")  # a clean restart: every open connection is closed under the job
    down = time.monotonic()
    done_before = int(path.read_text())
    time.sleep(2.0)  # the outage itself: shorter than the retry window, longer than a lease beat
    outage_answer = server.client.get(f"/api/v1/jobs/{job_id}")
    cluster.postgres.start()
    up = time.monotonic()
    assert int(path.read_text()) > done_before, "the job stopped working while the database was away"

    wait_until(lambda: server.job(job_id)["progress"] > done_before / 60 + 0.05, timeout=20, interval=0.1,
               what="the job's progress to be recorded again")
    progress_back = seconds_since(up)
    final = server.wait_for_job(job_id, ("completed", "failed", "interrupted"), timeout=40)
    assert final["status"] == "completed" and final["attempt"] == 1, final  # no interruption, no second run
    assert final["result"] == {"count": 60, "started_at": 0}
    assert outage_answer.status_code == 503, outage_answer.text
    assert "database" in outage_answer.json()["error"]["message"]
    print(f"\n[recovery] PostgreSQL restart (down {up - down:.1f}s): the job worked on through it, its progress "
          f"was recorded again {progress_back}s after the restart and it completed on its first attempt")


def test_postgres_down_longer_than_the_retry_window_stops_the_job_and_it_resumes_after(cluster: Cluster) -> None:
    import psutil

    server = cluster.server
    # 15 s of work: more than the retry window, so the outage catches it mid-way
    job_id, path = _part_way(cluster, "pg-long.count", 300, 0.05)
    pid = _job_pid(cluster, job_id)
    cluster.postgres.stop("immediate")  # a crash
    down = time.monotonic()
    wait_until(lambda: not psutil.pid_exists(pid), timeout=RETRY_SECONDS + 15, interval=0.2,
               what="the job's process to stop once the retry window is spent")
    stopped_after = seconds_since(down)
    assert stopped_after >= RETRY_SECONDS - 1  # it rode out the first seconds
    stored = int(path.read_text())
    assert 0 < stored < 300
    cluster.postgres.start()
    up = time.monotonic()

    interrupted = server.wait_for_job(job_id, ("interrupted", "failed", "completed"), timeout=30)
    assert interrupted["status"] == "interrupted", interrupted
    assert "resumes by itself" in interrupted["message"]
    marked = seconds_since(up)
    resumed = wait_until(lambda: next((job for job in server.client.get("/api/v1/jobs").json()["data"]
                                       if job.get("resumed_from") == job_id), None), timeout=15,
                         what="the automatic resumption")
    final = server.wait_for_job(resumed["id"], ("completed", "failed", "interrupted"), timeout=40)
    assert final["status"] == "completed" and final["attempt"] == 2, final
    assert final["result"] == {"count": 300, "started_at": stored}  # from its checkpoint: nothing stored was lost
    print(f"\n[recovery] PostgreSQL down {up - down:.1f}s (retry window {RETRY_SECONDS}s): the job stopped "
          f"{stopped_after}s into the outage with {stored}/300 steps stored; marked interrupted {marked}s after the "
          f"database came back, resumed from step {stored} and completed {seconds_since(up)}s after it")


def test_the_server_killed_mid_job_the_job_runs_on_and_the_new_server_reports_it(cluster: Cluster) -> None:
    """Scaled mode: the workers run the jobs, so a server crash must cost them nothing, and the server that starts
    again must neither interrupt them (their leases are renewed by the workers) nor lose their live events."""
    server = cluster.server
    # 20 s of work: longer than a server start on a loaded machine, so it is still running when the server is back
    job_id, path = _part_way(cluster, "server-kill.count", 400, 0.05)
    server.stop(kill=True)
    down = time.monotonic()
    done_before = int(path.read_text())
    time.sleep(1.0)
    assert int(path.read_text()) > done_before, "the job stopped working when the server died"
    server.start()
    up = time.monotonic()

    seen = server.job(job_id)
    assert seen["status"] == "running" and seen["attempt"] == 1, seen  # not judged lost by the new server
    with connect(server.ws_url, open_timeout=5) as socket:
        _subscribe(socket, ["jobs"])
        deadline = time.monotonic() + 30
        while _job_update(_next_message(socket, deadline), job_id) is None:
            pass
        first_event = seconds_since(up)
    final = server.wait_for_job(job_id, ("completed", "failed", "interrupted"), timeout=40)
    assert final["status"] == "completed" and final["attempt"] == 1, final
    assert final["result"] == {"count": 400, "started_at": 0}
    print(f"\n[recovery] server SIGKILLed and started again ({up - down:.1f}s down): the job ran on, the new "
          f"server showed it running on its first attempt and its live events reached a new socket {first_event}s "
          f"after the server answered; it completed without a second attempt")
