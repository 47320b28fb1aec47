"""Database engine, sessions and Alembic migrations; SQLite (WAL) by default, PostgreSQL when configured."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, Select, create_engine, event, func, make_url, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from mistudio.config import Settings
from mistudio.errors import NotFound, SettingsError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone, so we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base of every table; Alembic compares migrations against its metadata."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    """A 32-character hex id: safe in URLs and file names."""
    return uuid.uuid4().hex


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the server read while a job process writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(settings: Settings) -> Engine:
    """Create the engine for the configured database (does not connect yet)."""
    url = settings.resolved_database_url
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError for unparseable URLs
        raise SettingsError(
            f"MISTUDIO_DATABASE_URL={url!r} is not a database URL ({exc}); "
            "use e.g. postgresql+psycopg://user@host:5432/db or unset it for the embedded SQLite"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg2", ""):
        # psycopg 3 is what the `scale` extra installs; accept plain postgresql:// URLs too.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def check_connection(engine: Engine) -> None:
    """Connect once; an unreachable database becomes one line naming the setting and the fix."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (OperationalError, SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise SettingsError(
            f"MISTUDIO_DATABASE_URL: cannot connect to {redact_url(str(engine.url))}: {reason}. "
            "Start the database or correct the URL (unset it to use the embedded SQLite)."
        ) from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine):  # -> alembic.config.Config (imported lazily: alembic is slow to import)
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision` (idempotent; safe when several processes start at once)."""
    from alembic import command

    check_connection(engine)
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)


# Any fixed 64-bit key: PostgreSQL advisory locks are per database, so this only serialises miStudio's migrations.
_MIGRATION_LOCK_KEY = 0x6D6953747564696F  # "miStudio"


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """One migrating process at a time. A server and its workers started together on a fresh database would
    otherwise each see no version table and each try to create it (one fails with a duplicate-key error)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            connection.commit()  # the lock belongs to the session, not to this transaction
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                connection.commit()
    elif engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        from filelock import FileLock

        with FileLock(f"{engine.url.database}.migrate.lock"):
            yield
    else:
        yield


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def newest_first_page(session: Session, query: Select[Any], table: Any, page: int, limit: int) -> tuple[list[Any], int]:
    """One page of `query`'s rows, newest (`created_at`) first, and how many rows it has in all."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(table.created_at.desc(), table.id).offset((page - 1) * limit)
                           .limit(limit)).all()
    return list(rows), total


Row = TypeVar("Row")


def row_or_404(session: Session, table: type[Row], row_id: str, noun: str) -> Row:
    """The row with this id, or NotFound saying "{noun} '{id}' not found" (404)."""
    row = session.get(table, row_id)
    if row is None:
        raise NotFound(f"{noun} {row_id!r} not found", details={"id": row_id})
    return row
