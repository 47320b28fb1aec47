"""`mistudio worker`'s entry (`celery -A mistudio.worker:celery_app worker`): the scaled mode's job executor.

A face like the API app: it registers the domains' job kinds with platform, then serves platform's Celery
app. The jobs themselves (claim, child process, supervision) are platform's (`platform/jobs/celery_app.py`).
"""

from __future__ import annotations

import os

from celery.signals import worker_ready

from mistudio.config import load_settings
from mistudio.domains import register_domains
from mistudio.platform.jobs.celery_app import make_celery, mark_worker_orphans

register_domains()
# Only a worker process fires worker_ready, so the server (which builds the same app to send tasks) never runs it.
worker_ready.connect(mark_worker_orphans)
celery_app = make_celery(load_settings()) if os.environ.get("MISTUDIO_REDIS_URL") else None
