"""The job contract every domain uses: `runner.submit(kind, params) -> job`, `runner.cancel(job_id)`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mistudio.config import Settings
from mistudio.platform.db import session_scope
from mistudio.platform.jobs import repository
from mistudio.platform.jobs.process import Publish, publish_job
from mistudio.platform.jobs.registry import get_job_kind
from mistudio.platform.jobs.schemas import JobOut, job_event_data
from mistudio.platform.lifecycle import Resource

QUEUES = ("gpu", "io")  # every job kind waits in one of these (`registry.Queue`)


@dataclass(frozen=True)
class RunnerStatus:
    mode: str
    ok: bool
    detail: str
    missing_queues: list[str] = field(default_factory=list)  # queues no executor serves: their jobs would wait


class Runner(ABC):
    """Creates job rows and gets them executed; the row is the truth, events are a live view."""

    mode: str

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], publish: Publish) -> None:
        self.settings = settings
        self.sessions = sessions
        self.publish = publish

    def submit(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        secrets: dict[str, str] | None = None,
        reads: Sequence[Resource] = (),
        writes: Sequence[Resource] = (),
    ) -> JobOut:
        """Queue a job of a registered kind. `secrets` (tokens) reach the job but are never stored.

        `reads` and `writes` are the resources it uses and produces (`("model", id)`): tracked rows it writes are
        queued under it now, and ended with it; deleting a resource an unfinished job names is refused.
        """
        job_kind = get_job_kind(kind)
        with session_scope(self.sessions) as session:
            job = repository.create_job(session, kind=kind, queue=job_kind.queue, params=params, runner=self.mode,
                                        reads=reads, writes=writes)
            out = JobOut.model_validate(job)
        publish_job(self.publish, out.model_dump(mode="json"))
        self._dispatch(out.id, job_kind.queue, secrets or {})
        return out

    def cancel(self, job_id: str) -> JobOut:
        """Cancel a queued job now, or ask a running one to stop (killed after the grace period)."""
        with session_scope(self.sessions) as session:
            job = repository.request_cancel(session, job_id)
            data = job_event_data(job)
            out = JobOut.model_validate(job)
        publish_job(self.publish, data)
        self._after_cancel(job_id)
        return out

    def start(self) -> None:
        """Begin executing jobs (called once by the server at start-up)."""

    def stop(self) -> None:
        """Stop executing jobs (called at server shutdown)."""

    @abstractmethod
    def status(self) -> RunnerStatus: ...

    @abstractmethod
    def _dispatch(self, job_id: str, queue: str, secrets: dict[str, str]) -> None: ...

    def _after_cancel(self, job_id: str) -> None:
        """Hook for runners that can act on a cancel faster than the supervisor's poll."""


def make_runner(settings: Settings, sessions: sessionmaker[Session], publish: Publish) -> Runner:
    if settings.runner_mode == "celery":
        from mistudio.platform.jobs.celery import CeleryRunner

        return CeleryRunner(settings, sessions, publish)
    from mistudio.platform.jobs.local import LocalRunner

    return LocalRunner(settings, sessions, publish)
