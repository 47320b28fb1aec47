"""Where the processes that do the heavy work come from: a job's own process and the model host.

Both come from one fork server (multiprocessing's `forkserver`): a fresh, single-threaded interpreter started on
first use, which imports torch and the two entry modules once, then forks a child per start. A child therefore
starts with them already imported (torch alone is ~1.3 s of a 2-core machine's CPU) instead of importing them as a
`spawn`ed one would, and is never a fork of the server, which holds threads and maybe torch's state.

Two consequences every child handles on entry: it takes its starter's environment as it is now (`adopt_environment`:
the fork server's is the one it had when it started, and huggingface_hub and transformers read HF_* at import, so
they are not preloaded), and it watches its starter's pid itself (`exit_with`), since its parent is the fork server.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
import time
from typing import Any

# Modules that read no environment at import. The fork server reads this list when it starts, so it is the same for
# every child of this process.
PRELOAD = ["torch", "mistudio.platform.jobs.process", "mistudio.platform.host.child"]
_POLL_S = 0.5


def child_processes() -> Any:
    """The multiprocessing context children come from (the fork server is started on the first child)."""
    processes = multiprocessing.get_context("forkserver")
    processes.set_forkserver_preload(PRELOAD)
    return processes


def adopt_environment(environ: dict[str, str]) -> None:
    """In a child: the environment its starter had when it started it."""
    os.environ.clear()
    os.environ.update(environ)


def exit_with(pid: int) -> None:
    """In a child: end this process (exit code 70) when the process `pid` ends, watched from a daemon thread, so a
    killed server or supervisor leaves nothing running unwatched."""
    threading.Thread(target=_exit_when_gone, args=(pid,), name="exit-with-starter", daemon=True).start()


def _exit_when_gone(pid: int) -> None:
    # A pidfd becomes readable when that process ends (a zombie counts as ended). The pid came from the starter,
    # which may be gone already.
    try:
        watched = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(70)
    except (AttributeError, OSError):  # no pidfd (not Linux, or a kernel before 5.3): ask every half second
        while _alive(pid):
            time.sleep(_POLL_S)
        os._exit(70)
    select.select([watched], [], [])
    os._exit(70)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the pid now belongs to another user's process
        return False
    return True
