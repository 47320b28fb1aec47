"""The lifecycle of work a row tracks: one status vocabulary, the columns of every row a job produces, and what
the API says about such a row (whether it is active, resumable, retryable or ready).

Jobs and the rows they produce (a model download, a variant, a dataset import, a tokenization, an extraction;
trainings and analyses next) share the vocabulary, so a row never needs translating to or from its job.
What a user sees beyond it (a model "incompatible", a variant "loading as q4") is a domain field or the message.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, Field
from sqlalchemy import Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mistudio.errors import Conflict

StatusName = Literal["queued", "running", "completed", "failed", "cancelled", "interrupted"]
# How a stopped row starts again: "resume" continues from what is saved, "retry" runs its job again.
Restart = Literal["resume", "retry"]
# A thing a job reads or writes, e.g. ("model", model_id): what "in use" and delete refusals are decided by.
Resource = tuple[str, str]


class Status(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def active(self) -> bool:
        """Something is (or will soon be) working on it."""
        return self in (Status.QUEUED, Status.RUNNING)

    @property
    def finished(self) -> bool:
        return not self.active

    @property
    def stopped(self) -> bool:
        """Ended without completing: failed, cancelled, or cut off by a restart."""
        return self in (Status.FAILED, Status.CANCELLED, Status.INTERRUPTED)


assert set(get_args(StatusName)) == {status.value for status in Status}, "StatusName and Status disagree"


class TrackedRow:
    """Mixin of every table whose rows a job produces: status, message, job_id and progress, and the flags.

    `resource` names the row in jobs' reads and writes; `restart` says how a stopped row starts again (None: it
    does not). The message is the job's progress line while it runs and the reason once it has stopped.
    """

    resource: ClassVar[str]
    restart: ClassVar[Restart | None] = None

    status: Mapped[str] = mapped_column(String(16), index=True, default=Status.QUEUED.value)
    message: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(32))  # the job producing (or that produced) the row
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # in [0, 1], mirrored from the job

    @property
    def lifecycle(self) -> Status:
        return Status(self.status)

    @property
    def active(self) -> bool:
        return self.lifecycle.active

    @property
    def resumable(self) -> bool:
        return self.restart == "resume" and self.lifecycle.stopped

    @property
    def retryable(self) -> bool:
        return self.restart == "retry" and self.lifecycle.stopped

    @property
    def ready(self) -> bool:
        """Its product can be used (a domain adds its own conditions, e.g. a model must be compatible)."""
        return self.lifecycle == Status.COMPLETED


class TrackedOut(BaseModel):
    """The lifecycle part of every such row in the API; the web UI decides from the flags, never from statuses."""

    status: StatusName
    message: str | None = Field(description="the job's progress line while it runs; the reason once it stopped")
    progress: float = Field(description="0 to 1, as the job last reported it")
    job_id: str | None
    active: bool = Field(description="queued or running: a job is working on it and it can be cancelled")
    resumable: bool = Field(description="stopped part-way; resuming continues from what is saved")
    retryable: bool = Field(description="stopped; its job can be run again")
    ready: bool = Field(description="completed and usable")


def cancellable_job(row: TrackedRow, what: str) -> str:
    """The id of the job working on `row`; a Conflict naming the status when nothing is (`what`: "model 'x'")."""
    if not row.active or not row.job_id:
        raise Conflict(f"{what} is {row.status}: there is nothing to cancel", details={"status": row.status})
    return row.job_id


def lifecycle_fields(row: TrackedRow) -> dict[str, Any]:
    """The TrackedOut fields of a row, for schemas built from a dict rather than from the row."""
    return {name: getattr(row, name) for name in TrackedOut.model_fields}
