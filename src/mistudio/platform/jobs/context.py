"""What a job body sees: progress reporting, domain events, log notes and cooperative cancel."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from mistudio.config import Settings
from mistudio.errors import DatabaseUnavailable, MistudioError
from mistudio.platform.db import session_scope
from mistudio.platform.db_retry import OutageClock, database_unreachable, in_session
from mistudio.platform.events import event_data
from mistudio.platform.jobs import repository
from mistudio.platform.jobs.schemas import job_event_data
from mistudio.platform.jobs.table import JobStatus
from mistudio.platform.lifecycle import Resource, Status
from mistudio.platform.storage import Storage
from mistudio.platform.watchdog import exit_process_after

# A job row is written at most this often; the last value is always flushed.
PROGRESS_WRITE_INTERVAL_S = 0.5
# Without settings (a bare context in a test) a database outage is ridden out this long, as by default.
DEFAULT_DATABASE_RETRY_S = 30.0

SendEvent = Callable[[str, str, Any], None]


class JobCancelled(Exception):
    """Raised by `ctx.raise_if_cancelled()`; the job ends as `cancelled`, not `failed`."""


class JobContext:
    """Handed to every job body as its first argument.

    Long loops call `ctx.progress(fraction, message)` as often as they like (row writes are throttled to
    two a second) and check `ctx.should_stop()` between steps.
    """

    def __init__(
        self,
        job_id: str,
        sessions: sessionmaker[Session],
        send_event: SendEvent,
        stop_requested: Callable[[], bool],
        secrets: dict[str, str] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.job_id = job_id
        self.secrets = secrets or {}
        self.settings = settings
        self._sessions = sessions
        self._send_event = send_event
        self._stop_requested = stop_requested
        self._lock = threading.Lock()
        self._pending: tuple[float | None, str | None] | None = None
        self._last_write = 0.0
        self._tracked: tuple[Any, str] | None = None  # the row progress is mirrored onto (see `track`)
        self._flusher = threading.Thread(target=self._flush_periodically, daemon=True)
        self._closed = threading.Event()
        self._retry_seconds = settings.database_retry_seconds if settings is not None else DEFAULT_DATABASE_RETRY_S
        self._outage = OutageClock(self._retry_seconds)
        self._database_lost: DatabaseUnavailable | None = None
        self._flusher.start()

    def progress(self, fraction: float | None = None, message: str | None = None) -> None:
        """Report progress in [0, 1] and/or a short status message."""
        if self._database_lost is not None:
            raise self._database_lost
        if fraction is not None:
            fraction = min(max(float(fraction), 0.0), 1.0)
        with self._lock:
            previous = self._pending or (None, None)
            self._pending = (
                fraction if fraction is not None else previous[0],
                message if message is not None else previous[1],
            )
            due = time.monotonic() - self._last_write >= PROGRESS_WRITE_INTERVAL_S
        if due:
            self.flush()

    def note(self, text: str, level: str = "info") -> None:
        """Add a line to the job's log (shown with the job), e.g. a fallback that was taken."""
        def append(session: Session) -> dict[str, Any]:
            job = repository.get_job(session, self.job_id)
            repository.append_log(job, level, text)
            session.flush()
            return job_event_data(job)

        self._publish_job(in_session(self._sessions, append, self._retry_seconds, f"job {self.job_id}: log note"))

    def emit(self, channel: str, event: str, payload: BaseModel) -> None:
        """Publish a domain event (e.g. on `models/{id}/progress`) to live clients.

        `payload` must be the model its channel declares for `event` (`platform.events.CHANNELS`): an event the
        contract does not describe fails the job here, where it is built, instead of reaching the web client."""
        self._send_event(channel, event, event_data(channel, event, payload))

    @property
    def sessions(self) -> sessionmaker[Session]:
        """Database sessions for the job body's own domain rows."""
        return self._sessions

    def update_row(self, table: type[Any], row_id: str, **fields: Any) -> None:
        """Set `fields` on one of the job body's domain rows (a model, a dataset, an extraction, …).

        A row deleted while the job ran is an error naming it, so the job fails instead of writing into nothing."""
        def write(session: Session) -> None:
            row = session.get(table, row_id)
            if row is None:
                what = table.__tablename__[:-1].replace("_", " ")  # "models" → "model", "model_variants" → …
                raise MistudioError(f"{what} {row_id!r} was deleted while its job ran")
            for name, value in fields.items():
                setattr(row, name, value)

        in_session(self._sessions, write, self._retry_seconds, f"job {self.job_id}: {table.__tablename__} row")

    def studio_settings(self) -> Settings:
        """The studio's settings (every runner hands them to its jobs)."""
        if self.settings is None:
            raise RuntimeError("this JobContext was built without settings, so it has no data directory")
        return self.settings

    @property
    def storage(self) -> Storage:
        return Storage.from_settings(self.studio_settings())

    def submit(self, kind: str, params: dict[str, Any], *, reads: Sequence[Resource] = (),
               writes: Sequence[Resource] = ()) -> str:
        """Queue a follow-up job (e.g. quantize after download) on this job's runner; returns its id.

        Follow-ups carry no secrets: anything needing a token must be done by the job that has it.
        """
        from mistudio.platform.jobs.runner import make_runner

        if self.settings is None:
            raise RuntimeError("this JobContext was built without settings, so it cannot submit jobs")
        runner = make_runner(self.settings, self._sessions, self._send_event)
        return runner.submit(kind, params, reads=reads, writes=writes).id

    def track(self, table: type[Any] | None, row_id: str | None = None) -> None:
        """Mirror progress and its message onto this row while it is running (None: stop), so the row alone
        renders right after a page reload. `lifecycle.run_tracked` does this for the row a body produces."""
        self.flush()  # what was reported before belongs to the previous row (or none)
        self._tracked = (table, row_id) if table is not None and row_id is not None else None

    @contextlib.contextmanager
    def time_limit(self, seconds: float, message: str) -> Iterator[None]:
        """Fail the job with `message` if the block runs longer than `seconds`.

        The block may be stuck inside library code that cannot be interrupted (a model load), so on
        timeout the job is recorded as failed and its whole process exits.
        """
        def fail_job() -> None:
            with session_scope(self._sessions) as session:
                job = repository.get_job(session, self.job_id)
                repository.finish(session, job, JobStatus.FAILED, message="failed", error=message)
                repository.append_log(job, "error", message)
                session.flush()
                data = job_event_data(job)
            self._publish_job(data)

        with exit_process_after(seconds, fail_job, name="job-time-limit"):
            yield

    def should_stop(self) -> bool:
        return self._stop_requested()

    def raise_if_cancelled(self) -> None:
        if self.should_stop():
            raise JobCancelled("cancelled by request")

    def flush(self) -> None:
        """Write the latest pending progress to the row now.

        While the database is unreachable the value stays pending (the next flush writes it) and the job works
        on; past `database_retry_seconds` of outage this raises DatabaseUnavailable, so the job stops."""
        with self._lock:
            pending, self._pending = self._pending, None
            self._last_write = time.monotonic()
        if pending is None:
            return
        fraction, message = pending
        try:
            with session_scope(self._sessions) as session:
                job = repository.get_job(session, self.job_id)
                if fraction is not None:
                    job.progress = fraction
                if message is not None:
                    job.message = message
                session.flush()
                data = job_event_data(job)
                if self._tracked is not None:
                    self._mirror(session, fraction, message)
        except DBAPIError as exc:
            if not database_unreachable(exc):
                raise
            with self._lock:  # keep it for the next flush, under anything reported meanwhile
                newer = self._pending or (None, None)
                self._pending = (newer[0] if newer[0] is not None else fraction,
                                 newer[1] if newer[1] is not None else message)
            self._outage.failed(exc)
            return
        self._outage.recovered()
        self._publish_job(data)

    def _mirror(self, session: Session, fraction: float | None, message: str | None) -> None:
        table, row_id = self._tracked  # type: ignore[misc]
        values = {key: value for key, value in (("progress", fraction), ("message", message)) if value is not None}
        # Only a running row: a late flush must not write a progress line over its ending.
        session.execute(update(table).where(table.id == row_id, table.status == Status.RUNNING.value).values(**values))

    def close(self) -> None:
        self._closed.set()
        self.flush()

    def _publish_job(self, data: dict[str, Any]) -> None:
        self._send_event("jobs", "job.updated", data)
        self._send_event(f"jobs/{self.job_id}", "job.updated", data)

    def _flush_periodically(self) -> None:
        # A job that reports once and then works silently still gets its last value written.
        while not self._closed.wait(PROGRESS_WRITE_INTERVAL_S):
            with self._lock:
                due = self._pending is not None
            if due:
                try:
                    self.flush()
                except DatabaseUnavailable as exc:
                    self._database_lost = exc  # raised by the body's next progress call, in the job's thread
