"""Model host workers over the real Redis (`MISTUDIO_MODEL_HOST=workers`): the same client and host loop as the
embedded host, with requests on a queue that two real worker processes share. Streaming, stop, a second request
served by the idle worker while the other is busy, a worker killed mid-request (its request fails within the
liveness window; the next one goes to the live worker), no worker at all (a clear error naming the command), the
health endpoint naming the missing `interactive` queue, and `mistudio worker --queues interactive` starting one."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mistudio.config import Settings
from mistudio.errors import NoCapacity
from mistudio.platform.host.client import HostRequestError, ModelHost
from mistudio.platform.host.redis_link import ALIVE_TTL_S, live_hosts, redis_client
from tests.support.hub_fixtures import TinyModels
from tests.support.studio import TEST_JOB_MODULES, CeleryWorkers, studio_env, wait_until

pytestmark = [pytest.mark.redis]
HANDLERS = ["tests.support.host_handlers"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_url(redis_available: None) -> str:
    from tests.support.services import REDIS_URL

    redis_client(REDIS_URL).flushdb()
    return REDIS_URL


@pytest.fixture
def worker_settings(settings: Settings, redis_url: str) -> Settings:
    return settings.model_copy(update={"redis_url": redis_url, "model_host": "workers",
                                       "host_queue_timeout_seconds": 3.0})


class HostWorkers:
    """Real host worker processes (`serve_over_redis`) serving the test handlers; killed at the end."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings, self.log_dir, self.processes = settings, log_dir, {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        code = ("import sys; from mistudio.config import Settings; from mistudio.platform.host.child import "
                "serve_over_redis; serve_over_redis(Settings.model_validate_json(sys.argv[1]), sys.argv[2:], "
                f"host_id={name!r})")
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-c", code, self.settings.model_dump_json(), *HANDLERS],
                                   cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                   env=studio_env(self.settings.home))
        self.processes[name] = process
        client = redis_client(self.settings.redis_url or "")
        wait_until(lambda: name in live_hosts(client), timeout=60, what=f"host worker {name} to beat")
        return process

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
            process.wait(10)


@pytest.fixture
def workers(worker_settings: Settings, tmp_path: Path) -> Iterator[HostWorkers]:
    pool = HostWorkers(worker_settings, tmp_path)
    yield pool
    pool.stop()


@pytest.fixture
def host(worker_settings: Settings) -> Iterator[ModelHost]:
    client = ModelHost(worker_settings)
    yield client
    client.close()


def _start(host: ModelHost, handler: str, payload: dict[str, Any]) -> tuple[str, threading.Event, dict[str, Any]]:
    started, finished, outcome = threading.Event(), threading.Event(), {}

    def done(result: Any, error: Exception | None) -> None:
        outcome.update(result=result, error=error)
        finished.set()

    request_id = host.start(handler, payload, what=f"running {handler} in a test", on_done=done,
                            on_event=lambda event, data: started.set() if event == "started" else None)
    outcome["started"] = started
    return request_id, finished, outcome


def test_requests_stream_stop_and_go_to_the_idle_worker(host: ModelHost, workers: HostWorkers) -> None:
    workers.start("node-a")
    workers.start("node-b")
    request_id, finished, outcome = _start(host, "test.wait", {})
    assert outcome["started"].wait(30), "no worker started the waiting request"
    # One worker is busy until stopped: the next requests are answered by the other, with their events in order.
    events: list[int] = []
    assert host.call("test.echo", {"events": 3, "value": 7}, what="echoing", timeout=30,
                     on_event=lambda _event, data: events.append(data["index"])) == {"echo": 7}
    assert events == [0, 1, 2] and not finished.is_set()
    status = host.status()
    assert status["mode"] == "workers"
    assert sorted(worker["host_id"] for worker in status["workers"]) == ["node-a", "node-b"]
    assert host.stop(request_id)
    assert finished.wait(10) and outcome["result"] == "stopped" and outcome["error"] is None
    # Unloading reaches every worker (or only those of one node): the entry is gone from whichever held it.
    assert host.call("test.resident", {"key": "m1", "size": 1000}, what="loading", timeout=30) == {"warm": False}
    assert host.unload("cpu", node="another-node") == []
    assert host.unload("cpu", node=socket.gethostname()) == ["m1"]
    assert host.unload() == []


