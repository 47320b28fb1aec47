"""The modules that define tables, so Alembic and tests see every table.

Platform names only its own; the composition root (`mistudio.domains`) registers the domains' tables modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

PLATFORM_TABLE_MODULES = ["mistudio.platform.jobs.table"]
_TABLE_MODULES: list[str] = list(PLATFORM_TABLE_MODULES)


def register_table_modules(modules: Iterable[str]) -> None:
    """Name modules whose ORM classes belong in `Base.metadata` (imported by `import_all_tables`)."""
    for module in modules:
        if module not in _TABLE_MODULES:
            _TABLE_MODULES.append(module)


def table_modules() -> list[str]:
    """Platform's tables modules, then the registered ones, in order."""
    return list(_TABLE_MODULES)


def import_all_tables() -> None:
    """Import every known tables module, so `Base.metadata` holds every table (Alembic compares against it)."""
    for module in _TABLE_MODULES:
        importlib.import_module(module)
