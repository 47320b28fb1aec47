"""Use cases of the system domain: health, listing, reading and cancelling jobs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cache

from sqlalchemy import text

from mistudio import __version__
from mistudio.platform.db import redact_url, session_scope
from mistudio.platform.jobs import repository
from mistudio.platform.jobs.schemas import JobOut
from mistudio.platform.runtime import Runtime
from mistudio.system.schemas import (
    DatabaseHealth,
    DeviceHealth,
    DiskHealth,
    HealthOut,
    RedisHealth,
    RunnerHealth,
)


def health(runtime: Runtime) -> HealthOut:
    """What a user checks first when something looks wrong."""
    database = _database_health(runtime)
    status = runtime.runner.status()
    detail, missing = status.detail, list(status.missing_queues)
    if runtime.settings.model_host == "workers" and not _host_workers_alive(runtime.settings.redis_url):
        missing.append("interactive")  # generate and steering requests would fail after their queue timeout
        detail += "; no model host worker serves interactive requests: start one with `mistudio worker --queues " \
                  "interactive` on a GPU node"
    runner = RunnerHealth(mode=status.mode, ok=status.ok, detail=detail,  # type: ignore[arg-type]
                          missing_queues=missing)
    redis = _redis_health(runtime)
    usage = runtime.storage.disk_usage()
    disk = DiskHealth(path=str(runtime.storage.home), free_bytes=usage.free, total_bytes=usage.total)
    healthy = database.ok and runner.ok and redis.ok is not False
    return HealthOut(
        status="ok" if healthy else "degraded",
        version=__version__,
        database=database,
        runner=runner,
        redis=redis,
        disk=disk,
        device=device_health(runtime.settings.device),
    )


def _host_workers_alive(redis_url: str | None) -> bool:
    from mistudio.platform.host.redis_link import live_hosts, redis_client

    try:
        return bool(redis_url) and bool(live_hosts(redis_client(redis_url or "")))
    except Exception:  # Redis down: the redis section of the health says so
        return False


def _database_health(runtime: Runtime) -> DatabaseHealth:
    dialect = runtime.engine.dialect.name
    started = time.perf_counter()
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ok"; the text tells the user why
        return DatabaseHealth(ok=False, dialect=dialect, detail=f"{redact_url(str(runtime.engine.url))}: {exc}")
    elapsed_ms = (time.perf_counter() - started) * 1000
    return DatabaseHealth(ok=True, dialect=dialect, detail=f"connected in {elapsed_ms:.1f} ms")


def _redis_health(runtime: Runtime) -> RedisHealth:
    url = runtime.settings.redis_url
    if not url:
        return RedisHealth(configured=False, ok=None, detail="not configured (embedded mode)")
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return RedisHealth(configured=True, ok=False, detail=f"{redact_url(url)}: {exc}")
    return RedisHealth(configured=True, ok=True, detail=redact_url(url))


@cache
def device_health(device_setting: str) -> DeviceHealth:
    """The compute device jobs will use (torch is imported once, then cached)."""
    import torch

    wants_cuda = device_setting != "cpu"
    if wants_cuda and torch.cuda.is_available():
        index = int(device_setting.split(":")[1]) if ":" in device_setting else 0
        props = torch.cuda.get_device_properties(index)
        return DeviceHealth(kind="cuda", name=f"cuda:{index} {props.name}", memory_total_bytes=props.total_memory)
    import platform

    import psutil

    name = f"{platform.machine()}, {psutil.cpu_count()} cores"
    return DeviceHealth(kind="cpu", name=name, memory_total_bytes=psutil.virtual_memory().total)


def list_jobs(
    runtime: Runtime, *, statuses: Sequence[str] = (), active: bool | None = None, kind: str | None = None,
    page: int = 1, limit: int = 50,
) -> tuple[list[JobOut], int]:
    with session_scope(runtime.sessions) as session:
        jobs, total = repository.list_jobs(session, statuses=statuses, active=active, kind=kind, page=page,
                                           limit=limit)
        return [JobOut.model_validate(job) for job in jobs], total


def get_job(runtime: Runtime, job_id: str) -> JobOut:
    with session_scope(runtime.sessions) as session:
        return JobOut.model_validate(repository.get_job(session, job_id))


def cancel_job(runtime: Runtime, job_id: str) -> JobOut:
    return runtime.runner.cancel(job_id)
