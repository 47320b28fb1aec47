"""The Celery app of scaled mode: the server sends `run_job` tasks through it, `mistudio worker` runs them.

A Celery task is a supervisor, exactly like the embedded runner's threads: it claims the job row and
runs the job in a child process of its own. Workers therefore use the `threads` pool, because the
heavy work never runs inside the pool itself. The app lives in platform so the runner needs no face; the
worker face (`mistudio.worker`) registers the domains' job kinds before it builds one.
"""

from __future__ import annotations

import json
import logging
import os
from functools import cache
from typing import Any

from celery import Celery

from mistudio.config import Settings, load_settings

log = logging.getLogger(__name__)

RUN_JOB_TASK = "mistudio.run_job"
SECRET_KEY_PREFIX = "mistudio:job-secrets:"
# Secrets wait in Redis (memory only, never the database) for the worker to pick up, then vanish.
SECRET_TTL_S = 3600


def make_celery(settings: Settings) -> Celery:
    """The app both sides share: the broker, delivery settings and the one task, `mistudio.run_job`."""
    if not settings.redis_url:
        raise ValueError("the Celery runner needs MISTUDIO_REDIS_URL")
    app = Celery("mistudio", broker=settings.redis_url)
    app.conf.update(
        task_ignore_result=True,  # the jobs table is the result store
        task_acks_late=True,  # a worker that dies before finishing leaves the task for another
        worker_prefetch_multiplier=1,
        # A running job needs no broker (its supervisor talks to the database): when Redis goes away it runs on,
        # instead of being cancelled for a redelivery that a restarted Redis could not make anyway.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_retry_on_startup=True,
        task_default_queue="gpu",
        worker_hijack_root_logger=False,
    )
    app.task(name=RUN_JOB_TASK, bind=True)(_run_job)
    return app


@cache
def _worker_state() -> tuple[Settings, Any, Any, Any]:
    """The worker process's settings, sessions, Redis publisher and client, made once on first use."""
    import redis

    from mistudio.platform.db import make_engine, session_factory
    from mistudio.platform.events import RedisPublisher

    settings = load_settings()
    sessions = session_factory(make_engine(settings))
    return settings, sessions, RedisPublisher(settings.redis_url or ""), redis.Redis.from_url(settings.redis_url or "")


def _run_job(task: object, job_id: str) -> None:
    from mistudio.platform.jobs.process import claim_and_supervise

    settings, sessions, publisher, client = _worker_state()
    if settings.model_host == "workers" and _queue_of(task) == "gpu":
        _make_room_on_this_node(settings, job_id)
    raw = client.getdel(SECRET_KEY_PREFIX + job_id)
    secrets = json.loads(raw) if raw else {}
    if not claim_and_supervise(job_id, settings, sessions, publisher.publish, secrets):
        _say_why_not_claimed(sessions, job_id)


def _say_why_not_claimed(sessions: Any, job_id: str) -> None:
    from mistudio.platform.db import session_scope
    from mistudio.platform.jobs.table import Job

    with session_scope(sessions) as session:
        known = session.get(Job, job_id) is not None
    if known:
        log.info("job %s was cancelled or taken before this worker started it", job_id)
    else:  # the message came from a studio on another database: its job waits, queued, for a worker of its own
        log.error("job %s is not in this worker's database: a studio using another database sends its jobs to "
                  "this Redis database. Give each studio a Redis database of its own (the number at the end of "
                  "MISTUDIO_REDIS_URL) and point its workers at the same one", job_id)


def _queue_of(task: object) -> str | None:
    info = getattr(getattr(task, "request", None), "delivery_info", None) or {}
    return info.get("routing_key")


def _make_room_on_this_node(settings: Settings, job_id: str) -> None:
    """The embedded runner's GPU rule, per node: before a GPU job, host workers on this node give their CUDA
    models back (the next interactive request loads them again)."""
    import socket

    from mistudio.platform.host.client import ModelHost

    host = ModelHost(settings)
    try:
        unloaded = host.unload("cuda", node=socket.gethostname())
        if unloaded:
            log.info("before GPU job %s, host workers on this node unloaded %s", job_id, ", ".join(unloaded))
    except Exception:  # the job still runs; it measures the memory really free when it loads
        log.exception("making room on the GPU before job %s failed", job_id)
    finally:
        host.close()


def mark_worker_orphans(sender: Any = None, **_: object) -> None:
    """On worker start (a signal handler): jobs a dead worker on this host left `running` become `interrupted`,
    resumable ones are queued again; then this worker sweeps lapsed leases of every host while it lives."""
    from mistudio.platform.jobs.recovery import LeaseSweeper, mark_orphans_interrupted

    settings, sessions, publisher, _client = _worker_state()
    app = getattr(sender, "app", None) or make_celery(settings)

    def dispatch(job_id: str, queue: str) -> None:
        app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue, task_id=job_id)

    count = mark_orphans_interrupted(sessions, publisher.publish, "celery", settings, dispatch)
    if count:
        log.warning("worker %s marked %d orphaned job(s) as interrupted", os.getpid(), count)
    LeaseSweeper(sessions, publisher.publish, settings, "celery", dispatch).start()
