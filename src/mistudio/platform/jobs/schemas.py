"""The public view of a job: the REST body and the `job.updated` event data are this one model."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mistudio.platform.events import declare_channel
from mistudio.platform.jobs.table import Job

JobStatusName = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]


class JobLogEntry(BaseModel):
    time: dt.datetime
    level: Literal["info", "warning", "error"]
    text: str


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    queue: str
    status: JobStatusName
    progress: float
    message: str | None
    error: str | None
    params: dict[str, Any]
    result: dict[str, Any] | None
    log: list[JobLogEntry]
    cancel_requested: bool
    runner: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def job_event_data(job: Job) -> dict[str, Any]:
    """JSON-ready body of a `job.updated` event."""
    return JobOut.model_validate(job).model_dump(mode="json")


# Every job change goes to `jobs` (all jobs) and `jobs/{job_id}` (just that one).
declare_channel("jobs", {"job.updated": JobOut})
declare_channel("jobs/{job_id}", {"job.updated": JobOut})
