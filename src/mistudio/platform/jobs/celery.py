"""Scaled runner: jobs go to Celery workers (`mistudio worker`) through Redis, queues `gpu` and `io`."""

from __future__ import annotations

from mistudio.platform.jobs.broker_watch import BrokerWatch
from mistudio.platform.jobs.celery_app import RUN_JOB_TASK, SECRET_KEY_PREFIX, SECRET_TTL_S, make_celery
from mistudio.platform.jobs.recovery import LeaseSweeper
from mistudio.platform.jobs.runner import QUEUES, Runner, RunnerStatus


class CeleryRunner(Runner):
    mode = "celery"

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        import redis

        self._celery = make_celery(self.settings)
        self._redis = redis.Redis.from_url(self.settings.redis_url or "")
        # The server sweeps lapsed leases too: a cluster whose only worker died still sees its jobs interrupted.
        self._sweeper = LeaseSweeper(self.sessions, self.publish, self.settings, self.mode,
                                     lambda job_id, queue: self._dispatch(job_id, queue, {}))
        # Queued jobs a Redis restart forgot are sent again (their secrets, kept in Redis too, are gone with it).
        self._broker_watch = BrokerWatch(self._redis, self.sessions, lambda job_id, queue: self._dispatch(
            job_id, queue, {}), self.mode, interval=self.settings.job_lease_seconds / 3)

    def start(self) -> None:
        self._sweeper.start()
        self._broker_watch.start()

    def status(self) -> RunnerStatus:
        try:
            replies = self._celery.control.inspect(timeout=1.0).active_queues() or {}
        except Exception as exc:  # kombu/redis connection errors
            return RunnerStatus(self.mode, False, f"cannot reach the Celery broker: {exc}", list(QUEUES))
        workers = sorted(replies)
        served = {queue["name"] for queues in replies.values() for queue in queues or []}
        missing = [queue for queue in QUEUES if queue not in served]
        if not workers:
            return RunnerStatus(self.mode, False, "no Celery worker answers: start one with `mistudio worker`",
                                missing)
        detail = f"{len(workers)} worker(s): {', '.join(workers)}"
        if missing:  # jobs of that queue would wait for ever
            detail += "; no worker serves the " + " and ".join(missing) + " queue: start one with `mistudio " \
                      f"worker --queues {','.join(missing)}`"
        return RunnerStatus(self.mode, not missing, detail, missing)

    def _dispatch(self, job_id: str, queue: str, secrets: dict[str, str]) -> None:
        import json

        if secrets:
            self._redis.set(SECRET_KEY_PREFIX + job_id, json.dumps(secrets), ex=SECRET_TTL_S)
        self._celery.send_task(RUN_JOB_TASK, args=[job_id], queue=queue, task_id=job_id)

    def _after_cancel(self, job_id: str) -> None:
        self._redis.delete(SECRET_KEY_PREFIX + job_id)

    def stop(self) -> None:
        self._sweeper.stop()
        self._broker_watch.stop()
        self._redis.close()
