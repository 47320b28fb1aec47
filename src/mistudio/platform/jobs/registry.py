"""Job kinds: a name, the function that does the work, and the queue it waits in."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mistudio.errors import InvalidInput

if TYPE_CHECKING:
    from mistudio.platform.jobs.context import JobContext

Queue = Literal["gpu", "io"]
JobFunction = Callable[["JobContext", dict[str, Any]], dict[str, Any] | None]

# Each domain's tasks.py registers its kinds on import; later domains append here.
DOMAIN_TASK_MODULES: list[str] = ["mistudio.models.tasks", "mistudio.datasets.tasks", "mistudio.extraction.tasks"]

_KINDS: dict[str, JobKind] = {}


@dataclass(frozen=True)
class JobKind:
    name: str
    run: JobFunction
    queue: Queue


def job_kind(name: str, *, queue: Queue) -> Callable[[JobFunction], JobFunction]:
    """Register `fn(ctx, params) -> result` as the body of jobs of kind `name`.

    `gpu` jobs (model loading, extraction, training) run one at a time; `io` jobs (downloads) run
    side by side.
    """

    def register(fn: JobFunction) -> JobFunction:
        existing = _KINDS.get(name)
        if existing is not None and existing.run is not fn:
            raise ValueError(f"job kind {name!r} is already registered by {existing.run.__module__}")
        _KINDS[name] = JobKind(name=name, run=fn, queue=queue)
        return fn

    return register


def load_job_modules(extra_modules: Iterable[str] = ()) -> None:
    """Import every module that registers job kinds (a process must do this before running jobs)."""
    for module in [*DOMAIN_TASK_MODULES, *extra_modules]:
        importlib.import_module(module)


def get_job_kind(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS)) or "none"
        raise InvalidInput(f"unknown job kind {name!r} (registered: {known})") from None
