"""The composition root's list of domains: which modules hold their tables, job kinds and model-host handlers.

Platform runs jobs and migrations without naming a domain; every entry point (the API app, the CLI, the Celery
worker, the tests) calls `register_domains()` before it opens a runtime. A new domain adds its modules here.
"""

from __future__ import annotations

from mistudio.platform.host.registry import register_host_modules
from mistudio.platform.jobs.registry import register_job_modules
from mistudio.platform.tables import register_table_modules

TABLE_MODULES = [
    "mistudio.models.tables",
    "mistudio.datasets.tables",
    "mistudio.extraction.tables",
    "mistudio.templates.tables",
    "mistudio.training.tables",
    "mistudio.features.tables",
    "mistudio.steering.tables",
]
TASK_MODULES = [
    "mistudio.models.tasks",
    "mistudio.datasets.tasks",
    "mistudio.extraction.tasks",
    "mistudio.training.tasks",
    "mistudio.features.tasks",
    "mistudio.features.labels_tasks",
    "mistudio.features.maps_tasks",
]

# Imported by the model host process only (they import torch): what interactive requests run.
HOST_MODULES = [
    "mistudio.models.host",
    "mistudio.extraction.host",
    "mistudio.training.host",
    "mistudio.steering.host",
    "mistudio.features.probe_host",
]


def register_domains() -> None:
    """Tell platform where the domains' tables and job kinds are (by name: nothing is imported yet; idempotent)."""
    register_table_modules(TABLE_MODULES)
    register_job_modules(TASK_MODULES)
    register_host_modules(HOST_MODULES)
