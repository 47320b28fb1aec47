"""Embedded runner: the server's own threads supervise one child process per job.

Queued rows are the queue (so jobs queued before a restart still run after it); `gpu` jobs run one at
a time, `io` jobs up to `io_concurrency` side by side.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable

from sqlalchemy import select

from mistudio.platform.db import session_scope
from mistudio.platform.jobs import repository
from mistudio.platform.jobs.process import HOST, claim_and_supervise, publish_job
from mistudio.platform.jobs.recovery import (
    LeaseSweeper,
    mark_orphans_interrupted,
    resume_interrupted,
    what_next,
)
from mistudio.platform.jobs.runner import Runner, RunnerStatus
from mistudio.platform.jobs.schemas import job_event_data
from mistudio.platform.jobs.table import Job, JobStatus

log = logging.getLogger(__name__)
DISPATCH_POLL_S = 0.5
SUPERVISOR_JOIN_S = 10.0  # a killed child is reaped within the supervisor's next poll


class LocalRunner(Runner):
    mode = "local"

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._limits = {"gpu": 1, "io": self.settings.io_concurrency}
        self._active = {"gpu": 0, "io": 0}
        self._supervisors: set[threading.Thread] = set()
        self._secrets: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="job-dispatcher", daemon=True)
        self._sweeper = LeaseSweeper(self.sessions, self.publish, self.settings, self.mode, self._dispatch_resumed)
        # Called before each `gpu` job starts (the runtime makes the model host give its GPU memory back).
        self.before_gpu_job: Callable[[], object] | None = None

    def start(self) -> None:
        interrupted = mark_orphans_interrupted(self.sessions, self.publish, self.mode, self.settings,
                                               self._dispatch_resumed)
        if interrupted:
            log.warning("marked %d job(s) left running by a stopped server as interrupted", interrupted)
        self._dispatcher.start()
        self._sweeper.start()

    def stop(self) -> None:
        """Stop dispatching; jobs still running are killed and recorded as interrupted, not left running (resumable
        ones are queued again at once, to run when the server next starts: queued rows are the queue)."""
        with self._lock:  # after this, the dispatcher starts no supervisor (see _start_ready_jobs)
            self._stopped.set()
        self._wake.set()
        self._sweeper.stop()
        interrupted = []
        with session_scope(self.sessions) as session:
            mine = [(job.id, job.pid) for job in repository.running_jobs_on_host(session, HOST, self.mode)
                    if job.supervisor_pid == os.getpid()]
        for job_id, pid in mine:
            # Recorded first, then killed: the supervisor that sees its child die leaves a job no longer running
            # alone (killed first, it could record the death as a failure before this records the interruption).
            with session_scope(self.sessions) as session:
                job = repository.interrupt_running(session, job_id, "interrupted: the server stopped; "
                                                   + what_next(repository.get_job(session, job_id), self.settings))
                data = job_event_data(job) if job is not None else None
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass  # already gone
            if data is not None:
                publish_job(self.publish, data)
                interrupted.append(job_id)
        resume_interrupted(self.sessions, self.publish, self.settings, interrupted, self.mode,
                           lambda _job_id, _queue: None)
        # Their supervisors see the children die and finish; none may touch the database after stop.
        with self._lock:
            supervisors = list(self._supervisors)
        for thread in supervisors:
            thread.join(SUPERVISOR_JOIN_S)

    def status(self) -> RunnerStatus:
        with self._lock:
            running = dict(self._active)
        with session_scope(self.sessions) as session:
            queued = len(repository.queued_jobs(session))
        detail = f"embedded: {running['gpu']} gpu + {running['io']} io job(s) running, {queued} queued"
        return RunnerStatus(mode=self.mode, ok=self._dispatcher.is_alive(), detail=detail)

    def _dispatch(self, job_id: str, queue: str, secrets: dict[str, str]) -> None:
        if secrets:
            with self._lock:
                self._secrets[job_id] = secrets
        self._wake.set()

    def _dispatch_resumed(self, job_id: str, queue: str) -> None:
        self._wake.set()  # the queued row is the queue

    def _after_cancel(self, job_id: str) -> None:
        with self._lock:
            self._secrets.pop(job_id, None)

    def _dispatch_loop(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(DISPATCH_POLL_S)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self._start_ready_jobs()
            except Exception:  # a database hiccup must not kill the dispatcher; next tick retries
                log.exception("job dispatcher tick failed")

    def _start_ready_jobs(self) -> None:
        with session_scope(self.sessions) as session:
            queued = session.execute(
                select(Job.id, Job.queue)
                .where(Job.status == JobStatus.QUEUED.value, Job.runner == self.mode)
                .order_by(Job.created_at, Job.id)
            ).all()
        for job_id, queue in queued:
            # Registered and started under one lock, and never after stop(): stop() joins every supervisor it
            # sees, and a thread it sees must already be running.
            with self._lock:
                if self._stopped.is_set():
                    return
                if self._active[queue] >= self._limits[queue]:
                    continue
                self._active[queue] += 1
                secrets = self._secrets.pop(job_id, {})
                thread = threading.Thread(
                    target=self._run_one, args=(job_id, queue, secrets), name=f"job-{job_id[:8]}", daemon=True
                )
                self._supervisors.add(thread)
                thread.start()

    def _run_one(self, job_id: str, queue: str, secrets: dict[str, str]) -> None:
        try:
            if queue == "gpu" and self.before_gpu_job is not None:
                try:
                    self.before_gpu_job()
                except Exception:  # the job still runs; it measures the memory really free when it loads
                    log.exception("making room on the GPU before job %s failed", job_id)
            claim_and_supervise(job_id, self.settings, self.sessions, self.publish, secrets)
        except Exception:
            log.exception("supervising job %s failed", job_id)
        finally:
            with self._lock:
                self._active[queue] -= 1
                self._supervisors.discard(threading.current_thread())
            self._wake.set()
