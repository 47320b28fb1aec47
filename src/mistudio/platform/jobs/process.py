"""One job = one child process, watched by a supervisor (a server thread or a Celery worker task).

The child runs the job body and writes its own progress and final status to the row; the supervisor
forwards the child's events, turns a cancel request into a stop signal and, after a grace period, a
kill, and records a child that died without a word (SIGKILL, out of memory) as `failed`.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mistudio.config import Settings
from mistudio.errors import DatabaseUnavailable, UserError
from mistudio.platform.children import adopt_environment, child_processes, exit_with
from mistudio.platform.db import make_engine, session_factory, session_scope
from mistudio.platform.db_retry import database_error_reason, database_unreachable, in_session
from mistudio.platform.jobs import repository
from mistudio.platform.jobs.context import JobCancelled, JobContext
from mistudio.platform.jobs.registry import (
    get_job_kind,
    load_job_modules,
    register_job_modules,
    registered_job_modules,
)
from mistudio.platform.jobs.schemas import job_event_data
from mistudio.platform.jobs.table import JobStatus

log = logging.getLogger(__name__)

Publish = Callable[[str, str, Any], None]
CANCEL_POLL_INTERVAL_S = 0.2
HOST = socket.gethostname()
# A job process that could not record its ending because the database stayed away (sysexits' EX_TEMPFAIL).
EXIT_DATABASE_LOST = 75


def publish_job(publish: Publish, data: dict[str, Any]) -> None:
    """Every job change goes to `jobs` (all jobs) and `jobs/{id}` (just this one)."""
    publish("jobs", "job.updated", data)
    publish(f"jobs/{data['id']}", "job.updated", data)


def describe_exit(exitcode: int | None) -> str:
    if exitcode == EXIT_DATABASE_LOST:
        return "the job process stopped: the database was unreachable for longer than database_retry_seconds"
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " — the usual cause is running out of memory" if name == "SIGKILL" else ""
        return f"the job process was killed by {name}{hint}"
    return f"the job process exited with code {exitcode} before reporting a result"


def supervise(
    job_id: str,
    settings: Settings,
    sessions: sessionmaker[Session],
    publish: Publish,
    secrets: dict[str, str] | None = None,
) -> None:
    """Run a claimed (status `running`) job in a child process and watch it to the end."""
    # The lease is renewed from its own thread, started before the child: spawning the child, forwarding its events
    # or a slow publish on a loaded machine must not delay the heartbeat past the lease.
    lease = LeaseHeartbeat(job_id, sessions, settings).start()
    try:
        _run_and_watch(job_id, settings, sessions, publish, secrets, lease)
    finally:
        lease.stop()


def _run_and_watch(job_id: str, settings: Settings, sessions: sessionmaker[Session], publish: Publish,
                   secrets: dict[str, str] | None, lease: LeaseHeartbeat) -> None:
    processes = child_processes()
    events = processes.Queue()
    stop = processes.Event()
    # The child starts with no registrations: it gets the job modules this process was given, and this process's
    # environment as it is now (the fork server's is the one it had when it started).
    child = processes.Process(
        target=child_main,
        args=(job_id, settings.model_dump(mode="json"), events, stop, secrets or {}, os.getpid(),
              registered_job_modules(), dict(os.environ)),
        name=f"mistudio-job-{job_id[:8]}",
    )
    child.start()

    def record_pid(session: Session) -> dict[str, Any]:
        job = repository.get_job(session, job_id)
        job.pid = child.pid
        session.flush()
        return job_event_data(job)

    publish_job(publish, in_session(sessions, record_pid, settings.database_retry_seconds, f"job {job_id}: pid"))

    cancel_seen_at: float | None = None
    next_poll = 0.0
    while child.is_alive():
        _forward_events(events, publish, timeout=0.05)
        now = time.monotonic()
        if lease.taken.is_set():
            # A sweeper judged this supervisor gone (it could not renew for a whole lease) and interrupted the
            # job, which may already run again elsewhere: this copy must not write on.
            log.warning("job %s was interrupted while this supervisor ran it (its lease lapsed): stopping its "
                        "process", job_id)
            child.kill()
            child.join(5)
            break
        if cancel_seen_at is None and now >= next_poll:
            next_poll = now + CANCEL_POLL_INTERVAL_S
            try:
                with session_scope(sessions) as session:
                    if repository.is_cancel_requested(session, job_id):
                        cancel_seen_at = now
                        stop.set()
            except Exception:  # a database hiccup: the job runs on, the next poll asks again
                log.warning("job %s: could not read its cancel flag; retrying", job_id, exc_info=True)
        if cancel_seen_at is not None and now - cancel_seen_at > settings.cancel_grace_seconds:
            log.warning("job %s ignored the stop request for %.0fs: killing it", job_id, now - cancel_seen_at)
            child.kill()
            child.join(5)
            break
    child.join(5)
    lease.stop()
    _forward_events(events, publish, timeout=0)
    killed = cancel_seen_at is not None
    _record_silent_death(job_id, sessions, publish, child.exitcode, killed=killed, settings=settings)
    events.close()


class LeaseHeartbeat:
    """Renews a running job's lease every third of `job_lease_seconds` until stopped; sets `taken` when the job is no
    longer this supervisor's (a sweeper interrupted it)."""

    def __init__(self, job_id: str, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._job_id, self._sessions, self._settings = job_id, sessions, settings
        self.taken = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job_id[:8]}", daemon=True)

    def start(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _beat(self) -> None:
        while not self._stopped.wait(self._settings.job_lease_seconds / 3):
            if _renew_lease(self._job_id, self._sessions, self._settings) is False:
                self.taken.set()
                return


def _renew_lease(job_id: str, sessions: sessionmaker[Session], settings: Settings) -> bool | None:
    """The supervisor's heartbeat: True when renewed, False when the job is no longer this supervisor's to run
    (it ended, or a sweeper interrupted it), None when the database could not be reached — retried at the next
    beat; the lease is three beats long, so a short outage costs nothing."""
    try:
        with session_scope(sessions) as session:
            if repository.renew_lease(session, job_id, supervisor_pid=os.getpid(),
                                      lease_seconds=settings.job_lease_seconds):
                return True
            # not renewed: either the child has just written its own ending (nothing to do) or a sweeper took it
            taken = repository.get_job(session, job_id).status == JobStatus.INTERRUPTED.value
            return False if taken else None
    except Exception as exc:
        log.warning("job %s: renewing its lease failed (%s); retrying at the next beat", job_id,
                    database_error_reason(exc), exc_info=not database_unreachable(exc))
        return None


def _forward_events(events: Any, publish: Publish, timeout: float) -> None:
    try:
        channel, event, data = events.get(timeout=timeout) if timeout else events.get_nowait()
        publish(channel, event, data)
        while True:
            channel, event, data = events.get_nowait()
            publish(channel, event, data)
    except queue.Empty:
        return
    except (EOFError, OSError):  # the child died mid-write; the row still tells the truth
        return


def _record_silent_death(
    job_id: str,
    sessions: sessionmaker[Session],
    publish: Publish,
    exitcode: int | None,
    *,
    killed: bool,
    settings: Settings,
) -> None:
    if exitcode == EXIT_DATABASE_LOST and not killed:
        # Like a lost worker: its lease lapses, and once the database is back a sweeper marks it interrupted (and
        # queues a resumable kind again), so a long outage ends the same way wherever it struck.
        log.error("job %s stopped: the database was unreachable for longer than %gs; left to the lease sweep",
                  job_id, settings.database_retry_seconds)
        return

    def record(session: Session) -> dict[str, Any] | None:
        job = repository.get_job(session, job_id)
        if job.status != JobStatus.RUNNING.value:
            return None  # the child recorded its own ending
        if killed:
            repository.finish(
                session,
                job,
                JobStatus.CANCELLED,
                message=f"stopped by force: it did not stop within {settings.cancel_grace_seconds:g}s",
            )
        else:
            reason = describe_exit(exitcode)
            repository.finish(session, job, JobStatus.FAILED, error=reason, message="failed")
            repository.append_log(job, "error", reason)
        session.flush()
        return job_event_data(job)

    try:
        data = in_session(sessions, record, settings.database_retry_seconds, f"job {job_id}: its ending")
    except DatabaseUnavailable as exc:
        # Nothing to write into: the job's lease lapses, and a sweeper interrupts it once the database is back.
        log.error("job %s ended (%s) but could not be recorded: %s", job_id, describe_exit(exitcode), exc.message)
        return
    if data is not None:
        publish_job(publish, data)


def child_main(
    job_id: str,
    settings_data: dict[str, Any],
    events: Any,
    stop: Any,
    secrets: dict[str, str],
    supervisor_pid: int,
    job_modules: list[str],
    environ: dict[str, str],
) -> None:
    """Entry point of the job's own process; `job_modules` are the supervisor's registered job modules and `environ`
    its environment when it started the job."""
    from mistudio.platform.logs import setup_logging

    adopt_environment(environ)

    # A terminal's Ctrl-C reaches the whole process group; the job stops only when its supervisor says so
    # (cooperatively, then by force), so the CLI that ran it can cancel it cleanly and say how to resume.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with(supervisor_pid)  # a job must not outlive the process that watches it
    settings = Settings(**settings_data)
    setup_logging(settings)
    sessions = session_factory(make_engine(settings))

    def send_event(channel: str, event: str, data: Any) -> None:
        events.put((channel, event, data))

    kind_name, params = in_session(sessions, lambda session: _kind_and_params(session, job_id),
                                   settings.database_retry_seconds, f"job {job_id}: reading it")
    ctx = JobContext(job_id, sessions, send_event, stop.is_set, secrets=secrets, settings=settings)
    status, message, error, result = JobStatus.COMPLETED, "done", None, None
    exc: BaseException | None = None
    try:
        register_job_modules(job_modules)
        load_job_modules(settings.job_modules)
        result = get_job_kind(kind_name).run(ctx, params)
        if ctx.should_stop():
            status, message = JobStatus.CANCELLED, "cancelled"
    except JobCancelled:
        status, message = JobStatus.CANCELLED, "cancelled"
    except UserError as raised:
        exc, (status, message, error) = raised, (JobStatus.FAILED, "failed", raised.message)
    except Exception as raised:  # a job's bug must end as `failed` with its message, not a silent death
        exc, (status, message, error) = raised, (JobStatus.FAILED, "failed", f"{type(raised).__name__}: {raised}")
        log.error("job %s (%s) failed\n%s", job_id, kind_name, traceback.format_exc())
    database_lost = isinstance(exc, DatabaseUnavailable)
    try:
        ctx.close()

        def record(session: Session) -> dict[str, Any]:
            job = repository.get_job(session, job_id)
            repository.finish(session, job, status, message=message, error=error, result=result)
            if error:
                repository.append_log(job, "error", error)
            session.flush()
            return job_event_data(job)

        # After a long outage one try is enough: the lease sweep records the job once the database is back.
        retry_seconds = 0 if database_lost else settings.database_retry_seconds
        publish_job(send_event, in_session(sessions, record, retry_seconds, f"job {job_id}: its ending"))
    except DatabaseUnavailable as lost:
        log.error("job %s could not record its ending (%s): %s", job_id, status.value, lost.message)
        database_lost = True
    events.close()
    events.join_thread()
    if database_lost:
        sys.exit(EXIT_DATABASE_LOST)


def _kind_and_params(session: Session, job_id: str) -> tuple[str, dict[str, Any]]:
    job = repository.get_job(session, job_id)
    return job.kind, dict(job.params)


def claim_and_supervise(
    job_id: str,
    settings: Settings,
    sessions: sessionmaker[Session],
    publish: Publish,
    secrets: dict[str, str] | None = None,
) -> bool:
    """Claim a queued job for this process and run it; False if it was cancelled or taken meanwhile."""
    def claim(session: Session) -> bool:
        return repository.claim_queued(session, job_id, host=HOST, supervisor_pid=os.getpid(),
                                       lease_seconds=settings.job_lease_seconds)

    if not in_session(sessions, claim, settings.database_retry_seconds, f"job {job_id}: claiming it"):
        return False
    supervise(job_id, settings, sessions, publish, secrets)
    return True


def supervisor_alive(pid: int | None, started_at: object) -> bool:
    import psutil

    if pid is None or pid == os.getpid():
        return False
    try:
        created = psutil.Process(pid).create_time()
    except psutil.Error:
        return False
    # A pid reused by a process born after the job started is not its supervisor.
    return started_at is None or created <= started_at.timestamp() + 1  # type: ignore[attr-defined]
