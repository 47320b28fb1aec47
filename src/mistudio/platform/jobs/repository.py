"""Reads and writes of job rows. Every state change goes through here so the rules live in one place."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mistudio.errors import Conflict, InvalidInput, NotFound
from mistudio.platform.db import utcnow
from mistudio.platform.jobs import resources
from mistudio.platform.jobs.table import Job, JobStatus
from mistudio.platform.lifecycle import Resource

# Keys that would put a credential at rest in the jobs table; secrets travel separately.
# Whole words of a key ("hf_token", "api_key"), so "tokenization_id" or "max_tokens" are not taken for secrets.
_SECRET_KEY = re.compile(r"(^|[_\W])(token|password|secret|api_key|apikey|authorization)([_\W]|$)", re.IGNORECASE)
MAX_LOG_ENTRIES = 500
ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def _check_no_secrets(params: Any, path: str = "params") -> None:
    if isinstance(params, dict):
        for key, value in params.items():
            if _SECRET_KEY.search(str(key)):
                raise ValueError(f"{path}.{key} looks like a secret: pass it as a job secret, never in params")
            _check_no_secrets(value, f"{path}.{key}")
    elif isinstance(params, list):
        for index, value in enumerate(params):
            _check_no_secrets(value, f"{path}[{index}]")


def create_job(
    session: Session,
    *,
    kind: str,
    queue: str,
    params: dict[str, Any],
    runner: str,
    reads: Sequence[Resource] = (),
    writes: Sequence[Resource] = (),
) -> Job:
    """A queued job; the tracked rows it `writes` are queued under it in the same transaction."""
    _check_no_secrets(params)
    job = Job(
        kind=kind,
        queue=queue,
        status=JobStatus.QUEUED.value,
        progress=0.0,
        params=params,
        reads=resources.stored(reads),
        writes=resources.stored(writes),
        log=[],
        cancel_requested=False,
        runner=runner,
    )
    session.add(job)
    session.flush()
    resources.queue_written_rows(session, job)
    return job


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id!r} not found", details={"job_id": job_id})
    return job


def list_jobs(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    active: bool | None = None,
    kind: str | None = None,
    page: int = 1,
    limit: int = 50,
) -> tuple[list[Job], int]:
    """Jobs newest first, filtered (`active`: only unfinished, or only finished ones); returns (page, total)."""
    unknown = [s for s in statuses if s not in JobStatus._value2member_map_]
    if unknown:
        raise InvalidInput(
            f"unknown job status {unknown[0]!r}; use one of {', '.join(s.value for s in JobStatus)}",
            details={"field": "status"},
        )
    query = select(Job)
    if statuses:
        query = query.where(Job.status.in_(statuses))
    if active is not None:
        unfinished = Job.status.in_([status.value for status in JobStatus if status.active])
        query = query.where(unfinished if active else ~unfinished)
    if kind:
        query = query.where(Job.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Job.created_at.desc(), Job.id).offset((page - 1) * limit).limit(limit)
    ).all()
    return list(rows), total


def request_cancel(session: Session, job_id: str) -> Job:
    """Ask a job to stop: a queued job is cancelled at once, a running one is flagged for its supervisor."""
    job = get_job(session, job_id)
    if job.job_status.finished:
        raise Conflict(
            f"job {job_id} already finished with status {job.status}; there is nothing to cancel",
            details={"job_id": job_id, "status": job.status},
        )
    if job.status == JobStatus.QUEUED.value:
        # Conditional so a dispatcher claiming it at the same instant cannot be overwritten.
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED.value)
            .values(
                status=JobStatus.CANCELLED.value,
                cancel_requested=True,
                message="cancelled before it started",
                finished_at=utcnow(),
                updated_at=utcnow(),
            )
        ).rowcount
        if claimed:
            session.refresh(job)
            resources.settle_written_rows(session, job)
            return job
        session.refresh(job)
    job.cancel_requested = True
    session.flush()
    return job


def claim_queued(session: Session, job_id: str, *, host: str, supervisor_pid: int, lease_seconds: float) -> bool:
    """Move a queued job to running, holding a lease; False if someone else claimed or cancelled it first.

    One conditional UPDATE: of two workers handed the same job (a redelivered task), exactly one gets it."""
    now = utcnow()
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED.value)
        .values(
            status=JobStatus.RUNNING.value,
            host=host,
            supervisor_pid=supervisor_pid,
            started_at=now,
            updated_at=now,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            message="starting",
        )
    ).rowcount
    return bool(claimed)


def renew_lease(session: Session, job_id: str, *, supervisor_pid: int, lease_seconds: float) -> bool:
    """Extend a running job's lease (its supervisor's heartbeat); False if the job is no longer this one's to run."""
    renewed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING.value, Job.supervisor_pid == supervisor_pid)
        .values(lease_expires_at=utcnow() + dt.timedelta(seconds=lease_seconds))
    ).rowcount
    return bool(renewed)


