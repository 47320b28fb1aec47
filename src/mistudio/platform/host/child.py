"""The host process: read requests from the pipe, run them one at a time, send their events and results back.

Messages are tuples. From the server: `("run", request_id, handler, payload)`, `("stop", request_id)` (a running
request's `should_stop()` turns true), `("status", request_id)` and `("unload", request_id, device_prefix|None)`
(host workers' clients add the node to unload on). To the server: `("event", request_id, event, data)`,
`("result", request_id, value)` and `("error", request_id, status_code, code, message, details)`.

Requests run on one worker thread, in arrival order: a device computes one generation at a time anyway, and a
second model load while one runs would only race for the same memory. Control messages (stop, status, unload) are
answered by the main thread at once, even while a long generation runs.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mistudio.config import Settings
from mistudio.errors import MistudioError, UserError, status_of
from mistudio.platform.children import adopt_environment, exit_with
from mistudio.platform.host.cache import ResidentCache
from mistudio.platform.host.registry import get_handler, load_host_modules
from mistudio.platform.watchdog import exit_process_after

log = logging.getLogger(__name__)
IDLE_SWEEP_MAX_S = 5.0


@dataclass
class HostContext:
    """What a handler gets: the resident cache, the settings, its own event stream and stop flag."""

    cache: ResidentCache
    settings: Settings
    request_id: str
    _send: Any = field(repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def emit(self, event: str, data: Any) -> None:
        """Send one event of this request to the requester now (a token, a progress step)."""
        self._send(("event", self.request_id, event, data))

    def should_stop(self) -> bool:
        return self._stop.is_set()

    @contextmanager
    def time_limit(self, seconds: float, message: str) -> Iterator[None]:
        """Fail this request with `message` if the block runs longer than `seconds`, then end the host.

        The block may be stuck in library code that cannot be interrupted (a model load), so, as a job's time
        limit does, the host process exits: the requester reads `message`, the next request starts a new host."""
        def reply() -> None:
            log.error("host request %s: %s", self.request_id, message)
            self._send(("error", self.request_id, 503, "load_timeout", message, None))

        with exit_process_after(seconds, reply, name="host-time-limit", grace=0.2):
            yield


class _Host:
    def __init__(self, connection: Any, settings: Settings) -> None:
        self.connection = connection
        self.settings = settings
        self.cache = ResidentCache(int(settings.host_memory_gb * 1024**3), settings.host_idle_unload_seconds)
        self.send_lock = threading.Lock()
        self.work: queue.Queue[tuple[str, str, dict[str, Any]] | None] = queue.Queue()
        self.stops: dict[str, threading.Event] = {}
        self.running: str | None = None
        self.done = threading.Event()

    def send(self, message: tuple[Any, ...]) -> None:
        with self.send_lock:  # the worker and the main thread both answer
            self.connection.send(message)

    def serve(self) -> None:
        threading.Thread(target=self._work_loop, name="host-worker", daemon=True).start()
        threading.Thread(target=self._idle_loop, name="host-idle-sweep", daemon=True).start()
        while True:
            try:
                message = self.connection.recv()
            except (EOFError, OSError):  # the server closed its end or died: nothing is left to answer
                break
            kind, request_id = message[0], message[1]
            if kind == "run":
                self.stops[request_id] = threading.Event()
                self.work.put((request_id, message[2], message[3]))
            elif kind == "stop":
                if request_id in self.stops:
                    self.stops[request_id].set()
            elif kind == "status":
                self.send(("result", request_id, self.status()))
            elif kind == "unload":
                self.send(("result", request_id, self.unload(message[2])))
        self.done.set()
        self.work.put(None)

    def unload(self, device_prefix: str | None) -> list[str]:
        return self.cache.unload(lambda entry: device_prefix is None or entry.device.startswith(device_prefix),
                                 f"asked to unload {device_prefix or 'every'} model(s)")

    def status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "budget_bytes": self.cache.budget_bytes, "used_bytes": self.cache.used_bytes(),
                "idle_unload_seconds": self.cache.idle_seconds, "resident": self.cache.describe(),
                "running": self.running, "queued": self.work.qsize()}

    def _work_loop(self) -> None:
        while (item := self.work.get()) is not None:
            request_id, handler_name, payload = item
            stop = self.stops.get(request_id, threading.Event())
            ctx = HostContext(self.cache, self.settings, request_id, self.send, stop)
            self.running = handler_name
            try:
                if stop.is_set():
                    raise MistudioError("stopped before it started", code="cancelled")
                result = get_handler(handler_name)(ctx, payload)
                reply: tuple[Any, ...] = ("result", request_id, result)
            except UserError as exc:
                reply = ("error", request_id, status_of(exc), exc.code, exc.message, exc.details)
            except Exception as exc:  # a handler's bug ends its request with the reason, never the host
                log.error("host request %s (%s) failed\n%s", request_id, handler_name, traceback.format_exc())
                reply = ("error", request_id, 500, "internal_error", f"{type(exc).__name__}: {exc}", None)
            finally:
                self.running = None
                self.stops.pop(request_id, None)
            try:
                self.send(reply)
            except (OSError, ValueError):  # the server went away mid-request
                return

    def _idle_loop(self) -> None:
        interval = min(IDLE_SWEEP_MAX_S, max(self.cache.idle_seconds / 4, 0.05))
        while not self.done.wait(interval):
            self.cache.unload_idle()


def host_main(connection: Any, settings_data: dict[str, Any], host_modules: list[str], parent_pid: int,
              environ: dict[str, str]) -> None:
    """Entry point of the host process (from the fork server: it starts with no registrations, so it imports the
    handlers, and with the fork server's environment, so it takes its parent's, `environ`)."""
    from mistudio.platform.logs import setup_logging

    adopt_environment(environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the server's (or CLI's) to handle
    exit_with(parent_pid)  # a host must not outlive the server that owns it, even one killed without a word
    settings = Settings(**settings_data)
    setup_logging(settings)
    load_host_modules(host_modules)
    _Host(connection, settings).serve()


def serve_over_redis(settings: Settings, host_modules: list[str], host_id: str | None = None) -> None:
    """A host worker (`mistudio worker --queues interactive`): the same loop, its requests and replies over Redis
    (`redis_link`), until SIGTERM / SIGINT. A request running then ends with the process; its client is told."""
    from mistudio.platform.host.redis_link import HostWorkerLink
    from mistudio.platform.logs import setup_logging

    if not settings.redis_url:
        raise SystemExit("a model host worker needs MISTUDIO_REDIS_URL (the server's Redis)")
    setup_logging(settings)
    load_host_modules(host_modules)
    link = HostWorkerLink(settings.redis_url, host_id)
    host = _Host(link, settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: link.close())
    threading.Thread(target=link.heartbeat, args=(host.status,), name="host-heartbeat", daemon=True).start()
    log.info("model host worker %s serving interactive requests", link.host_id)
    try:
        host.serve()
    finally:
        link.close()
