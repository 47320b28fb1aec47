"""The studio itself: `mistudio serve|worker|config|openapi` and `mistudio db upgrade`."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mistudio.cli.common import console, fail, open_runtime, read_settings
from mistudio.config import Settings
from mistudio.platform.db import redact_url

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Start the studio (API, WebSocket and web UI)."""
    import uvicorn

    from mistudio.api import create_app
    from mistudio.platform.logs import setup_logging

    settings = read_settings(host=host, port=port)
    setup_logging(settings)
    # Check the home dir and database before uvicorn starts, so a bad setting is one line, not a traceback.
    open_runtime(settings).close()
    console.print(f"miStudio on [bold]http://{settings.host}:{settings.port}[/] ({settings.runner_mode} runner)")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, ws="websockets")


def worker(
    queues: Annotated[str, typer.Option(help="comma-separated queues to serve: gpu, io, interactive")] = "gpu,io",
    io_concurrency: Annotated[int | None, typer.Option(help="io jobs run side by side")] = None,
) -> None:
    """Start workers for scaled mode (needs MISTUDIO_REDIS_URL): Celery's `gpu` (one job at a time) and `io`
    (several), and `interactive`: a model host worker keeping models warm for generate and steering requests
    (with MISTUDIO_MODEL_HOST=workers on the server)."""
    settings = read_settings()
    if not settings.redis_url:
        fail("mistudio worker needs MISTUDIO_REDIS_URL (e.g. redis://127.0.0.1:6379/0) and a shared database "
             "(MISTUDIO_DATABASE_URL=postgresql+psycopg://...); without them jobs run inside `mistudio serve`")
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    if not wanted or any(q not in ("gpu", "io", "interactive") for q in wanted):
        fail(f"--queues must name gpu, io and/or interactive, got {queues!r}")
    open_runtime(settings).close()  # migrate and check the database before any task arrives
    from mistudio.platform.jobs.worker_pool import WorkerPool
    from mistudio.platform.logs import setup_logging

    setup_logging(settings)
    concurrency = {"gpu": 1, "io": io_concurrency or settings.io_concurrency}
    pool = WorkerPool({queue: [sys.executable, "-m", "mistudio.host_worker"] if queue == "interactive" else [
        sys.executable, "-m", "celery", "-A", "mistudio.worker:celery_app", "worker",
        "--queues", queue, "--concurrency", str(concurrency[queue]), "--pool", "threads",
        "--hostname", f"{queue}@%h", "--loglevel", settings.log_level, "--without-gossip", "--without-mingle",
    ] for queue in wanted})  # a worker that dies is started again (with backoff) until this command stops

    def forward(signum: int, _frame: object) -> None:
        pool.stop(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    raise typer.Exit(pool.run())


def config() -> None:
    """Print the settings in effect and where they come from (MISTUDIO_* environment variables)."""
    settings = read_settings()
    table = Table("setting", "environment variable", "value")
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if name in ("database_url", "redis_url") and value:
            value = redact_url(value)
        shown = f"{value}  [dim](default)[/]" if name not in settings.model_fields_set else str(value)
        env = "HF_ENDPOINT / MISTUDIO_HF_ENDPOINT" if name == "hf_endpoint" else f"MISTUDIO_{name.upper()}"
        table.add_row(name, env, shown)
    table.add_row("(database in use)", "", redact_url(settings.resolved_database_url))
    table.add_row("(runner)", "", settings.runner_mode)
    console.print(table)


def openapi(out: Annotated[Path | None, typer.Argument(help="file to write; stdout if omitted")] = None) -> None:
    """Write the OpenAPI schema (the web client's types are generated from it)."""
    from mistudio.api import create_app

    schema = json.dumps(create_app(read_settings()).openapi(), indent=2)
    if out:
        out.write_text(schema + "\n")
    else:
        sys.stdout.write(schema + "\n")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also done automatically by `serve` and `worker`)."""
    from mistudio.platform.db import current_revision

    runtime = open_runtime()
    console.print(f"database {redact_url(str(runtime.engine.url))} at revision {current_revision(runtime.engine)}")
    runtime.close()


# Registered on the top-level app by `mistudio.cli` (they are `mistudio serve`, not `mistudio core serve`).
COMMANDS = [serve, worker, config, openapi]