def lapsed_jobs(session: Session) -> list[str]:
    """Running jobs whose lease has lapsed: nobody has renewed it, so their supervisor is gone."""
    return list(session.scalars(
        select(Job.id).where(Job.status == JobStatus.RUNNING.value, Job.lease_expires_at < utcnow())
    ).all())


def interrupt_running(session: Session, job_id: str, message: str, *, lapsed_only: bool = False) -> Job | None:
    """Mark a running job interrupted (its rows too) — conditionally, so of two sweepers one does it; None if the
    job was not (or no longer) running (with `lapsed_only`: or its lease was renewed meanwhile)."""
    condition = [Job.id == job_id, Job.status == JobStatus.RUNNING.value]
    if lapsed_only:
        condition.append(Job.lease_expires_at < utcnow())
    changed = session.execute(
        update(Job).where(*condition).values(status=JobStatus.INTERRUPTED.value, message=message,
                                             finished_at=utcnow(), updated_at=utcnow())
    ).rowcount
    if not changed:
        return None
    job = get_job(session, job_id)
    session.refresh(job)
    append_log(job, "warning", message)
    session.flush()
    resources.settle_written_rows(session, job)
    return job


def requeue(session: Session, job: Job, *, runner: str) -> Job:
    """A new queued job doing the same work as `job` (same kind, params, resources), marked as its resumption."""
    again = create_job(session, kind=job.kind, queue=job.queue, params=dict(job.params), runner=runner,
                       reads=[(entry["type"], entry["id"]) for entry in job.reads or []],
                       writes=[(entry["type"], entry["id"]) for entry in job.writes or []])
    again.attempt, again.resumed_from = (job.attempt or 1) + 1, job.id
    append_log(again, "info", f"resumed automatically after job {job.id} was interrupted ({job.message})")
    session.flush()
    return again


def finish(
    session: Session,
    job: Job,
    status: JobStatus,
    *,
    message: str | None = None,
    error: str | None = None,
    result: dict[str, Any] | None = None,
) -> Job:
    job.status = status.value
    job.finished_at = utcnow()
    if message is not None:
        job.message = message
    if error is not None:
        job.error = error
    if result is not None:
        job.result = result
    if status == JobStatus.COMPLETED:
        job.progress = 1.0
    session.flush()
    resources.settle_written_rows(session, job)
    return job


def append_log(job: Job, level: str, text: str) -> None:
    entries = [*job.log, {"time": utcnow().isoformat(), "level": level, "text": text}]
    job.log = entries[-MAX_LOG_ENTRIES:]


def queued_jobs(session: Session) -> list[Job]:
    return list(
        session.scalars(
            select(Job).where(Job.status == JobStatus.QUEUED.value).order_by(Job.created_at, Job.id)
        ).all()
    )


def running_jobs_on_host(session: Session, host: str, runner: str) -> list[Job]:
    return list(
        session.scalars(
            select(Job).where(
                Job.status == JobStatus.RUNNING.value, Job.host == host, Job.runner == runner
            )
        ).all()
    )


def is_cancel_requested(session: Session, job_id: str) -> bool:
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))
