"""The model host process: streamed events, stop, LRU and idle unload across the pipe, a handler's error, and a
host killed mid-request (the request fails with a clear message; the next request starts a new host)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mistudio.config import Settings
from mistudio.platform.host.client import HostRequestError, HostStopped, ModelHost
from tests.support.studio import wait_until

HANDLERS = ["tests.support.host_handlers"]
MB = 1024**2


@pytest.fixture
def host_settings(settings: Settings) -> Settings:
    # A 3 MB budget and a short idle time: room for two 1 MB entries and one 1.5 MB one at most.
    return settings.model_copy(update={"host_memory_gb": 3 * MB / 1024**3, "host_idle_unload_seconds": 600})


@pytest.fixture
def host(host_settings: Settings) -> Iterator[ModelHost]:
    model_host = ModelHost(host_settings, host_modules=HANDLERS)
    yield model_host
    model_host.close()


def _start_waiting(host: ModelHost) -> tuple[str, threading.Event, dict[str, Any]]:
    started, finished, outcome = threading.Event(), threading.Event(), {}

    def done(result: Any, error: Exception | None) -> None:
        outcome.update(result=result, error=error)
        finished.set()

    request_id = host.start("test.wait", {}, what="waiting in a test", on_done=done,
                            on_event=lambda event, data: started.set() if event == "started" else None)
    assert started.wait(60), "the host never said the request started"
    outcome["finished"] = finished
    return request_id, finished, outcome


def test_events_arrive_while_the_request_runs_and_stop_ends_it(host: ModelHost) -> None:
    request_id, finished, outcome = _start_waiting(host)
    assert not finished.is_set()  # the event came before the result: it streamed
    assert host.status()["running"] == "test.wait"  # control messages are answered while a request runs
    assert host.stop(request_id)
    assert finished.wait(10) and outcome == {"result": "stopped", "error": None, "finished": finished}
    events: list[int] = []
    result = host.call("test.echo", {"events": 3, "value": 7},
                       on_event=lambda _event, data: events.append(data["index"]), what="echoing")
    assert result == {"echo": 7} and events == [0, 1, 2]


def test_least_recently_used_model_is_unloaded_when_the_budget_is_full(host: ModelHost) -> None:
    def use(key: str, size: int) -> bool:
        return host.call("test.resident", {"key": key, "size": size}, what=f"using {key}")["warm"]

    assert not use("a", MB) and not use("b", MB)
    assert use("a", MB)  # warm, and now the most recently used
    assert not use("c", int(1.5 * MB))  # 3.5 MB would not fit: b, the least recently used, goes
    assert [entry["key"] for entry in host.status()["resident"]] == ["a", "c"]
    assert host.unload() == ["a", "c"] and host.status()["resident"] == []


def test_idle_models_are_unloaded_after_the_idle_time(host_settings: Settings) -> None:
    quick = ModelHost(host_settings.model_copy(update={"host_idle_unload_seconds": 0.5}), host_modules=HANDLERS)
    try:
        quick.call("test.resident", {"key": "a", "size": MB}, what="using a")
        wait_until(lambda: quick.status()["resident"] == [], timeout=20, what="the idle entry to be unloaded")
    finally:
        quick.close()


def test_a_handler_error_keeps_its_status_code_and_message(host: ModelHost) -> None:
    with pytest.raises(HostRequestError) as caught:
        host.call("test.fail", {}, what="failing")
    assert caught.value.status_code == 400 and caught.value.code == "invalid_input"
    assert caught.value.message == "this request was wrong" and caught.value.details == {"field": "x"}
    assert host.call("test.echo", {"value": 1}, what="echoing") == {"echo": 1}  # the host survived it


def test_a_host_killed_mid_request_fails_it_clearly_and_the_next_request_starts_a_new_host(host: ModelHost) -> None:
    _request_id, finished, outcome = _start_waiting(host)
    first_pid = host.pid
    assert first_pid is not None and first_pid != os.getpid()
    os.kill(first_pid, signal.SIGKILL)
    assert finished.wait(30)
    error = outcome["error"]
    assert isinstance(error, HostStopped) and error.status_code == 503
    assert error.message == ("the model host stopped (killed by SIGKILL) while waiting in a test; the next request "
                             "starts a new one")
    assert host.call("test.echo", {"value": 2}, what="echoing") == {"echo": 2}
    assert host.starts == 2 and host.pid not in (None, first_pid)


def test_a_closed_host_process_does_not_outlive_its_client(host_settings: Settings) -> None:
    model_host = ModelHost(host_settings, host_modules=HANDLERS)
    model_host.call("test.echo", {}, what="echoing")
    pid = model_host.pid
    model_host.close()
    assert pid is not None
    wait_until(lambda: not _alive(pid), timeout=10, what="the host process to exit")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    import psutil

    return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def test_the_host_gives_its_gpu_memory_back_before_each_gpu_job_and_not_for_io_jobs(settings: Settings) -> None:
    from mistudio.platform.runtime import Runtime

    runtime = Runtime.open(settings)
    asked: list[str | None] = []
    runtime.host.unload = lambda device_prefix=None: asked.append(device_prefix) or []  # type: ignore[method-assign]
    runtime.start()
    try:
        io_job = runtime.runner.submit("test.count", {"n": 1, "delay": 0})
        gpu_job = runtime.runner.submit("test.heavy", {"n": 1, "delay": 0})
        for job in (io_job, gpu_job):
            wait_until(lambda job=job: _status(runtime, job.id) == "completed",
                       timeout=120, what=f"job {job.id} to complete")
    finally:
        runtime.close()
    assert asked == ["cuda"]


def _status(runtime: Any, job_id: str) -> str:
    from mistudio.platform.db import session_scope
    from mistudio.platform.jobs import repository

    with session_scope(runtime.sessions) as session:
        return repository.get_job(session, job_id).status
