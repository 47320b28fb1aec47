"""`mistudio jobs list|show|cancel|watch`."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from mistudio.cli.common import console, guarded, id_table, open_runtime, progress_bar, resolve, shortened, styled
from mistudio.platform.jobs.schemas import JobOut
from mistudio.system import service

jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
JobArgument = Annotated[str, typer.Argument(help="a job id, or a unique prefix of one")]


def _status(job: JobOut) -> str:
    return styled(job.status)


@jobs_app.command("list")
def list_jobs(
    status: Annotated[list[str] | None, typer.Option(help="filter by status (repeatable)")] = None,
    kind: Annotated[str | None, typer.Option(help="filter by kind")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """List jobs, newest first."""
    runtime = open_runtime()
    jobs, total = guarded(lambda: service.list_jobs(runtime, statuses=status or [], kind=kind, limit=limit))
    short = shortened(runtime, "job", [job.id for job in jobs])
    table = id_table("kind", "status", "progress", "message", "created", ids=short.values())
    for job in jobs:
        table.add_row(short[job.id], job.kind, _status(job), f"{job.progress:.0%}", job.message or job.error or "",
                      job.created_at.strftime("%Y-%m-%d %H:%M:%S"))
    console.print(table)
    console.print(f"{len(jobs)} of {total} job(s)")


@jobs_app.command("show")
def show(job_id: JobArgument, as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Show one job with its parameters, result, error and log."""
    runtime = open_runtime()
    job = guarded(lambda: service.get_job(runtime, resolve(runtime, "job", job_id)))
    if as_json:
        console.print_json(job.model_dump_json())
        return
    console.print(f"[bold]{job.kind}[/] {job.id}  {_status(job)}  {job.progress:.0%}  {job.message or ''}")
    console.print(f"params: {json.dumps(job.params)}")
    if job.result is not None:
        console.print(f"result: {json.dumps(job.result)}")
    if job.error:
        console.print(f"[red]error: {job.error}[/]")
    for entry in job.log:
        console.print(f"  {entry.time:%H:%M:%S} {entry.level}: {entry.text}")


@jobs_app.command("cancel")
def cancel(job_id: JobArgument) -> None:
    """Cancel a queued job, or ask a running one to stop (it is killed after the grace period)."""
    runtime = open_runtime()
    job = guarded(lambda: service.cancel_job(runtime, resolve(runtime, "job", job_id)))
    console.print(f"{job.id}: {_status(job)}{' (stop requested)' if job.status == 'running' else ''}")


@jobs_app.command("watch")
def watch(job_id: JobArgument) -> None:
    """Follow a job with a live progress bar until it finishes (live events from the running server)."""
    runtime = open_runtime()
    job_id = resolve(runtime, "job", job_id)
    job = guarded(lambda: service.get_job(runtime, job_id))
    url = f"ws://{runtime.settings.host}:{runtime.settings.port}/api/v1/ws"
    with progress_bar() as bar:
        task = bar.add_task(job.kind, total=1.0, completed=job.progress, message=job.message or "")

        def show_state(state: JobOut) -> None:
            bar.update(task, completed=state.progress, message=f"{state.status}: {state.message or ''}")

        show_state(job)
        if job.active and not _follow_events(url, job_id, show_state, lambda: service.get_job(runtime, job_id)):
            console.print(f"[dim]no server at {url}; following the database instead[/]")
            while job.active:
                time.sleep(0.5)
                job = service.get_job(runtime, job_id)
                show_state(job)
    job = service.get_job(runtime, job_id)
    console.print(f"{job.id}: {_status(job)} {job.error or ''}")
    if job.status != "completed":
        raise typer.Exit(1)


def _follow_events(url: str, job_id: str, show_state, reload) -> bool:  # type: ignore[no-untyped-def]
    """Render `job.updated` events until the job finishes; False if the server cannot be reached."""
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    try:
        socket = connect(url, open_timeout=2)
    except (OSError, WebSocketException, TimeoutError):
        return False
    with socket:
        socket.send(json.dumps({"type": "subscribe", "channels": [f"jobs/{job_id}"]}))
        socket.recv(timeout=5)  # the subscription acknowledgement
        state = reload()  # resync after subscribing, so no change falls between the two
        show_state(state)
        while state.active:
            try:
                message = json.loads(socket.recv(timeout=5))
            except TimeoutError:
                state = reload()  # quiet job or lost event: the row is the truth
            else:
                if message.get("event") == "job.updated":
                    state = JobOut.model_validate(message["data"])
                elif message.get("event") == "resync":
                    state = reload()
            show_state(state)
    return True

