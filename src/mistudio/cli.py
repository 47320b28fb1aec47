"""The `mistudio` command: thin wrappers over the same services the API uses."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from mistudio.config import Settings, load_settings
from mistudio.errors import MistudioError
from mistudio.platform.db import redact_url

app = typer.Typer(help="miStudio: a local-first studio for mechanistic interpretability.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(jobs_app, name="jobs")
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(action: Callable[[], T]) -> T:
    """Run `action`; settings and domain errors become one clear line and a non-zero exit."""
    try:
        return action()
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = str(problem["loc"][0]).upper() if problem["loc"] else "a setting"
        fail(f"MISTUDIO_{field}: {problem['msg']}")
    except MistudioError as exc:
        fail(exc.message, 1 if exc.status_code < 500 else 2)
    raise AssertionError("unreachable")


def _settings(**overrides: Any) -> Settings:
    return guarded(lambda: load_settings(**{k: v for k, v in overrides.items() if v is not None}))


def _runtime(settings: Settings | None = None):  # -> Runtime
    from mistudio.platform.runtime import Runtime

    return guarded(lambda: Runtime.open(settings or _settings()))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Start the studio (API, WebSocket and web UI)."""
    import uvicorn

    from mistudio.api import create_app
    from mistudio.platform.logs import setup_logging

    settings = _settings(host=host, port=port)
    setup_logging(settings)
    # Check the home dir and database before uvicorn starts, so a bad setting is one line, not a traceback.
    _runtime(settings).close()
    console.print(f"miStudio on [bold]http://{settings.host}:{settings.port}[/] ({settings.runner_mode} runner)")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, ws="websockets")


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="comma-separated queues to serve: gpu, io")] = "gpu,io",
    io_concurrency: Annotated[int | None, typer.Option(help="io jobs run side by side")] = None,
) -> None:
    """Start Celery workers for scaled mode (needs MISTUDIO_REDIS_URL): `gpu` one job at a time, `io` several."""
    settings = _settings()
    if not settings.redis_url:
        fail("mistudio worker needs MISTUDIO_REDIS_URL (e.g. redis://127.0.0.1:6379/0) and a shared database "
             "(MISTUDIO_DATABASE_URL=postgresql+psycopg://...); without them jobs run inside `mistudio serve`")
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    if not wanted or any(q not in ("gpu", "io") for q in wanted):
        fail(f"--queues must name gpu and/or io, got {queues!r}")
    _runtime(settings).close()  # migrate and check the database before any task arrives
    concurrency = {"gpu": 1, "io": io_concurrency or settings.io_concurrency}
    children = [
        subprocess.Popen([
            sys.executable, "-m", "celery", "-A", "mistudio.worker:celery_app", "worker",
            "--queues", queue, "--concurrency", str(concurrency[queue]), "--pool", "threads",
            "--hostname", f"{queue}@%h", "--loglevel", settings.log_level, "--without-gossip", "--without-mingle",
        ])
        for queue in wanted
    ]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    raise typer.Exit(max(codes))


@app.command()
def config() -> None:
    """Print the settings in effect and where they come from (MISTUDIO_* environment variables)."""
    settings = _settings()
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


@app.command()
def openapi(out: Annotated[Path | None, typer.Argument(help="file to write; stdout if omitted")] = None) -> None:
    """Write the OpenAPI schema (the web client's types are generated from it)."""
    from mistudio.api import create_app

    schema = json.dumps(create_app(_settings()).openapi(), indent=2)
    if out:
        out.write_text(schema + "\n")
    else:
        sys.stdout.write(schema + "\n")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also done automatically by `serve` and `worker`)."""
    from mistudio.platform.db import current_revision

    runtime = _runtime()
    console.print(f"database {redact_url(str(runtime.engine.url))} at revision {current_revision(runtime.engine)}")
    runtime.close()


from mistudio import cli_datasets, cli_extraction, cli_jobs, cli_models, cli_templates  # noqa: E402,F401  (register the sub-commands)

