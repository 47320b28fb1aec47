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
