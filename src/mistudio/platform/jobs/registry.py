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

_KINDS: dict[str, JobKind] = {}
# Modules whose import registers job kinds, named by the composition root (`mistudio.domains`): platform runs
# the domains' jobs without naming a domain. Names, not imports, so a CLI command that submits nothing stays fast.
_JOB_MODULES: list[str] = []


@dataclass(frozen=True)
class JobKind:
    name: str
    run: JobFunction
    queue: Queue
    resumable: bool = False


def job_kind(name: str, *, queue: Queue, resumable: bool = False) -> Callable[[JobFunction], JobFunction]:
    """Register `fn(ctx, params) -> result` as the body of jobs of kind `name`.

    `gpu` jobs (model loading, extraction, training) run one at a time; `io` jobs (downloads) run
    side by side. `resumable`: run again with the same params, the body continues from what it saved, so an
    interrupted job of this kind is queued again by itself (settings `auto_resume`).
    """

    def register(fn: JobFunction) -> JobFunction:
        existing = _KINDS.get(name)
        if existing is not None and existing.run is not fn:
            raise ValueError(f"job kind {name!r} is already registered by {existing.run.__module__}")
        _KINDS[name] = JobKind(name=name, run=fn, queue=queue, resumable=resumable)
        return fn

    return register


def register_job_modules(modules: Iterable[str]) -> None:
    """Name modules that define job kinds; `load_job_modules` imports them, here and in every job's process."""
    for module in modules:
        if module not in _JOB_MODULES:
            _JOB_MODULES.append(module)


def registered_job_modules() -> list[str]:
    """The modules named so far, in order (a supervisor hands them to the job's child process)."""
    return list(_JOB_MODULES)


def load_job_modules(extra_modules: Iterable[str] = ()) -> None:
    """Import every registered module, then `extra_modules` (a process must do this before running jobs)."""
    for module in [*_JOB_MODULES, *extra_modules]:
        importlib.import_module(module)


def get_job_kind(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS)) or "none"
        raise InvalidInput(f"unknown job kind {name!r} (registered: {known})") from None
