"""A time limit for work that cannot be interrupted (a model load stuck in library code): end the process.

Used by a job's `ctx.time_limit` and by the model host's: on expiry `report()` says what happened (the job row, the
host's reply), then the process exits, since no thread can stop the stuck one.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def exit_process_after(seconds: float, report: Callable[[], None], *, name: str, grace: float = 0.5) -> Iterator[None]:
    """Run the block; if it lasts longer than `seconds`, call `report()`, wait `grace` seconds, and exit the process."""
    finished = threading.Event()

    def watchdog() -> None:
        if finished.wait(seconds):
            return
        try:
            report()
        finally:
            time.sleep(grace)  # let the report leave before the process goes
            os._exit(1)

    threading.Thread(target=watchdog, name=name, daemon=True).start()
    try:
        yield
    finally:
        finished.set()
