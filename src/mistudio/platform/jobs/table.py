"""The `jobs` table: what every long-running action in miStudio records about itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mistudio.platform.db import Base, UTCDateTime, new_id, utcnow
from mistudio.platform.lifecycle import Status

# Jobs and the rows they produce share one vocabulary (`platform.lifecycle`).
JobStatus = Status


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    queue: Mapped[str] = mapped_column(String(16))  # "gpu" (one at a time) or "io" (side by side)
    status: Mapped[str] = mapped_column(String(16), index=True, default=JobStatus.QUEUED.value)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # never holds secrets
    # What the job uses and produces, as [{"type": "model", "id": ...}]: "in use" is decided from these.
    reads: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    writes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # steps a user may want to read
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    runner: Mapped[str] = mapped_column(String(16))  # "local" or "celery"
    host: Mapped[str | None] = mapped_column(String(255))  # machine whose supervisor runs it
    supervisor_pid: Mapped[int | None] = mapped_column(Integer)  # server or worker process watching it
    pid: Mapped[int | None] = mapped_column(Integer)  # the job's own child process
    # Renewed by the supervisor while it runs; a running job whose lease lapsed has lost its supervisor.
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempt: Mapped[int] = mapped_column(Integer, default=1)  # 2, 3...: automatic resumptions of the same work
    resumed_from: Mapped[str | None] = mapped_column(String(32))  # the interrupted job this one continues
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def job_status(self) -> JobStatus:
        return JobStatus(self.status)

    @property
    def active(self) -> bool:
        return self.job_status.active
