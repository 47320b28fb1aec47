"""What every `mistudio` command shares: the consoles, one-line errors, the runtime, ids, paths and job bars."""

from __future__ import annotations

import bisect
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mistudio.config import Settings, load_settings
from mistudio.errors import UserError, status_of
from mistudio.lens.units import human_bytes

if TYPE_CHECKING:
    from mistudio.platform.runtime import Runtime

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)
FULL_ID = re.compile(r"[0-9a-f]{32}")  # what `platform.db.new_id` makes
MIN_PREFIX = 4  # as git: shorter prefixes are refused rather than guessed
SHORT_ID = 8  # ids in lists: at least this long, longer where needed to stay unique
LIST_PAGE = 200  # the largest page every service's list accepts
IdKind = Literal["model", "dataset", "tokenization", "extraction", "training", "sae", "analysis", "job"]


# --- errors and settings ----------------------------------------------------------------------------------
def fail(message: str, code: int = 2) -> None:
    """Print one red line on stderr and exit with `code` (1: the request was refused, 2: a usage error)."""
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
    except UserError as exc:
        fail(exc.message, 1 if status_of(exc) < 500 else 2)
    raise AssertionError("unreachable")


def body(model: type[B], option_of: dict[str, str], **fields: Any) -> B:
    """A request body from options; an invalid one is one line naming the option (not a MISTUDIO_ setting)."""
    try:
        return model(**fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else ""
        option = option_of.get(field, "--" + field.replace("_", "-")) if field else "an option"
        fail(f"{option}: {problem['msg']}")
        raise AssertionError("unreachable") from exc


def read_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the options the user passed (None: not passed) on top."""
    return guarded(lambda: load_settings(**{k: v for k, v in overrides.items() if v is not None}))


def open_runtime(current: Settings | None = None) -> Runtime:
    """The database, runner and storage the services need; a bad setting is one line."""
    from mistudio.domains import register_domains  # the database stack loads only for commands that use it
    from mistudio.platform.runtime import Runtime

    register_domains()  # the CLI is a composition root too: the jobs it runs itself need the domains' kinds
    return guarded(lambda: Runtime.open(current or read_settings()))


# --- what the user typed ----------------------------------------------------------------------------------
def local_path(path: str | Path) -> str:
    """A path as the user meant it: `~` expanded and relative to where they run the command.

    The server may run in another directory (or another process), so a relative path must not travel.
    """
    return str(Path(path).expanduser().resolve())


def every(fetch: Callable[[int, int], tuple[list[T], int]]) -> list[T]:
    """All items of a paged service list (`fetch(page, limit)` → items, total)."""
    items: list[T] = []
    page = 1
    while True:
        found, total = fetch(page, LIST_PAGE)
        items.extend(found)
        if not found or len(items) >= total:
            return items
        page += 1


def resolve_id(kind: str, typed: str, known: Callable[[], Iterable[str]]) -> str:
    """The full id a user means by `typed`: itself, or the one id it is a prefix of (as git resolves commits).

    An ambiguous prefix is one line listing the candidates. A prefix matching nothing is passed on unchanged,
    so the service answers with its usual "not found".
    """
    if FULL_ID.fullmatch(typed):
        return typed  # nothing to look up: a whole id needs no listing
    ids = list(known())
    if typed in ids:
        return typed
    if len(typed) < MIN_PREFIX:
        if any(i.startswith(typed) for i in ids):
            fail(f"{kind} id prefix {typed!r} is too short: type at least {MIN_PREFIX} characters")
        return typed
    matches = sorted(i for i in ids if i.startswith(typed))
    if len(matches) > 1:
        shown = ", ".join(matches[:10]) + (f" and {len(matches) - 10} more" if len(matches) > 10 else "")
        fail(f"{kind} id prefix {typed!r} is ambiguous: it matches {shown}; type more characters", 1)
    return matches[0] if matches else typed


def short_ids(shown: Sequence[str], known: Iterable[str]) -> dict[str, str]:
    """The shortest prefix (at least SHORT_ID long) that tells each shown id apart from every known one."""
    ordered = sorted(set(known) | set(shown))
    short: dict[str, str] = {}
    for full in shown:
        # In sorted order the id sharing the longest prefix with `full` is one of its two neighbours.
        at = bisect.bisect_left(ordered, full)
        neighbours = [ordered[i] for i in (at - 1, at + 1) if 0 <= i < len(ordered)]
        length = max([SHORT_ID, *(len(os.path.commonprefix([full, other])) + 1 for other in neighbours)])
        short[full] = full[:length]
    return short


def known_ids(current: Runtime, kind: IdKind, dataset_id: str | None = None) -> list[str]:
    """Every id of one kind, listed through its service (tokenizations: those of `dataset_id`)."""
    # Services are imported here, not at the top: `mistudio --help` must not load the ML stack.
    if kind == "model":
        from mistudio.models import service as models

        return [m.id for m in every(lambda page, limit: models.list_models(current, page=page, limit=limit))]
    if kind == "dataset":
        from mistudio.datasets import service as datasets

        return [d.id for d in every(lambda page, limit: datasets.list_datasets(current, page=page, limit=limit))]
    if kind == "tokenization":
        from mistudio.datasets import tokenizations

        assert dataset_id is not None, "a tokenization id is resolved within its dataset"
        return [t.id for t in tokenizations.list_tokenizations(current, dataset_id)]
    if kind == "extraction":
        from mistudio.extraction import service as extraction

        return [e.id for e in every(lambda page, limit: extraction.list_extractions(current, page=page,
                                                                                   limit=limit))]
    if kind in ("training", "sae"):
        from mistudio.training import saes
        from mistudio.training import service as training

        lister = training.list_trainings if kind == "training" else saes.list_saes
        return [row.id for row in every(lambda page, limit: lister(current, page=page, limit=limit))]
    if kind == "analysis":
        from mistudio.features import service as features

        return [a.id for a in every(lambda page, limit: features.list_all_analyses(current, page=page, limit=limit))]
    from mistudio.system import service as system

    return [j.id for j in every(lambda page, limit: system.list_jobs(current, page=page, limit=limit))]


def resolve(current: Runtime, kind: IdKind, typed: str, dataset_id: str | None = None) -> str:
    """`resolve_id` for one kind of the studio's ids; every command taking an id passes it through here."""
    return guarded(lambda: resolve_id(kind, typed, lambda: known_ids(current, kind, dataset_id)))


def shortened(current: Runtime, kind: IdKind, shown: Sequence[str], dataset_id: str | None = None
              ) -> dict[str, str]:
    """`short_ids` of the ids a list shows, unique among every id of their kind."""
    return short_ids(shown, known_ids(current, kind, dataset_id) if shown else [])


# --- output -----------------------------------------------------------------------------------------------
def id_table(*headers: str, ids: Iterable[str] = (), header: str = "id") -> Table:
    """A table whose first column holds ids rich never cuts: a cut id could not be typed back."""
    table = Table()
    table.add_column(header, no_wrap=True, min_width=max((len(i) for i in ids), default=SHORT_ID))
    for name in headers:
        table.add_column(name)
    return table


def size(n_bytes: int | None) -> str:
    return "—" if n_bytes is None else human_bytes(n_bytes)


def count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


# One colour per status of the one lifecycle vocabulary (jobs and every row a job produces).
STATUS_STYLE = {"queued": "cyan", "running": "yellow", "completed": "green", "failed": "red", "cancelled": "magenta",
                "interrupted": "red"}


def styled(status: str, styles: dict[str, str] = STATUS_STYLE) -> str:
    return f"[{styles.get(status, 'white')}]{status}[/]"


# --- following jobs ---------------------------------------------------------------------------------------
def server_running(current: Runtime) -> bool:
    import httpx

    try:
        url = f"http://{current.settings.host}:{current.settings.port}/api/v1/health"
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def progress_bar() -> Progress:
    """The one live bar every command that follows a job shows."""
    return Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[message]}"), console=console)


def run_jobs_here(current: Runtime) -> bool:
    """Embedded mode with no server running: start running queued jobs in this process (True), as `serve` would.

    Such a job lives only as long as this command does.
    """
    if current.settings.runner_mode == "local" and not server_running(current):
        console.print("[dim]no miStudio server is running: running the job in this process[/]")
        current.start()
        return True
    return False


def follow_job(current: Runtime, job_id: str, title: str) -> None:
    """Show a live bar for a job until it ends. Embedded mode with no server running: run it here."""
    from mistudio.system import service as system

    run_jobs_here(current)
    with progress_bar() as bar:
        task = bar.add_task(title, total=1.0, message="queued")
        job = system.get_job(current, job_id)
        while job.active:
            bar.update(task, completed=job.progress, message=job.message or job.status)
            time.sleep(0.5)
            job = system.get_job(current, job_id)
        bar.update(task, completed=job.progress, message=job.status)
    if job.status != "completed":
        fail(f"job {job.id} {job.status}: {job.error or job.message or ''}", 1)
