"""Alembic migrations: from empty to head on SQLite and PostgreSQL, and in step with the ORM tables."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from mistudio.config import Settings
from mistudio.platform.db import Base, alembic_config, current_revision, make_engine, upgrade_database
from mistudio.platform.tables import import_all_tables


def head_revision(engine) -> str:  # type: ignore[no-untyped-def]
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def assert_upgrades_from_empty(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        assert current_revision(engine) is None
        upgrade_database(engine)
        assert current_revision(engine) == head_revision(engine)
        assert "jobs" in inspect(engine).get_table_names()
        upgrade_database(engine)  # a second run is a no-op, not an error
        import_all_tables()
        with engine.connect() as connection:
            drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            connection.execute(text("SELECT count(*) FROM jobs"))
        assert drift == [], f"tables and migrations disagree; write a migration for: {drift}"
    finally:
        engine.dispose()


def test_migrations_upgrade_from_empty_on_sqlite(settings: Settings) -> None:
    assert_upgrades_from_empty(settings)
    assert (settings.home / "mistudio.db").exists()


def test_sqlite_runs_in_wal_mode(settings: Settings) -> None:
    engine = make_engine(settings)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


@pytest.mark.postgres
def test_migrations_upgrade_from_empty_on_postgresql(settings: Settings, postgres_url: str) -> None:
    assert_upgrades_from_empty(settings.model_copy(update={"database_url": postgres_url}))


def _upgrade_after(barrier, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """In a process of its own (Alembic's context is process-global): import everything, then migrate together."""
    engine = make_engine(settings)
    alembic_config(engine)
    barrier.wait(60)
    upgrade_database(engine)


def _upgrade_at_once(settings: Settings, processes: int = 3) -> None:
    """Several processes (a server and its workers started together) migrating one fresh database at once."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    started = [context.Process(target=_upgrade_after, args=(barrier, settings)) for _ in range(processes)]
    for process in started:
        process.start()
    for process in started:
        process.join(120)
    assert [process.exitcode for process in started] == [0] * processes  # a failure prints its traceback
    engine = make_engine(settings)
    try:
        assert current_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()


def test_processes_started_together_migrate_a_fresh_sqlite_database_once(settings: Settings) -> None:
    _upgrade_at_once(settings)


@pytest.mark.postgres
def test_processes_started_together_migrate_a_fresh_postgresql_database_once(settings: Settings,
                                                                             postgres_url: str) -> None:
    _upgrade_at_once(settings.model_copy(update={"database_url": postgres_url}))
