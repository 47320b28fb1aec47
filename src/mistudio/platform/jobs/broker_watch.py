"""Queued jobs a restarted Redis forgot, sent to the workers again.

Redis keeps its Celery queues in memory (the usual setup, and ours: nothing on disk), so a Redis restart loses
every `run_job` message not yet taken by a worker: their jobs would stay `queued` for ever. The server notices a
restart by Redis's `run_id` (new at every start) and sends the task again for each job still `queued`. A job
whose message did survive gets two: harmless, since claiming a job is one conditional UPDATE, so the second
delivery finds it taken and does nothing. Running jobs are not this watch's business: their supervisors run on,
and a lost one is found by its lease.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mistudio.platform.db import session_scope
from mistudio.platform.jobs import repository
from mistudio.platform.jobs.recovery import Dispatch

log = logging.getLogger(__name__)


class BrokerWatch:
    """A daemon thread of the server: every `interval` seconds, compare Redis's run id with the last one seen."""

    def __init__(self, redis_client: Any, sessions: sessionmaker[Session], dispatch: Dispatch, runner: str,
                 interval: float) -> None:
        self._redis = redis_client
        self._sessions = sessions
        self._dispatch = dispatch
        self._runner = runner
        self._interval = interval
        self._run_id: str | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="broker-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def check(self) -> list[str]:
        """One look: the ids of the jobs sent again (none unless Redis restarted since the last look)."""
        run_id = str(self._redis.info("server")["run_id"])
        sent = self.redeliver_queued() if self._run_id not in (None, run_id) else []
        self._run_id = run_id  # only once redelivered: a failure is retried at the next look
        return sent

    def redeliver_queued(self) -> list[str]:
        with session_scope(self._sessions) as session:
            waiting = [(job.id, job.queue) for job in repository.queued_jobs(session) if job.runner == self._runner]
        for job_id, queue in waiting:
            self._dispatch(job_id, queue)
        if waiting:
            log.warning("Redis restarted and lost its queues: sent %d queued job(s) to the workers again",
                        len(waiting))
        return [job_id for job_id, _ in waiting]

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self.check()
            except Exception as exc:  # Redis or the database away: the next look tries again
                log.warning("watching the broker for restarts failed: %s", exc)
