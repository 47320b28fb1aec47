"""The public view of a job: the REST body and the `job.updated` event data are this one model."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mistudio.platform.events import declare_channel
from mistudio.platform.jobs.table import Job
from mistudio.platform.lifecycle import StatusName


class JobResource(BaseModel):
    """Something a job reads or writes: a model, a dataset, an extraction, … by its id."""

    type: str = Field(examples=["model"])
    id: str


class JobLogEntry(BaseModel):
    time: dt.datetime
    level: Literal["info", "warning", "error"]
    text: str


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    queue: str
    status: StatusName
    active: bool = Field(description="queued or running: it can still be cancelled")
    progress: float
    message: str | None
    error: str | None
    params: dict[str, Any]
    reads: list[JobResource] = Field(description="what the job uses; deleting any of it is refused until it ends")
    writes: list[JobResource] = Field(description="what the job produces: rows whose status follows the job's")
    result: dict[str, Any] | None
    log: list[JobLogEntry]
    cancel_requested: bool
    runner: str
    attempt: int = Field(description="1, or 2, 3…: an automatic resumption of interrupted work")
    resumed_from: str | None = Field(description="the interrupted job this one continues")
    lease_expires_at: dt.datetime | None = Field(description="while running: renewed by its supervisor; once past, "
                                                 "the job is interrupted (its worker is gone)")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def job_event_data(job: Job) -> dict[str, Any]:
    """JSON-ready body of a `job.updated` event."""
    return JobOut.model_validate(job).model_dump(mode="json")


# Every job change goes to `jobs` (all jobs) and `jobs/{job_id}` (just that one).
declare_channel("jobs", {"job.updated": JobOut})
declare_channel("jobs/{job_id}", {"job.updated": JobOut})
