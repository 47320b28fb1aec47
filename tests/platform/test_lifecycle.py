"""One lifecycle for rows a job produces: the wrapper's endings, endings the body never saw, declared resources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mistudio.datasets.tables import Dataset
from mistudio.errors import Conflict, MistudioError
from mistudio.platform.db import session_scope
from mistudio.platform.jobs import repository, resources
from mistudio.platform.jobs.context import JobCancelled, JobContext
from mistudio.platform.jobs.table import Job
from mistudio.platform.jobs.tracked import Completed, run_tracked
from mistudio.platform.lifecycle import Status
from mistudio.platform.runtime import Runtime
from mistudio.system import service as system


class StoppedByLibrary(Exception):
    """What a library raises when its should_stop said yes (like hub.DownloadCancelled)."""


def new_dataset(runtime: Runtime) -> str:
    with session_scope(runtime.sessions) as session:
        dataset = Dataset(name="corpus", source="import", splits={})
        session.add(dataset)
        session.flush()
        return dataset.id


def row(runtime: Runtime, dataset_id: str) -> Dataset:
    with session_scope(runtime.sessions) as session:
        found = session.get(Dataset, dataset_id)
        assert found is not None
        return found


@pytest.fixture
def queued(runtime: Runtime) -> Iterator[tuple[str, JobContext]]:
    """A dataset row and the context of a queued job that writes it (the runner is not started: nothing runs it)."""
    dataset_id = new_dataset(runtime)
    job = runtime.runner.submit("test.secret", {}, writes=[("dataset", dataset_id)])
    ctx = JobContext(job.id, runtime.sessions, lambda *event: None, lambda: False)
    yield dataset_id, ctx
    ctx.close()


def test_submitting_queues_the_row_and_the_body_takes_it_to_completed(runtime: Runtime, queued: Any) -> None:
    dataset_id, ctx = queued
    shown = row(runtime, dataset_id)
    assert (shown.status, shown.job_id, shown.active, shown.retryable) == ("queued", ctx.job_id, True, False)

    def body() -> Completed:
        ctx.progress(0.5, "half of the rows")
        ctx.flush()
        halfway = row(runtime, dataset_id)
        assert (halfway.status, halfway.progress, halfway.message) == ("running", 0.5, "half of the rows")
        ctx.progress(0.9, "a line reported just before the end")
        return Completed(result={"rows": 3}, fields={"num_rows": 3})

    assert run_tracked(ctx, Dataset, dataset_id, body) == {"rows": 3}
    ctx.close()  # flushes what was pending: it must not land on the finished row
    done = row(runtime, dataset_id)
    assert (done.status, done.progress, done.message, done.num_rows) == ("completed", 1.0, None, 3)
    assert done.ready and not done.active and not done.retryable and not done.resumable


@pytest.mark.parametrize(("error", "message"), [
    (MistudioError("no text column 'body'; columns: title"), "no text column 'body'; columns: title"),
    (ValueError("bad shape"), "ValueError: bad shape"),  # a bug still says what happened
])
def test_a_failing_body_fails_its_row_with_the_message(runtime: Runtime, queued: Any, error: Exception,
                                                       message: str) -> None:
    dataset_id, ctx = queued
    stops: list[Status] = []

    def body() -> Completed:
        raise error

    with pytest.raises(type(error)):
        run_tracked(ctx, Dataset, dataset_id, body, on_stop=lambda status: stops.append(status) or {"size_bytes": 0})
    failed = row(runtime, dataset_id)
    assert (failed.status, failed.message, failed.retryable, failed.ready) == ("failed", message, True, False)
    assert stops == [Status.FAILED]


def test_a_library_stop_cancels_the_row_and_the_job_with_the_domain_message(runtime: Runtime, queued: Any) -> None:
    dataset_id, ctx = queued
    changes: list[tuple[Status, str | None]] = []

    def body() -> Completed:
        raise StoppedByLibrary()

    with pytest.raises(JobCancelled, match="after 12 rows"):
        run_tracked(ctx, Dataset, dataset_id, body, cancelled_by=(StoppedByLibrary,),
                    on_stop=lambda status: {"message": "cancelled after 12 rows"},
                    on_change=lambda status, message: changes.append((status, message)))
    cancelled = row(runtime, dataset_id)
    assert (cancelled.status, cancelled.message, cancelled.retryable) == ("cancelled", "cancelled after 12 rows", True)
    assert changes == [(Status.RUNNING, None), (Status.CANCELLED, "cancelled after 12 rows")]


def test_a_row_ends_with_its_job_when_the_body_never_saw_the_end(runtime: Runtime, queued: Any) -> None:
    dataset_id, ctx = queued
    with session_scope(runtime.sessions) as session:  # its process was killed mid-run
        session.get(Dataset, dataset_id).status = "running"  # type: ignore[union-attr]
        job = repository.get_job(session, ctx.job_id)
        repository.finish(session, job, Status.FAILED, message="failed", error="the job process was killed by SIGKILL")
    died = row(runtime, dataset_id)
    assert (died.status, died.message) == ("failed", "the job process was killed by SIGKILL")

    other = new_dataset(runtime)
    first = runtime.runner.submit("test.secret", {}, writes=[("dataset", other)])
    retried = runtime.runner.submit("test.secret", {}, writes=[("dataset", other)])  # now the row's job
    runtime.runner.cancel(first.id)  # a job the row no longer follows ends without touching it
    assert (row(runtime, other).status, row(runtime, other).job_id) == ("queued", retried.id)
    runtime.runner.cancel(retried.id)
    assert (row(runtime, other).status, row(runtime, other).message) == ("cancelled", "cancelled before it started")


def test_in_use_is_what_unfinished_jobs_declare_not_what_their_params_are_called(runtime: Runtime) -> None:
    reader = runtime.runner.submit("test.secret", {"anything": "m1"}, reads=[("model", "m1")])
    namer = runtime.runner.submit("test.secret", {"model_id": "m1"})  # names it, declares nothing
    with session_scope(runtime.sessions) as session:
        assert [job.id for job in resources.users(session, [("model", "m1")])] == [reader.id]
        with pytest.raises(Conflict, match=f"model 'm1' is in use by job {reader.id}"):
            resources.refuse_if_used(session, "model 'm1'", [("model", "m1")])
        repository.finish(session, repository.get_job(session, reader.id), Status.COMPLETED)
        assert resources.users(session, [("model", "m1")]) == []
    shown = system.get_job(runtime, reader.id)
    assert [r.model_dump() for r in shown.reads] == [{"type": "model", "id": "m1"}] and shown.writes == []
    active, _ = system.list_jobs(runtime, active=True)
    assert [job.id for job in active] == [namer.id] and all(job.active for job in active)
    assert [job.id for job in system.list_jobs(runtime, active=False)[0]] == [reader.id]


def test_a_job_row_keeps_the_resources_it_declares(runtime: Runtime) -> None:
    job = runtime.runner.submit("test.secret", {}, reads=[("model", "m1"), ("model", "m1")], writes=[("dataset", "d")])
    with session_scope(runtime.sessions) as session:
        stored = session.get(Job, job.id)
        assert stored is not None
        assert stored.reads == [{"type": "model", "id": "m1"}] and stored.writes == [{"type": "dataset", "id": "d"}]
