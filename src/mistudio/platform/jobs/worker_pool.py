"""`mistudio worker`'s own supervision: one Celery worker process per queue, restarted when it dies.

A Celery worker can die on its own (out of memory, a crash in a native library, a stray SIGKILL). The jobs it ran
are found by their lapsed leases and resumed elsewhere (`recovery`); this keeps the node serving its queues: a dead
worker is started again after a backoff that doubles with each quick death (1 s … 60 s) and resets once a worker
has lived for a minute, each restart logged with the reason. SIGTERM / SIGINT stop them all, without restarts.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
HEALTHY_AFTER_S = 60.0  # a worker that lived this long resets the backoff
POLL_S = 0.5


@dataclass
class _Worker:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    backoff: float = FIRST_BACKOFF_S
    restart_at: float | None = None
    restarts: int = field(default=0)


class WorkerPool:
    """Start `commands` (name → argv), keep them running until `stop()`; `run()` returns the worst exit code."""

    def __init__(self, commands: dict[str, Sequence[str]],
                 spawn: Callable[[list[str]], subprocess.Popen[bytes]] | None = None) -> None:
        self._workers = [_Worker(name, list(argv)) for name, argv in commands.items()]
        self._spawn = spawn or (lambda argv: subprocess.Popen(argv))
        self._stopping = False
        self._last_codes: dict[str, int] = {}

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Forward the signal to every worker and restart none from now on."""
        self._stopping = True
        for worker in self._workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.send_signal(signum)

    def run(self) -> int:
        for worker in self._workers:
            self._start(worker)
        while True:
            now = time.monotonic()
            for worker in self._workers:
                self._tend(worker, now)
            if self._stopping and all(w.process is None or w.process.poll() is not None for w in self._workers):
                break
            time.sleep(POLL_S)
        codes = [worker.process.returncode or 0 for worker in self._workers if worker.process is not None]
        return max(codes, default=0)

    def _start(self, worker: _Worker) -> None:
        worker.process = self._spawn(worker.argv)
        worker.started, worker.restart_at = time.monotonic(), None

    def _tend(self, worker: _Worker, now: float) -> None:
        process = worker.process
        if process is None or self._stopping:
            return
        if worker.restart_at is not None:
            if now >= worker.restart_at:
                worker.restarts += 1
                log.warning("starting the %s worker again (restart %d)", worker.name, worker.restarts)
                self._start(worker)
            return
        code = process.poll()
        if code is None:
            if now - worker.started >= HEALTHY_AFTER_S:
                worker.backoff = FIRST_BACKOFF_S
            return
        worker.restart_at = now + worker.backoff
        log.error("the %s worker (pid %d) died: %s; restarting it in %.0f s", worker.name, process.pid,
                  _reason(code), worker.backoff)
        worker.backoff = min(worker.backoff * 2, MAX_BACKOFF_S)


def _reason(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        return f"killed by {name}" + (" (often: out of memory)" if name == "SIGKILL" else "")
    return f"it exited with code {code}"
