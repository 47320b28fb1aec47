"""Alembic environment: runs against the engine miStudio passes in (no alembic.ini, no URL in files)."""

from __future__ import annotations

from alembic import context

from mistudio.platform.db import Base
from mistudio.platform.tables import import_all_tables

# The jobs table and every tables module the entry point registered (`mistudio.domains.register_domains()`);
# upgrades run the migration scripts either way, the metadata only matters for comparing tables and migrations.
import_all_tables()
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place; batch mode rebuilds tables portably.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run `mistudio db upgrade`")
run_migrations_online()
