"""The machine's real PostgreSQL and Redis, when reachable; tests that need them skip with the reason."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

POSTGRES_ADMIN_URL = os.environ.get("MISTUDIO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _redis_url_of_this_worker(url: str) -> str:
    """One Redis database per pytest-xdist worker (15, 14, …): tests flush theirs and run Celery queues in it, so two
    workers running Redis tests side by side must not share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = int(worker[2:]) if worker[2:].isdigit() else 0
    base, _, database = url.rpartition("/")
    if not database.isdigit() or not base.startswith("redis"):
        return url
    return f"{base}/{(int(database) - offset) % 16}"


REDIS_URL = _redis_url_of_this_worker(os.environ.get("MISTUDIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))


def postgres_unavailable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg  # noqa: F401
        from sqlalchemy import create_engine, text
    except ImportError as exc:
        return f"psycopg is not installed ({exc}); install the `scale` extra"
    engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure means "skip with this reason"
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


def redis_unavailable() -> str | None:
    try:
        import redis
    except ImportError as exc:
        return f"redis is not installed ({exc}); install the `scale` extra"
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is unreachable: {exc}"
    return None


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server for one test; dropped afterwards."""
    from sqlalchemy import create_engine, make_url, text

    name = f"mistudio_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
