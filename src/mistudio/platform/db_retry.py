"""Riding out a database outage (a PostgreSQL restart, a dropped connection) for a bounded time.

A job's writes — progress, log notes, its rows, its final status — are retried while the database is unreachable,
for at most `database_retry_seconds`; past that they raise `DatabaseUnavailable`, so the job stops instead of
working on unrecorded. The engine's `pool_pre_ping` replaces the dead pooled connections once the server is back.
Only errors that say "the database is not there" are retried: a wrong statement fails at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mistudio.errors import DatabaseUnavailable
from mistudio.platform.db import session_scope

log = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_BACKOFF_S = 0.2
MAX_BACKOFF_S = 2.0


def database_unreachable(exc: BaseException) -> bool:
    """True for an error meaning the database went away or is busy (worth retrying), not a bad statement."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):
        # SQLite's OperationalError also means "no such table"; only a lock held by another process passes.
        text = str(exc.orig).lower()
        return "locked" in text or "busy" in text
    return True  # psycopg: connection refused, terminated by an administrator, server closed the connection


def database_error_reason(exc: BaseException) -> str:
    """The first line of the driver's own message (SQLAlchemy's wrapper adds the statement and a link)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unavailable_error(seconds: float, exc: BaseException) -> DatabaseUnavailable:
    reason = database_error_reason(exc)
    return DatabaseUnavailable(
        f"the database was unreachable for more than {seconds:g}s ({reason}); the job stopped, keeping everything "
        "already stored. Once the database is back a resumable job resumes by itself; raise "
        "MISTUDIO_DATABASE_RETRY_SECONDS to ride out longer outages")


class OutageClock:
    """Times one outage: `failed` raises DatabaseUnavailable once the database has been gone for too long,
    `recovered` resets it. For writes that may be skipped and retried later (throttled progress)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._since: float | None = None

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self._since is None:
            self._since = now
            log.warning("the database is unreachable (%s); retrying for up to %gs", database_error_reason(exc),
                        self.seconds)
        if now - self._since > self.seconds:
            raise unavailable_error(self.seconds, exc) from exc

    def recovered(self) -> None:
        if self._since is not None:
            log.warning("the database is back after %.1fs", time.monotonic() - self._since)
        self._since = None


def retry_database(work: Callable[[], T], seconds: float, what: str) -> T:
    """`work()`, retried with backoff while the database is unreachable, for at most `seconds` in all."""
    deadline = time.monotonic() + seconds
    backoff = FIRST_BACKOFF_S
    while True:
        try:
            return work()
        except DBAPIError as exc:
            if not database_unreachable(exc):
                raise
            if time.monotonic() + backoff > deadline:
                raise unavailable_error(seconds, exc) from exc
            log.warning("%s: the database is unreachable (%s); retrying in %.1fs", what, database_error_reason(exc),
                        backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


def in_session(sessions: sessionmaker[Session], work: Callable[[Session], T], seconds: float, what: str) -> T:
    """Run `work(session)` in one committed transaction, the whole transaction retried through an outage."""
    def attempt() -> T:
        with session_scope(sessions) as session:
            return work(session)

    return retry_database(attempt, seconds, what)
