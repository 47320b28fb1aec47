"""The Celery app of scaled mode. `mistudio worker` starts workers; the server only sends tasks.

A Celery task is a supervisor, exactly like the embedded runner's threads: it claims the job row and
runs the job in a child process of its own. Workers therefore use the `threads` pool, because the
heavy work never runs inside the pool itself.
"""

from __future__ import annotations

import json
import logging
import os
from functools import cache

from celery import Celery
from celery.signals import worker_ready

from mistudio.config import Settings, load_settings

log = logging.getLogger(__name__)


def make_celery(settings: Settings) -> Celery:
    if not settings.redis_url:
        raise ValueError("the Celery runner needs MISTUDIO_REDIS_URL")
    app = Celery("mistudio", broker=settings.redis_url)
    app.conf.update(
        task_ignore_result=True,  # the jobs table is the result store
        task_acks_late=True,  # a worker that dies before finishing leaves the task for another
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        task_default_queue="gpu",
        worker_hijack_root_logger=False,
    )
    app.task(name="mistudio.run_job", bind=True)(_run_job)
    return app


@cache
def _worker_state():  # type: ignore[no-untyped-def]
    """The worker process's settings, sessions and Redis publisher, made once on first use."""
    import redis

    from mistudio.platform.db import make_engine, session_factory
    from mistudio.platform.events import RedisPublisher

    settings = load_settings()
    sessions = session_factory(make_engine(settings))
    return settings, sessions, RedisPublisher(settings.redis_url or ""), redis.Redis.from_url(settings.redis_url or "")


def _run_job(task: object, job_id: str) -> None:
    from mistudio.platform.jobs.celery import SECRET_KEY_PREFIX
    from mistudio.platform.jobs.process import claim_and_supervise

    settings, sessions, publisher, client = _worker_state()
    raw = client.getdel(SECRET_KEY_PREFIX + job_id)
    secrets = json.loads(raw) if raw else {}
    if not claim_and_supervise(job_id, settings, sessions, publisher.publish, secrets):
        log.info("job %s was cancelled or taken before this worker started it", job_id)


@worker_ready.connect
def _on_worker_ready(**_: object) -> None:
    from mistudio.platform.jobs.process import mark_orphans_interrupted

    settings, sessions, publisher, _client = _worker_state()
    count = mark_orphans_interrupted(sessions, publisher.publish, "celery")
    if count:
        log.warning("worker %s marked %d orphaned job(s) as interrupted", os.getpid(), count)


celery_app = make_celery(load_settings()) if os.environ.get("MISTUDIO_REDIS_URL") else None
