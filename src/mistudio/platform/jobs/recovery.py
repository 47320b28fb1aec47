"""Work whose supervisor is gone: found by lapsed leases or dead supervisor processes, marked `interrupted`, and —
for resumable kinds — queued again by itself.

Two ways a running job loses its supervisor, two ways it is found:
- on any machine: the supervisor renews the job's lease every third of `job_lease_seconds`; a worker, a node or a
  server that dies stops renewing, and any live worker or server (each sweeps every third of the lease) marks the
  job interrupted once the lease has lapsed;
- on the same machine, at once: a server or worker that starts marks the jobs a dead supervisor on this host left
  running (no need to wait for the lease).
Marking is one conditional UPDATE, so of several sweepers exactly one interrupts a job and resumes it. A resumable
kind (`job_kind(..., resumable=True)`) is then queued again (settings `auto_resume`, at most
`auto_resume_attempts` times for one piece of work) and continues from its last checkpoint on any worker with
capacity; other kinds stay `interrupted`, with a message saying how to run them again.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from mistudio.config import Settings
from mistudio.platform.db import session_scope
from mistudio.platform.db_retry import database_unreachable
from mistudio.platform.jobs import repository
from mistudio.platform.jobs.process import HOST, Publish, publish_job, supervisor_alive
from mistudio.platform.jobs.registry import get_job_kind, load_job_modules
from mistudio.platform.jobs.schemas import job_event_data
from mistudio.platform.jobs.table import Job

log = logging.getLogger(__name__)

# How a resumed job reaches an executor: the embedded runner wakes its dispatcher, Celery sends the task.
Dispatch = Callable[[str, str], None]  # (job id, queue)

RESTARTED = "interrupted: the process that ran it stopped (server or worker restart)"
LAPSED = "interrupted: its worker stopped answering (lease lapsed: the worker, its node or the server is gone)"


def mark_orphans_interrupted(sessions: sessionmaker[Session], publish: Publish, runner: str,
                             settings: Settings | None = None, dispatch: Dispatch | None = None) -> int:
    """Jobs left `running` on this host by a supervisor that no longer exists become `interrupted` (and, given
    settings and a dispatch, resumable ones are queued again). Returns how many were interrupted."""
    import psutil

    with session_scope(sessions) as session:
        orphans = [(job.id, job.pid) for job in repository.running_jobs_on_host(session, HOST, runner)
                   if not supervisor_alive(job.supervisor_pid, job.started_at)]
    interrupted = []
    for job_id, pid in orphans:
        if pid and psutil.pid_exists(pid):
            try:
                os.kill(pid, signal.SIGKILL)  # a child whose supervisor died must not write on
            except OSError:
                pass  # it ended between the check and the kill
        if _interrupt(sessions, publish, job_id, RESTARTED, settings):
            interrupted.append(job_id)
    if settings is not None and dispatch is not None:
        resume_interrupted(sessions, publish, settings, interrupted, runner, dispatch)
    return len(interrupted)


def sweep_lapsed_leases(sessions: sessionmaker[Session], publish: Publish, settings: Settings, runner: str,
                        dispatch: Dispatch | None) -> list[str]:
    """Interrupt every running job whose lease lapsed (any host), then resume the resumable ones."""
    with session_scope(sessions) as session:
        lapsed = repository.lapsed_jobs(session)
    interrupted = [job_id for job_id in lapsed
                   if _interrupt(sessions, publish, job_id, LAPSED, settings, lapsed_only=True)]
    for job_id in interrupted:
        log.warning("job %s lost its supervisor (lease lapsed): interrupted", job_id)
    if dispatch is not None:
        resume_interrupted(sessions, publish, settings, interrupted, runner, dispatch)
    return interrupted


def _interrupt(sessions: sessionmaker[Session], publish: Publish, job_id: str, reason: str,
               settings: Settings | None, *, lapsed_only: bool = False) -> bool:
    with session_scope(sessions) as session:
        job = session.get(Job, job_id)
        if job is None:
            return False
        job = repository.interrupt_running(session, job_id, f"{reason}; {what_next(job, settings)}",
                                           lapsed_only=lapsed_only)
        if job is None:
            return False
        data = job_event_data(job)
    publish_job(publish, data)
    return True


def what_next(job: Job, settings: Settings | None) -> str:
    """What happens to an interrupted job next, for its message: resumed by itself, or how to run it again."""
    if _resumable(job.kind, settings) and settings is not None and settings.auto_resume:
        if (job.attempt or 1) <= settings.auto_resume_attempts:
            return "it resumes by itself from its last checkpoint"
        return (f"it was resumed automatically {settings.auto_resume_attempts} time(s) already: resume it by hand "
                "once the cause is fixed")
    if _resumable(job.kind, settings):
        return "resume it to continue from its last checkpoint"
    return "start it again"


def _resumable(kind: str, settings: Settings | None) -> bool:
    # A worker's own process names the domains' job modules but only its jobs' processes import them: import them
    # here (once; later calls are dictionary lookups) so any sweeper can tell a resumable kind.
    try:
        load_job_modules(settings.job_modules if settings is not None else ())
        return get_job_kind(kind).resumable
    except Exception:  # a kind this process cannot load (another deployment's module): leave it alone
        log.warning("job kind %s is unknown here: its jobs are not resumed automatically", kind, exc_info=True)
        return False


def resume_interrupted(sessions: sessionmaker[Session], publish: Publish, settings: Settings, job_ids: list[str],
                       runner: str, dispatch: Dispatch) -> list[str]:
    """Queue resumable interrupted jobs again (once each) and hand them to the runner; returns the new job ids."""
    if not settings.auto_resume:
        return []
    resumed: list[tuple[str, str]] = []
    for job_id in job_ids:
        with session_scope(sessions) as session:
            job = session.get(Job, job_id)
            if job is None or not _resumable(job.kind, settings) or (job.attempt or 1) > settings.auto_resume_attempts:
                continue
            again = repository.requeue(session, job, runner=runner)
            resumed.append((again.id, again.queue))
            data = job_event_data(again)
        publish_job(publish, data)
        log.warning("job %s (%s) queued again as %s after an interruption", job_id, again.kind, again.id)
    for new_id, queue in resumed:
        dispatch(new_id, queue)
    return [new_id for new_id, _ in resumed]


class LeaseSweeper:
    """A daemon thread that sweeps lapsed leases every third of the lease, in a server or a worker."""

    def __init__(self, sessions: sessionmaker[Session], publish: Publish, settings: Settings, runner: str,
                 dispatch: Dispatch | None) -> None:
        self._args = (sessions, publish, settings, runner, dispatch)
        self._interval = settings.job_lease_seconds / 3
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lease-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _loop(self) -> None:
        database_was_lost = False
        while not self._stopped.wait(self._interval):
            try:
                if database_was_lost:
                    _ping(self._args[0])
                    database_was_lost = False
                    # No supervisor could renew its lease while the database was gone: give them one whole lease
                    # to renew before judging any of them lost, so an outage alone interrupts nothing.
                    if self._stopped.wait(self._args[2].job_lease_seconds):
                        return
                sweep_lapsed_leases(*self._args)
            except Exception as exc:  # a database outage must not end the sweeping; the next tick retries
                database_was_lost = database_was_lost or database_unreachable(exc)
                log.warning("sweeping lapsed job leases failed: %s", exc, exc_info=not database_was_lost)


def _ping(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        session.execute(text("SELECT 1"))
