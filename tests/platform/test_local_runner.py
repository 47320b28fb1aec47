"""The embedded runner started inside the test process (the way `mistudio serve` holds it)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from mistudio.config import Settings
from mistudio.platform.db import session_scope
from mistudio.platform.jobs import repository
from mistudio.platform.runtime import Runtime
from tests.support.studio import wait_until


@pytest.fixture
def started(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.open(settings)
    runtime.start()
    yield runtime
    runtime.close()


def job_state(runtime: Runtime, job_id: str):  # -> Job row detached from its session
    with session_scope(runtime.sessions) as session:
        return repository.get_job(session, job_id)


def test_secrets_reach_the_job_but_are_never_stored(started: Runtime, capfd: pytest.CaptureFixture[str]) -> None:
    job = started.runner.submit("test.secret", {"repo_id": "org/model"}, secrets={"token": "hf_abcdefgh123"})
    final = wait_until(lambda: (j := job_state(started, job.id)).status == "completed" and j, what="secret job")
    assert final.result == {"got_token": True, "token_length": 14}
    assert "hf_abcdefgh123" not in json.dumps({"params": final.params, "log": final.log, "result": final.result})
    db_bytes = (started.settings.home / "mistudio.db").read_bytes() + _wal(started)
    assert b"hf_abcdefgh123" not in db_bytes
    assert "hf_abcdefgh123" not in capfd.readouterr().err
    with pytest.raises(ValueError, match="secret"):
        started.runner.submit("test.secret", {"nested": {"hf_token": "x"}})


def _wal(runtime: Runtime) -> bytes:
    wal = runtime.settings.home / "mistudio.db-wal"
    return wal.read_bytes() if wal.exists() else b""


def test_stopping_the_server_records_running_jobs_as_interrupted(settings: Settings) -> None:
    runtime = Runtime.open(settings)
    runtime.start()
    job = runtime.runner.submit("test.count", {"n": 1000, "delay": 0.05})
    wait_until(lambda: job_state(runtime, job.id).pid, what="job to start")
    runtime.close()
    reopened = Runtime.open(settings)
    final = job_state(reopened, job.id)
    reopened.close()
    assert final.status == "interrupted" and "server stopped" in final.message


def test_jobs_queued_before_a_restart_still_run_after_it(settings: Settings) -> None:
    offline = Runtime.open(settings)  # a runner that is not started: the job waits in the table
    job = offline.runner.submit("test.count", {"n": 3, "delay": 0.01})
    offline.close()
    time.sleep(0.2)
    runtime = Runtime.open(settings)
    runtime.start()
    try:
        final = wait_until(lambda: (j := job_state(runtime, job.id)).status == "completed" and j, what="queued job")
        assert final.result == {"count": 3}
    finally:
        runtime.close()


def test_a_job_over_its_time_limit_fails_with_the_message_and_the_runner_goes_on(started: Runtime) -> None:
    job = started.runner.submit("test.stuck", {"limit": 0.5, "seconds": 60})
    final = wait_until(lambda: (j := job_state(started, job.id)).status == "failed" and j, timeout=30,
                       what="the stuck job to fail")
    assert final.error == "took too long: raise the limit"
    quick = started.runner.submit("test.stuck", {"limit": 30, "seconds": 0})
    assert wait_until(lambda: (j := job_state(started, quick.id)).status == "completed" and j,
                      timeout=30, what="the quick job").result == {"finished": True}


def test_a_job_can_queue_a_follow_up_job_that_the_runner_then_runs(started: Runtime) -> None:
    job = started.runner.submit("test.follow_up", {})
    first = wait_until(lambda: (j := job_state(started, job.id)).status == "completed" and j, timeout=30,
                       what="the first job")
    second = wait_until(lambda: (j := job_state(started, first.result["queued"])).status == "completed" and j,
                        timeout=30, what="the follow-up job")
    assert second.result == {"count": 2} and second.kind == "test.count"


def test_a_job_updates_its_domain_rows_and_fails_naming_one_deleted_under_it(runtime: Runtime) -> None:
    from mistudio.errors import MistudioError
    from mistudio.models.tables import ModelVariant
    from mistudio.platform.jobs.context import JobContext
    from mistudio.platform.jobs.table import Job

    job = runtime.runner.submit("test.secret", {"repo_id": "org/model"})
    ctx = JobContext(job.id, runtime.sessions, lambda *event: None, lambda: False)
    try:
        ctx.update_row(Job, job.id, message="halfway there")
        assert job_state(runtime, job.id).message == "halfway there"
        with pytest.raises(MistudioError, match="model variant 'gone' was deleted while its job ran"):
            ctx.update_row(ModelVariant, "gone", status="ready")
    finally:
        ctx.close()
