"""The one wrapper that runs a job body against the row it produces: running → completed / failed / cancelled.

Every domain's job bodies go through `run_tracked`, so a row's status, message and progress are written one way.
A row whose job ended without its body seeing it (killed, cut off by a restart) is settled by the job's ending
itself (`resources.settle_written_rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mistudio.errors import UserError
from mistudio.platform.jobs.context import JobCancelled, JobContext
from mistudio.platform.lifecycle import Status, TrackedRow

OnStop = Callable[[Status], dict[str, Any]]
OnChange = Callable[[Status, str | None], None]


@dataclass
class Completed:
    """What a tracked body returns: the job's result, and the fields (and message) its row completes with.

    The fields are written together with `completed`, so a row is never seen ready with half its fields."""

    result: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)
    message: str | None = None


def run_tracked(
    ctx: JobContext,
    table: type[TrackedRow],
    row_id: str,
    body: Callable[[], Completed],
    *,
    cancelled_by: tuple[type[BaseException], ...] = (),
    on_stop: OnStop | None = None,
    on_change: OnChange | None = None,
) -> dict[str, Any]:
    """Run `body` with its row `running` (progress mirrored onto it), then end the row as the body ended.

    - returned: `completed` with the body's fields and message, progress 1;
    - raised `JobCancelled` or one of `cancelled_by` (a library's own "stopped on request"): `cancelled`;
    - raised anything else: `failed`, with the error's message.
    On a cancel or failure `on_stop(status)` returns fields to record with the ending (bytes still on disk, a
    fuller "message"); it is where a domain removes partial files. `on_change(status, message)` is told of every
    change (a domain's own live event). The exception goes on, as `JobCancelled` for a cancel, so the job ends
    the same way as its row.
    """
    _write(ctx, table, row_id, on_change, Status.RUNNING, None, {"job_id": ctx.job_id})
    ctx.track(table, row_id)
    try:
        done = body()
    except JobCancelled as exc:
        _stop(ctx, table, row_id, on_stop, on_change, Status.CANCELLED, str(exc) or "cancelled by request")
        raise
    except cancelled_by as exc:
        message = _stop(ctx, table, row_id, on_stop, on_change, Status.CANCELLED, "cancelled by request")
        raise JobCancelled(message) from exc
    except UserError as exc:
        _stop(ctx, table, row_id, on_stop, on_change, Status.FAILED, exc.message)
        raise
    except Exception as exc:  # a bug in a body or a library: the row still says what happened
        _stop(ctx, table, row_id, on_stop, on_change, Status.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    ctx.track(None)
    _write(ctx, table, row_id, on_change, Status.COMPLETED, done.message, {**done.fields, "progress": 1.0})
    return done.result


def _stop(ctx: JobContext, table: type[TrackedRow], row_id: str, on_stop: OnStop | None, on_change: OnChange | None,
          status: Status, message: str) -> str:
    ctx.track(None)
    fields = on_stop(status) if on_stop is not None else {}
    message = fields.pop("message", None) or message
    _write(ctx, table, row_id, on_change, status, message, fields)
    return message


def _write(ctx: JobContext, table: type[TrackedRow], row_id: str, on_change: OnChange | None, status: Status,
           message: str | None, fields: dict[str, Any]) -> None:
    ctx.update_row(table, row_id, status=status.value, message=message, **fields)
    if on_change is not None:
        on_change(status, message)
