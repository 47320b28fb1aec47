"""platform.jobs.recovery on a real database (SQLite, and PostgreSQL where reachable): claims and interruptions are
atomic (two racers, one winner), lapsed leases are found on any host, and only resumable kinds come back — once
per interruption, a bounded number of times."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mistudio.config import Settings
from mistudio.platform.db import session_scope, utcnow
from mistudio.platform.jobs import recovery, repository
from mistudio.platform.jobs.table import Job
from mistudio.platform.runtime import Runtime


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = Settings(home=tmp_path, database_url=url, job_modules=["tests.support.job_kinds"], redis_url=None,
                        auto_resume_attempts=2)
    opened = Runtime.open(settings)
    yield opened
    opened.close()


def _running_elsewhere(runtime: Runtime, kind: str, *, attempt: int = 1) -> str:
    """A job another node claimed, whose lease has lapsed (that node is gone)."""
    with session_scope(runtime.sessions) as session:
        job = repository.create_job(session, kind=kind, queue="gpu", params={"path": "/nowhere"}, runner="local")
        assert repository.claim_queued(session, job.id, host="node-that-died", supervisor_pid=123,
                                       lease_seconds=60)
        job.lease_expires_at = utcnow() - dt.timedelta(seconds=1)
        job.attempt = attempt
        return job.id


def _race(function, times: int = 2) -> list:  # noqa: ANN001
    results, barrier = [], threading.Barrier(times)

    def one() -> None:
        barrier.wait()
        results.append(function())

    threads = [threading.Thread(target=one) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_workers_claiming_one_job_run_it_once(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        job_id = repository.create_job(session, kind="test.count", queue="io", params={}, runner="local").id

    def claim() -> bool:
        with session_scope(runtime.sessions) as session:
            return repository.claim_queued(session, job_id, host="h", supervisor_pid=1, lease_seconds=5)

    assert sorted(_race(claim)) == [False, True]


def test_a_lapsed_lease_is_interrupted_and_resumed_once_whoever_sweeps(runtime: Runtime) -> None:
    job_id = _running_elsewhere(runtime, "test.resumable")
    dispatched: list[tuple[str, str]] = []

    def sweep() -> list[str]:
        return recovery.sweep_lapsed_leases(runtime.sessions, runtime.publish, runtime.settings, "local",
                                            lambda *sent: dispatched.append(sent))

    results = _race(sweep, times=3)
    assert sorted(map(len, results)) == [0, 0, 1]  # one sweeper interrupted it
    assert len(dispatched) == 1
    with session_scope(runtime.sessions) as session:
        old, new = session.get(Job, job_id), session.get(Job, dispatched[0][0])
        assert old.status == "interrupted" and "lease lapsed" in old.message and "by itself" in old.message
        assert new.status == "queued" and new.resumed_from == job_id and new.attempt == 2
        assert new.params == old.params and new.kind == "test.resumable" and dispatched[0][1] == "gpu"


def test_a_renewed_lease_is_left_alone(runtime: Runtime) -> None:
    job_id = _running_elsewhere(runtime, "test.resumable")
    with session_scope(runtime.sessions) as session:
        assert repository.renew_lease(session, job_id, supervisor_pid=123, lease_seconds=30)
    assert recovery.sweep_lapsed_leases(runtime.sessions, runtime.publish, runtime.settings, "local", None) == []
    with session_scope(runtime.sessions) as session:
        assert session.get(Job, job_id).status == "running"


def test_other_kinds_stay_interrupted_and_say_how_to_run_again(runtime: Runtime) -> None:
    job_id = _running_elsewhere(runtime, "test.count")
    dispatched: list = []
    assert recovery.sweep_lapsed_leases(runtime.sessions, runtime.publish, runtime.settings, "local",
                                        lambda *sent: dispatched.append(sent)) == [job_id]
    assert dispatched == []
    with session_scope(runtime.sessions) as session:
        assert "start it again" in session.get(Job, job_id).message


def test_work_interrupted_too_often_is_left_for_a_person(runtime: Runtime) -> None:
    job_id = _running_elsewhere(runtime, "test.resumable", attempt=3)  # the limit in this fixture is 2
    dispatched: list = []
    recovery.sweep_lapsed_leases(runtime.sessions, runtime.publish, runtime.settings, "local",
                                 lambda *sent: dispatched.append(sent))
    assert dispatched == []
    with session_scope(runtime.sessions) as session:
        assert "resume it by hand" in session.get(Job, job_id).message


def test_auto_resume_off_interrupts_without_requeueing(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"auto_resume": False})
    job_id = _running_elsewhere(runtime, "test.resumable")
    dispatched: list = []
    recovery.sweep_lapsed_leases(runtime.sessions, runtime.publish, settings, "local",
                                 lambda *sent: dispatched.append(sent))
    assert dispatched == []
    with session_scope(runtime.sessions) as session:
        assert "resume it to continue" in session.get(Job, job_id).message
