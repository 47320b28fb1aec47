"""The one list of modules that define tables, so Alembic and tests see every table."""

from __future__ import annotations

import importlib

TABLE_MODULES = [
    "mistudio.platform.jobs.table",
    "mistudio.models.tables",
    "mistudio.datasets.tables",
    "mistudio.extraction.tables",
    "mistudio.templates.tables",
]


def import_all_tables() -> None:
    for module in TABLE_MODULES:
        importlib.import_module(module)