def test_a_gpu_job_makes_the_host_workers_of_its_node_give_cuda_memory_back(
        host: ModelHost, workers: HostWorkers, worker_settings: Settings, postgres_url: str, tmp_path: Path) -> None:
    """The embedded rule (before a GPU job the host unloads its CUDA models), kept by a Celery gpu worker for the
    host workers of its node; an io job leaves them warm."""
    from mistudio.platform.runtime import Runtime

    workers.start("node-a")
    home = tmp_path / "studio"
    celery = CeleryWorkers(home, tmp_path / "celery.log", MISTUDIO_REDIS_URL=worker_settings.redis_url or "",
                           MISTUDIO_DATABASE_URL=postgres_url, MISTUDIO_MODEL_HOST="workers").start()
    runtime = None
    try:
        runtime = Runtime.open(Settings(home=home, job_modules=json.loads(TEST_JOB_MODULES),
                                        database_url=postgres_url, redis_url=worker_settings.redis_url))
        for key, device in (("on-gpu", "cuda:0"), ("on-cpu", "cpu")):
            host.call("test.resident", {"key": key, "size": 1000, "device": device}, what="loading", timeout=30)

        def resident() -> list[str]:
            return [entry["key"] for worker in host.status()["workers"] for entry in worker["resident"]]

        for kind, left in (("test.count", ["on-gpu", "on-cpu"]), ("test.heavy", ["on-cpu"])):
            job = runtime.runner.submit(kind, {"n": 1, "delay": 0})
            wait_until(lambda job=job: _status(runtime, job.id) == "completed", timeout=120,
                       what=f"{kind} to complete")
            # the workers' status is their heartbeat, a second old at most
            wait_until(lambda left=left: sorted(resident()) == sorted(left), timeout=5, what=f"{left} after {kind}")
    finally:
        try:
            if runtime is not None:
                runtime.close()
        finally:
            celery.stop()  # left running, it would take the jobs of later tests in this process


def _status(runtime: Any, job_id: str) -> str:
    from mistudio.platform.db import session_scope
    from mistudio.platform.jobs import repository

    with session_scope(runtime.sessions) as session:
        return repository.get_job(session, job_id).status


def test_a_handler_error_keeps_its_status_and_a_killed_worker_fails_its_request(host: ModelHost,
                                                                                workers: HostWorkers) -> None:
    workers.start("node-a")
    with pytest.raises(HostRequestError) as failed:
        host.call("test.fail", {}, what="failing", timeout=30)
    assert failed.value.status_code == 400 and failed.value.details == {"field": "x"}
    workers.start("node-b")
    kept_id, kept_finished, kept = _start(host, "test.wait", {})  # one request on each worker
    assert kept["started"].wait(30)
    request_id, finished, outcome = _start(host, "test.wait", {})
    assert outcome["started"].wait(30)
    holder = host._child.connection.accepted[request_id]  # noqa: SLF001  (the test picks the worker to kill)
    killed_at = time.monotonic()
    workers.processes[holder].send_signal(signal.SIGKILL)
    assert finished.wait(ALIVE_TTL_S + 5), "the request of a killed worker never failed"
    print(f"a killed host worker's request failed after {time.monotonic() - killed_at:.1f} s")
    error = outcome["error"]
    assert error is not None and error.code == "host_stopped" and holder in error.message, error
    assert not kept_finished.is_set()  # the other worker's request runs on
    assert host.stop(kept_id) and kept_finished.wait(10) and kept["result"] == "stopped"
    assert host.call("test.echo", {"value": 1}, what="echoing after the kill", timeout=30) == {"echo": 1}


