"""Job behaviour on a live server, for the embedded runner and for Celery workers (same tests)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from websockets.sync.client import connect

from mistudio.platform.runtime import Runtime
from tests.support.studio import TEST_LEASE_SECONDS, StudioServer, wait_until


@pytest.fixture(scope="module")
def studio(module_studio: StudioServer) -> StudioServer:
    """One studio per mode for this module: every test's jobs end before it does, and the tests that kill a
    supervisor start it again."""
    return module_studio


def collect_job_events(studio: StudioServer, submit, until_status=("completed", "failed", "cancelled")):
    """Subscribe to `jobs` over the WebSocket, then submit; return the job.updated events of that job."""
    with connect(studio.ws_url, open_timeout=5) as socket:
        socket.send(json.dumps({"type": "subscribe", "channels": ["jobs"]}))
        ack = json.loads(socket.recv(timeout=5))
        assert ack == {"channel": "system", "event": "subscribed", "data": {"channels": ["jobs"]}}
        job = submit()
        events = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = json.loads(socket.recv(timeout=30))
            if message["event"] == "job.updated" and message["data"]["id"] == job.id:
                events.append(message["data"])
                if message["data"]["status"] in until_status:
                    return job, events
    raise AssertionError(f"job {job.id} did not finish; events: {events}")


def test_progress_events_arrive_over_the_websocket(studio: StudioServer, submitter: Runtime) -> None:
    job, events = collect_job_events(studio, lambda: submitter.runner.submit("test.count", {"n": 20, "delay": 0.1}))
    statuses = [event["status"] for event in events]
    assert statuses[0] in ("queued", "running") and statuses[-1] == "completed"
    progress = [event["progress"] for event in events if event["status"] == "running"]
    assert progress == sorted(progress) and len([p for p in progress if 0 < p < 1]) >= 2
    assert events[-1]["result"] == {"count": 20} and events[-1]["progress"] == 1.0
    assert studio.job(job.id)["status"] == "completed"


def test_progress_writes_are_throttled_to_two_per_second(studio: StudioServer, submitter: Runtime) -> None:
    started = time.monotonic()
    job, events = collect_job_events(studio, lambda: submitter.runner.submit("test.count", {"n": 400, "delay": 0.005}))
    elapsed = time.monotonic() - started
    progress_updates = [e for e in events if e["status"] == "running" and e["message"] != "starting"]
    # 400 progress calls in ~2-4 s must become about two row writes a second (+1 final flush).
    assert len(progress_updates) <= 2 * elapsed + 2, (len(progress_updates), elapsed)
    assert events[-1]["status"] == "completed"


def test_cancel_finishes_within_two_seconds(studio: StudioServer, submitter: Runtime) -> None:
    job = submitter.runner.submit("test.count", {"n": 2000, "delay": 0.05})
    studio.wait_for_job(job.id, ("running",))
    wait_until(lambda: studio.job(job.id)["progress"] > 0, what="first progress")
    asked = time.monotonic()
    response = studio.client.post(f"/api/v1/jobs/{job.id}/cancel")
    assert response.status_code == 200 and response.json()["data"]["cancel_requested"] is True
    final = studio.wait_for_job(job.id, ("cancelled", "failed", "completed"), timeout=10)
    assert final["status"] == "cancelled"
    assert time.monotonic() - asked < 2.0
    assert final["result"]["stopped_at"] < 2000


def test_cancelling_a_queued_job_cancels_it_at_once(studio: StudioServer, submitter: Runtime) -> None:
    first = submitter.runner.submit("test.heavy", {"n": 200, "delay": 0.05})
    second = submitter.runner.submit("test.heavy", {"n": 5, "delay": 0.01})
    studio.wait_for_job(first.id, ("running",))
    assert studio.job(second.id)["status"] == "queued"  # gpu jobs run one at a time
    cancelled = studio.client.post(f"/api/v1/jobs/{second.id}/cancel").json()["data"]
    assert cancelled["status"] == "cancelled" and cancelled["message"] == "cancelled before it started"
    studio.client.post(f"/api/v1/jobs/{first.id}/cancel")
    studio.wait_for_job(first.id, ("cancelled",))
    time.sleep(1.0)  # give a (wrong) runner the chance to start the cancelled job anyway
    assert studio.job(second.id)["started_at"] is None


def test_gpu_jobs_run_one_at_a_time_and_io_jobs_alongside(studio: StudioServer, submitter: Runtime) -> None:
    heavy = [submitter.runner.submit("test.heavy", {"n": 8, "delay": 0.05}) for _ in range(2)]
    light = submitter.runner.submit("test.count", {"n": 8, "delay": 0.05})
    done = [studio.wait_for_job(job.id, ("completed",)) for job in [*heavy, light]]
    first, second, io = done
    assert second["started_at"] >= first["finished_at"]  # no overlap on the gpu queue
    assert io["started_at"] < first["finished_at"] or io["started_at"] < second["finished_at"]


def test_a_job_that_raises_is_failed_with_its_message(studio: StudioServer, submitter: Runtime) -> None:
    job = submitter.runner.submit("test.fail", {"message": "the layer index 99 is out of range"})
    final = studio.wait_for_job(job.id, ("failed", "completed"))
    assert final["status"] == "failed"
    assert final["error"] == "RuntimeError: the layer index 99 is out of range"
    assert final["finished_at"] is not None


def test_sigkilled_job_process_is_failed_and_server_unaffected(studio: StudioServer, submitter: Runtime) -> None:
    job = submitter.runner.submit("test.count", {"n": 2000, "delay": 0.05})
    running = studio.wait_for_job(job.id, ("running",))
    pid = wait_until(lambda: submitter_job_pid(submitter, job.id), what="job pid")
    os.kill(pid, signal.SIGKILL)
    final = studio.wait_for_job(job.id, ("failed", "cancelled", "completed"), timeout=15)
    assert final["status"] == "failed"
    assert "SIGKILL" in final["error"] and "memory" in final["error"]
    assert running["status"] == "running"
    assert studio.client.get("/api/v1/health").json()["data"]["database"]["ok"] is True
    after = submitter.runner.submit("test.count", {"n": 3, "delay": 0.01})
    assert studio.wait_for_job(after.id, ("completed", "failed"))["status"] == "completed"


def test_a_job_ignoring_cancel_is_killed_after_the_grace_period(studio: StudioServer, submitter: Runtime) -> None:
    job = submitter.runner.submit("test.stubborn", {"seconds": 120})
    studio.wait_for_job(job.id, ("running",))
    wait_until(lambda: submitter_job_pid(submitter, job.id), what="job pid")
    asked = time.monotonic()
    studio.client.post(f"/api/v1/jobs/{job.id}/cancel")
    final = studio.wait_for_job(job.id, ("cancelled", "failed"), timeout=15)
    assert final["status"] == "cancelled" and "by force" in final["message"]
    assert 1.5 < time.monotonic() - asked < 8  # grace is 2 s in the tests


def test_secrets_reach_the_job_but_are_never_stored(studio: StudioServer, submitter: Runtime) -> None:
    if studio.runner_mode == "local":  # type: ignore[attr-defined]
        pytest.skip("embedded secrets live in the submitting server's memory: see test_local_runner.py")
    job = submitter.runner.submit("test.secret", {"repo_id": "org/model"}, secrets={"token": "hf_abcdefgh123"})
    final = studio.wait_for_job(job.id, ("completed", "failed"))
    assert final["result"] == {"got_token": True, "token_length": 14}
    assert "hf_abcdefgh123" not in json.dumps(final)
    assert "hf_abcdefgh123" not in (studio.log_path.read_text())
    with pytest.raises(ValueError, match="secret"):
        submitter.runner.submit("test.secret", {"hf_token": "hf_abcdefgh123"})


def test_restart_marks_orphaned_jobs_interrupted(studio: StudioServer, submitter: Runtime) -> None:
    job = submitter.runner.submit("test.count", {"n": 5000, "delay": 0.05})
    studio.wait_for_job(job.id, ("running",))
    pid = wait_until(lambda: submitter_job_pid(submitter, job.id), what="job pid")
    supervisor = studio.workers if studio.runner_mode == "celery" else studio  # type: ignore[attr-defined]
    supervisor.stop(kill=True)  # a crash: nobody records anything
    wait_until(lambda: not pid_alive(pid), timeout=10, what="the orphaned job process to exit")
    if studio.runner_mode == "local":  # type: ignore[attr-defined]
        studio.start()
    else:
        supervisor.start()
    final = studio.wait_for_job(job.id, ("interrupted",), timeout=30)
    assert "interrupted" in final["message"] and final["finished_at"] is not None


def submitter_job_pid(submitter: Runtime, job_id: str) -> int | None:
    from mistudio.platform.db import session_scope
    from mistudio.platform.jobs import repository

    with session_scope(submitter.sessions) as session:
        return repository.get_job(session, job_id).pid


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it has exited for our purposes
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_params_refuse_secret_keys_but_not_words_that_contain_token() -> None:
    from mistudio.platform.jobs.repository import _check_no_secrets

    for key in ("hf_token", "token", "API_KEY", "password", "nested"):
        params = {"nested": {"access_token": "x"}} if key == "nested" else {key: "x"}
        with pytest.raises(ValueError, match="secret"):
            _check_no_secrets(params)
    _check_no_secrets({"tokenization_id": "abc", "max_tokens": 5, "tokenizer": "gpt2"})


def _resumption_of(submitter: Runtime, job_id: str) -> str | None:
    from sqlalchemy import select

    from mistudio.platform.db import session_scope
    from mistudio.platform.jobs.table import Job

    with session_scope(submitter.sessions) as session:
        return session.scalar(select(Job.id).where(Job.resumed_from == job_id))


def test_a_resumable_job_cut_off_by_a_crash_resumes_by_itself(studio: StudioServer, submitter: Runtime,
                                                               tmp_path) -> None:
    """Server (embedded) or worker (scaled) SIGKILLed mid-job and started again: the job reads `interrupted`, a
    resumption is queued by itself and continues from the saved count, not from 0."""
    counter = tmp_path / "count"
    job = submitter.runner.submit("test.resumable", {"n": 60, "delay": 0.1, "path": str(counter)})
    studio.wait_for_job(job.id, ("running",))
    wait_until(lambda: counter.exists() and int(counter.read_text()) >= 5, timeout=30, what="a few saved steps")
    pid = submitter_job_pid(submitter, job.id)
    supervisor = studio.workers if studio.runner_mode == "celery" else studio  # type: ignore[attr-defined]
    supervisor.stop(kill=True)
    killed = time.monotonic()
    wait_until(lambda: not pid_alive(pid), timeout=10, what="the orphaned job process to exit")
    supervisor.start()
    started = time.monotonic()
    final = studio.wait_for_job(job.id, ("interrupted",), timeout=30)
    marked = time.monotonic() - started
    assert "resumes by itself" in final["message"]
    again = wait_until(lambda: _resumption_of(submitter, job.id), timeout=30, what="the automatic resumption")
    done = studio.wait_for_job(again, ("completed",), timeout=90)
    print(f"\n[recovery] {studio.runner_mode} supervisor SIGKILLed and started again "  # type: ignore[attr-defined]
          f"({started - killed:.1f}s to start): interrupted {marked:.1f}s after the start, resumed by itself, "
          f"completed {time.monotonic() - started:.1f}s after the start")
    assert done["attempt"] == 2 and done["resumed_from"] == job.id
    assert done["result"]["count"] == 60 and done["result"]["started_at"] >= 5
    assert _resumption_of(submitter, again) is None  # resumed once, not twice


def test_the_only_workers_death_is_noticed_within_the_lease(studio: StudioServer, submitter: Runtime,
                                                            tmp_path) -> None:
    """Scaled mode, a node that never comes back: the server sees the lease lapse and marks the job interrupted
    within lease + a sweep (6 s + 2 s in the tests); a worker started later runs the resumption."""
    if studio.runner_mode != "celery":  # type: ignore[attr-defined]
        pytest.skip("embedded mode has no separate workers: its supervisor is the server (see the crash test)")
    counter = tmp_path / "count"
    job = submitter.runner.submit("test.resumable", {"n": 40, "delay": 0.1, "path": str(counter)})
    wait_until(lambda: counter.exists() and int(counter.read_text()) >= 3, timeout=30, what="a few saved steps")
    studio.workers.stop(kill=True)  # type: ignore[attr-defined]
    killed = time.monotonic()
    final = studio.wait_for_job(job.id, ("interrupted",), timeout=30)
    noticed = time.monotonic() - killed
    print(f"interrupted {noticed:.1f} s after the worker was killed")
    assert noticed < TEST_LEASE_SECONDS * 3 and "lease lapsed" in final["message"]
    again = wait_until(lambda: _resumption_of(submitter, job.id), timeout=10, what="the automatic resumption")
    assert studio.job(again)["status"] == "queued"  # no worker yet: it waits
    studio.workers.start()  # type: ignore[attr-defined]
    done = studio.wait_for_job(again, ("completed",), timeout=90)
    assert done["result"]["started_at"] >= 3
