"""A Redis and a PostgreSQL of the test's own, on free ports, that a test may kill and start again.

The machine's shared services serve every other test (and other people's runs): restart tests never touch them.
PostgreSQL refuses to run as root, so as root its commands run as the `postgres` user, in a folder it owns.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.studio import free_port, wait_until


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


def throwaway_unavailable() -> str | None:
    """None when this machine can run its own redis-server and PostgreSQL, else why not."""
    missing = [name for name in ("redis-server",) if not shutil.which(name)]
    missing += [name for name in ("initdb", "pg_ctl") if not _postgres_bin(name)]
    if missing:
        return f"restart tests start their own services and need {', '.join(missing)} on the PATH"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "PostgreSQL will not run as root and runuser is missing"
    return None


class ThrowawayRedis:
    """`redis-server` on a free port, in memory only (like the machine's): a restart forgets everything."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = folder / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ThrowawayRedis:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--logfile", str(self.log_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_until(lambda: _answers(client), timeout=10, what=f"redis-server on port {self.port}")
        client.close()
        return self

    def kill(self) -> None:
        """SIGKILL: the way a crashed or OOM-killed Redis goes (no goodbye to its clients)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def _answers(client: object) -> bool:
    import redis

    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except redis.RedisError:
        return False


class ThrowawayPostgres:
    """A PostgreSQL cluster made by initdb in a temporary folder, listening on 127.0.0.1 at a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="mistudio-pg-"))  # not under pytest's root-only tmp folders
        self.data = self.folder / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_postgres:
            shutil.chown(self.folder, user="postgres")

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_postgres, *command], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)

    def init(self) -> ThrowawayPostgres:
        self._run(_postgres_bin("initdb") or "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        return self.start()

    def start(self) -> ThrowawayPostgres:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_postgres_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-o", options,
                  "-l", str(self.folder / "server.log"), "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """`fast`: a clean restart (open connections are closed); `immediate`: a crash."""
        self._run(_postgres_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


def seconds_since(started: float) -> float:
    return round(time.monotonic() - started, 1)
