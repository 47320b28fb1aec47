"""What a job reads and writes, and the tracked rows that follow from it.

A job declares its resources at submit (`reads=[("model", id)], writes=[("extraction", id)]`); they are stored on
its row. From them, in the same transaction as the job's own change:
- submitting queues the tracked rows it writes (status, job_id), so a row and its job never disagree;
- every ending settles the rows it writes that are still active (a job killed, cancelled before it started or
  cut off by a restart ends its rows as it ended itself: this is the one reconcile after a restart);
- "is this in use" is a question about unfinished jobs' resources, never about parameter names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mistudio.errors import Conflict
from mistudio.platform.db import Base
from mistudio.platform.jobs.table import Job
from mistudio.platform.lifecycle import Resource, Status, TrackedRow
from mistudio.platform.tables import import_all_tables


def stored(resources: Iterable[Resource]) -> list[dict[str, str]]:
    """Resources as the job row keeps them (JSON objects, so the API and the web client read them by name)."""
    out: list[dict[str, str]] = []
    for kind, resource_id in resources:
        if not kind or not resource_id:
            raise ValueError(f"a job resource needs a type and an id, got {(kind, resource_id)!r}")
        entry = {"type": str(kind), "id": str(resource_id)}
        if entry not in out:
            out.append(entry)
    return out


def tracked_table(resource: str) -> type[TrackedRow] | None:
    """The table whose rows are resources of this type, if it is a tracked one."""
    import_all_tables()  # a process that only supervises may not have imported every domain's tables yet
    for mapper in Base.registry.mappers:
        table = mapper.class_
        if issubclass(table, TrackedRow) and getattr(table, "resource", None) == resource:
            return table
    return None


def _written_rows(session: Session, job: Job) -> list[TrackedRow]:
    rows = []
    for entry in job.writes or []:
        table = tracked_table(entry["type"])
        row = session.get(table, entry["id"]) if table is not None else None
        if row is not None:
            rows.append(row)
    return rows


def queue_written_rows(session: Session, job: Job) -> None:
    """A newly submitted job's rows become `queued` under it, progress and message cleared."""
    for row in _written_rows(session, job):
        row.status, row.message, row.progress, row.job_id = Status.QUEUED.value, None, 0.0, job.id


def settle_written_rows(session: Session, job: Job) -> None:
    """Rows this job was producing and that are still active end as the job ended, with its reason.

    A body that ran to its end already wrote its rows (`run_tracked`); this covers the endings it never saw."""
    status = Status(job.status)
    if not status.stopped:
        return
    for row in _written_rows(session, job):
        if row.active and row.job_id in (job.id, None):
            row.status, row.message = status.value, job.error or job.message


def users(session: Session, resources: Iterable[Resource], *, ignore: Iterable[str] = ()) -> list[Job]:
    """Unfinished jobs that read or write any of `resources`, oldest first (`ignore`: job ids to leave out)."""
    wanted = {(kind, resource_id) for kind, resource_id in resources}
    skipped = set(ignore)
    unfinished = session.scalars(
        select(Job).where(Job.status.in_([s.value for s in Status if s.active])).order_by(Job.created_at, Job.id)
    ).all()
    return [job for job in unfinished if job.id not in skipped and wanted & _resources_of(job)]


def _resources_of(job: Job) -> set[Resource]:
    entries: list[dict[str, Any]] = [*(job.reads or []), *(job.writes or [])]
    return {(entry["type"], entry["id"]) for entry in entries}


def refuse_if_used(session: Session, what: str, used: Iterable[Resource]) -> None:
    """A Conflict naming the first unfinished job that reads or writes any of `used` (the row's own job too)."""
    for job in users(session, used)[:1]:
        raise Conflict(f"{what} is in use by job {job.id} ({job.kind}, {job.status}); cancel it first or wait for "
                       "it to finish", details={"job_id": job.id, "kind": job.kind})