def test_no_worker_is_a_clear_error_and_health_names_the_queue(host: ModelHost, worker_settings: Settings) -> None:
    started = time.monotonic()
    with pytest.raises(HostRequestError) as failed:
        host.call("test.echo", {}, what="echoing with no worker", timeout=30)
    assert failed.value.code == "no_capacity"
    assert "mistudio worker --queues interactive" in failed.value.message
    assert time.monotonic() - started < worker_settings.host_queue_timeout_seconds + 3
    assert redis_client(worker_settings.redis_url or "").llen("mistudio:host:requests") == 0  # nothing left queued

    from fastapi.testclient import TestClient

    from mistudio.api import create_app

    with TestClient(create_app(worker_settings)) as client:
        report = client.get("/api/v1/health").json()["data"]
    assert "interactive" in report["runner"]["missing_queues"]
    assert "mistudio worker --queues interactive" in report["runner"]["detail"]


def test_mistudio_worker_serves_real_generation_and_restarts_its_host_worker(
        worker_settings: Settings, tmp_path: Path, tiny_models: TinyModels) -> None:
    """`mistudio worker --queues interactive` runs the domains' handlers: a real generation with a tiny llama gives
    the text the embedded host gives for the same seed; a killed host worker is started again."""
    spec = {"model_id": "tiny", "name": "tiny-llama", "folder": str(tiny_models("llama")), "format": "fp32",
            "device": "cpu", "trust_remote_code": False, "fallback": False, "load_timeout_seconds": 120}
    payload = {"model": spec, "prompt": "the king", "use_chat_template": False, "max_new_tokens": 6,
               "temperature": 0.9, "top_p": 0.95, "seed": 11}
    local = ModelHost(worker_settings.model_copy(update={"model_host": "local"}))
    try:
        expected = local.call("models.generate", payload, what="generating locally", timeout=120)
    finally:
        local.close()
    env = studio_env(tmp_path / "home", MISTUDIO_REDIS_URL=worker_settings.redis_url or "")
    command = subprocess.Popen([sys.executable, "-m", "mistudio", "worker", "--queues", "interactive"], env=env,
                               stdout=(tmp_path / "worker.log").open("wb"), stderr=subprocess.STDOUT, cwd=REPO)
    client = redis_client(worker_settings.redis_url or "")
    try:
        first = wait_until(lambda: live_hosts(client), timeout=90, what="a host worker from `mistudio worker`")
        (pid,) = [worker["pid"] for worker in first.values()]
        remote = ModelHost(worker_settings.model_copy(update={"host_queue_timeout_seconds": 60}))
        tokens: list[str] = []
        try:
            result = remote.call("models.generate", payload, what="generating on a host worker", timeout=120,
                                 on_event=lambda _event, data: tokens.append(data["text"]))
        finally:
            remote.close()
        assert result["text"] == expected["text"] and "".join(tokens) == expected["text"]
        assert result["tokens"] == expected["tokens"] == 6
        os.kill(pid, signal.SIGKILL)
        again = wait_until(lambda: [w for w in live_hosts(client).values() if w["pid"] != pid], timeout=90,
                           what="the host worker to be started again")
        assert again[0]["pid"] != pid
    finally:
        command.send_signal(signal.SIGTERM)
        command.wait(30)
    assert wait_until(lambda: not live_hosts(client), timeout=10, what="the host worker to leave on SIGTERM")


def test_an_unreachable_redis_fails_the_request_at_once_and_keeps_nothing_pending(settings: Settings) -> None:
    """Redis down when a request is sent: the caller gets a clear error now (not after the queue timeout), and the
    client keeps no entry for an answer that will never come."""
    unreachable = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0", "model_host": "workers",
                                              "host_queue_timeout_seconds": 20.0})
    host = ModelHost(unreachable)
    try:
        started = time.monotonic()
        with pytest.raises(NoCapacity) as failed:
            host.call("test.echo", {}, what="echoing with Redis down", timeout=30)
        assert time.monotonic() - started < 10
        assert failed.value.code == "no_capacity" and "MISTUDIO_REDIS_URL" in failed.value.message
        child = host._child
        assert child is not None and child.pending == {} and child.connection.queued == {}
    finally:
        host.close()
