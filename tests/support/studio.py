"""Real miStudio processes for tests: a `mistudio serve` server and `mistudio worker` Celery workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_JOB_MODULES = '["tests.support.job_kinds"]'
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (httpx.HTTPError, OSError) as exc:
            last_error = exc
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}{detail}")


TEST_LEASE_SECONDS = 6


def studio_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment of a studio process: temp home, test job kinds, readable logs, this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTUDIO_")}
    env.update(
        MISTUDIO_HOME=str(home),
        MISTUDIO_JOB_MODULES=TEST_JOB_MODULES,
        MISTUDIO_CANCEL_GRACE_SECONDS="2",
        # A lost worker's jobs are found within seconds, not the default 15; not shorter: on a loaded 2-core CI
        # machine a live supervisor's beat can be late by seconds, and a lapsed live lease interrupts a healthy job.
        MISTUDIO_JOB_LEASE_SECONDS=str(TEST_LEASE_SECONDS),
        MISTUDIO_LOG_FORMAT="text",
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_mistudio_in_background(command: str, *, env: dict[str, str], log_path: Path,
                               args: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """`python -m mistudio COMMAND ARGS…` in its own process group, output appended to `log_path`."""
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "mistudio", command, *args], env=env, stdout=log, stderr=log,
            cwd=REPO_ROOT, start_new_session=True,
        )


@contextmanager
def _stopped_unless_ready(part: StudioServer | CeleryWorkers) -> Iterator[None]:
    """A server or worker that failed to become ready is killed, not left behind: a stray worker keeps taking jobs
    from the Redis queues later tests in this process use (its own database long dropped), and they never run."""
    try:
        yield
    except BaseException:
        part.stop(kill=True)
        raise


class StudioServer:
    """`mistudio serve` in a subprocess on a free port."""

    def __init__(self, home: Path, log_path: Path, **env: str) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/api/v1/ws"
        self.env = studio_env(home, MISTUDIO_PORT=str(self.port), **env)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def start(self, timeout: float = 60.0) -> StudioServer:
        self.process = run_mistudio_in_background("serve", env=self.env, log_path=self.log_path)
        with _stopped_unless_ready(self):
            wait_until(self._ready, timeout=timeout, interval=0.2, what=f"server on {self.url} (log: {self.log_path})")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            log_tail = self.log_path.read_text()[-3000:]
            raise RuntimeError(f"server exited with {self.process.returncode}; log:\n{log_tail}")
        return self.client.get("/api/v1/health").status_code == 200

    def stop(self, *, kill: bool = False) -> None:
        """Stop gracefully (SIGTERM), or SIGKILL the server alone to simulate a crash."""
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.send_signal(signal.SIGKILL)
        else:
            self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    # --- small API helpers ------------------------------------------------------------------------
    def job(self, job_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/jobs/{job_id}")
        response.raise_for_status()
        return response.json()["data"]

    def wait_for_job(self, job_id: str, statuses: tuple[str, ...], timeout: float = 30.0) -> dict[str, Any]:
        return wait_until(
            lambda: (job := self.job(job_id))["status"] in statuses and job,
            timeout=timeout,
            what=f"job {job_id} to reach {statuses}",
        )


class CeleryWorkers:
    """`mistudio worker` (a gpu and an io Celery worker) in its own process group."""

    def __init__(self, home: Path, log_path: Path, **env: str) -> None:
        self.env = studio_env(home, **env)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> CeleryWorkers:
        self.process = run_mistudio_in_background("worker", env=self.env, log_path=self.log_path)
        with _stopped_unless_ready(self):
            wait_until(self._ready, timeout=timeout, interval=0.5, what=f"celery workers (log: {self.log_path})")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited; log:\n{self.log_path.read_text()[-3000:]}")
        text = self.log_path.read_text(errors="replace")
        return text.count("ready.") >= 2  # celery prints "<name> ready." once per worker

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
