"""platform.db_retry and the lease sweep through a database outage, without a service to restart (fast)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from mistudio.config import Settings
from mistudio.errors import DatabaseUnavailable
from mistudio.platform.db import session_scope
from mistudio.platform.db_retry import database_unreachable, in_session
from mistudio.platform.jobs import recovery
from mistudio.platform.jobs.table import Job
from mistudio.platform.runtime import Runtime
from tests.support.studio import free_port, wait_until


def test_an_unreachable_database_is_retried_for_the_window_then_named_with_the_setting() -> None:
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none",
                           connect_args={"connect_timeout": 1})
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as raised:
        in_session(sessionmaker(engine), lambda session: session.execute(text("SELECT 1")), 1.0, "a test write")
    assert 0.5 <= time.monotonic() - started < 5
    assert "unreachable for more than 1s" in raised.value.message
    assert "MISTUDIO_DATABASE_RETRY_SECONDS" in raised.value.message and raised.value.status_code == 503


def test_a_wrong_statement_fails_at_once_instead_of_being_retried(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    started = time.monotonic()
    with pytest.raises(OperationalError) as raised:
        in_session(sessionmaker(engine), lambda session: session.execute(text("SELECT * FROM nowhere")), 30, "w")
    assert time.monotonic() - started < 2 and not database_unreachable(raised.value)


def test_after_an_outage_the_sweeper_gives_supervisors_a_whole_lease_before_interrupting(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=None, redis_url=None, job_lease_seconds=1.2,
                        job_modules=["tests.support.job_kinds"])
    runtime = Runtime.open(settings)
    with session_scope(runtime.sessions) as session:
        from mistudio.platform.db import utcnow
        from mistudio.platform.jobs import repository

        job = repository.create_job(session, kind="test.count", queue="io", params={}, runner="local")
        assert repository.claim_queued(session, job.id, host="elsewhere", supervisor_pid=1, lease_seconds=60)
        session.refresh(job)
        job.lease_expires_at = utcnow() - dt.timedelta(seconds=1)  # its node is gone (renewed by nobody)
        job_id = job.id
    real_sweep, outage = recovery.sweep_lapsed_leases, {"left": 2}

    def sweep_through_an_outage(*args, **kwargs):  # noqa: ANN002, ANN003
        # Only this test's sweeper sees the outage: a sweeper another test in this process left running calls the
        # same module function, and its failures must not be counted as this one's.
        if outage["left"] and args[0] is runtime.sessions:
            outage["left"] -= 1
            outage["last_failure"] = time.monotonic()  # the database is back from the next tick on
            raise OperationalError("SELECT", {}, ConnectionRefusedError("the database restarts"))
        return real_sweep(*args, **kwargs)

    monkeypatch.setattr(recovery, "sweep_lapsed_leases", sweep_through_an_outage)
    sweeper = recovery.LeaseSweeper(runtime.sessions, runtime.publish, settings, "local", None)
    sweeper.start()
    try:
        wait_until(lambda: outage["left"] == 0, timeout=5, what="the outage to be seen")

        def status() -> str:
            with session_scope(runtime.sessions) as session:
                return session.get(Job, job_id).status

        interrupted_at = wait_until(lambda: status() == "interrupted" and time.monotonic(), timeout=10,
                                    interval=0.05, what="the lapsed job to be interrupted after the grace")
        # Measured from inside the sweeper, not by this thread's polling (which a loaded machine can delay).
        assert interrupted_at - outage["last_failure"] >= settings.job_lease_seconds  # not at the first sweep after
    finally:
        sweeper.stop()
        runtime.close()
