"""`ModelHost`: the server's (or a CLI command's) side of the model host — start it, talk to it, supervise it.

The child is started on the first request (a server that never generates never pays for it) from the fork server
jobs come from too (`platform.children`: never a fork of a process that holds threads), with a duplex pipe. One
reader thread per child receives every message and hands it to the request it belongs to, so tokens reach the caller
as they are produced. When the pipe breaks (the child died: SIGKILL, out of memory, a crash) every request in flight
fails with a message that says so, and the next request starts a new child; the server itself never goes down with
it. In scaled mode with `MISTUDIO_MODEL_HOST=workers` the same client talks to host workers on GPU nodes through
Redis (`redis_link`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mistudio.config import Settings
from mistudio.errors import MistudioError, NoCapacity
from mistudio.platform.children import child_processes
from mistudio.platform.host.registry import registered_host_modules

log = logging.getLogger(__name__)
CLOSE_JOIN_S = 5.0

OnEvent = Callable[[str, Any], None]
OnDone = Callable[["Any | None", "MistudioError | None"], None]


class HostStopped(NoCapacity):
    """The host process died while answering (killed, out of memory); the next request starts a new one."""

    code = "host_stopped"


class HostRequestError(MistudioError):
    """A handler's error, carried back from the host with its status and code (a missing model stays a 404)."""

    def __init__(self, status_code: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message, details=details, code=code)
        self.status_code = status_code


@dataclass
class _Pending:
    what: str
    on_event: OnEvent | None
    on_done: OnDone


@dataclass
class _Child:
    process: Any
    connection: Any
    pending: dict[str, _Pending] = field(default_factory=dict)
    send_lock: threading.Lock = field(default_factory=threading.Lock)  # also guards `dead` and `pending` additions
    dead: bool = False


class _WorkersProcess:
    """Stands for the child process when host workers answer (`redis_link`): alive until the client closes."""

    pid = None
    exitcode = None

    def __init__(self, link: Any) -> None:
        self.link = link

    def is_alive(self) -> bool:
        return not self.link.closed

    def join(self, timeout: float | None = None) -> None:
        return None

    def kill(self) -> None:
        self.link.close()


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}" if exitcode is not None else "its pipe closed"


class ModelHost:
    """Requests to the host process; thread-safe. `call` waits for the result, `start` streams to callbacks."""

    def __init__(self, settings: Settings, host_modules: list[str] | None = None) -> None:
        self.settings = settings
        self._modules = host_modules
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._closed = False
        self.starts = 0  # how many host processes this client started (tests and status read it)

    # --- lifecycle ---------------------------------------------------------------------------------------
    def _ensure_child(self) -> _Child:
        with self._lock:
            if self._closed:
                raise HostStopped("the model host is shut down (the server is stopping)")
            if self._child is not None and self._child.process.is_alive():
                return self._child
            if self.remote:
                return self._start_remote()
            from mistudio.platform.host.child import host_main

            processes = child_processes()
            ours, theirs = processes.Pipe(duplex=True)
            modules = self._modules if self._modules is not None else registered_host_modules()
            process = processes.Process(target=host_main, name="mistudio-model-host", daemon=True,
                                        args=(theirs, self.settings.model_dump(mode="json"), modules, os.getpid(),
                                              dict(os.environ)))
            process.start()
            theirs.close()  # only the child holds its end: its death then reads as EOF here
            child = _Child(process, ours)
            self._child = child
            self.starts += 1
            log.info("model host started (pid %s)", process.pid)
            threading.Thread(target=self._read_loop, args=(child,), name="model-host-reader", daemon=True).start()
            return child

    @property
    def remote(self) -> bool:
        """True when requests go to host workers on the `interactive` queue (scaled mode), not to a child."""
        return self.settings.model_host == "workers"

    def _start_remote(self) -> _Child:  # called with self._lock held
        from mistudio.platform.host.redis_link import HostClientLink

        if not self.settings.redis_url:
            raise NoCapacity("MISTUDIO_MODEL_HOST=workers sends interactive requests to host workers through Redis: "
                             "set MISTUDIO_REDIS_URL too, or use MISTUDIO_MODEL_HOST=local")
        link = HostClientLink(self.settings.redis_url, self.settings.host_queue_timeout_seconds)
        child = _Child(_WorkersProcess(link), link)
        self._child = child
        self.starts += 1
        threading.Thread(target=self._read_loop, args=(child,), name="model-host-reader", daemon=True).start()
        return child

    @property
    def pid(self) -> int | None:
        """The running host's pid, or None when none runs (a request starts one)."""
        child = self._child
        return child.process.pid if child is not None and child.process.is_alive() else None

    def close(self) -> None:
        """Stop the host process (server shutdown); requests in flight fail as stopped."""
        with self._lock:
            self._closed = True
            child, self._child = self._child, None
        if child is None:
            return
        child.connection.close()  # the child reads EOF and leaves its loop
        child.process.join(CLOSE_JOIN_S)
        if child.process.is_alive():
            child.process.kill()
            child.process.join(CLOSE_JOIN_S)

    # --- requests ----------------------------------------------------------------------------------------
    def start(self, handler: str, payload: dict[str, Any], *, what: str, on_done: OnDone,
              on_event: OnEvent | None = None, request_id: str | None = None) -> str:
        """Send a request; `on_event(event, data)` for each event and then `on_done(result, error)` exactly once,
        both on the reader thread. `what` ("generating with model 'x'") names it if the host dies under it."""
        request_id = request_id or uuid.uuid4().hex
        self._send(("run", request_id, handler, payload), request_id, _Pending(what, on_event, on_done))
        return request_id

    def call(self, handler: str, payload: dict[str, Any], *, what: str, on_event: OnEvent | None = None,
             timeout: float | None = None) -> Any:
        """Send a request and wait for its result; its error (or the host's death) is raised here."""
        return self._wait(lambda done: self.start(handler, payload, what=what, on_done=done, on_event=on_event),
                          what, timeout)

    def stop(self, request_id: str) -> bool:
        """Ask a running request to stop (a generation ends at its next token); False if it is not in flight."""
        child = self._child
        if child is None or request_id not in child.pending:
            return False
        with child.send_lock:
            try:
                child.connection.send(("stop", request_id))
            except OSError:
                return False
        return True

    def status(self) -> dict[str, Any] | None:
        """What the host holds (budget, resident models, what runs); None when no host is running (none started)."""
        if self.pid is None and not self.remote:
            return None
        return self._control(("status",), "reporting its status")

    def unload(self, device_prefix: str | None = None, node: str | None = None) -> list[str]:
        """Unload resident models (on devices starting with `device_prefix`, or all); nothing when none runs.
        With host workers, `node` limits it to the workers on that machine."""
        if self.pid is None and not self.remote:
            return []
        return self._control(("unload", device_prefix, node), "unloading models")

    def _control(self, message: tuple[Any, ...], what: str) -> Any:
        def send(done: OnDone) -> None:
            request_id = uuid.uuid4().hex
            self._send((message[0], request_id, *message[1:]), request_id, _Pending(what, None, done))

        return self._wait(send, what, timeout=30.0)

    def _wait(self, send: Callable[[OnDone], Any], what: str, timeout: float | None) -> Any:
        finished = threading.Event()
        outcome: dict[str, Any] = {}

        def done(result: Any, error: MistudioError | None) -> None:
            outcome.update(result=result, error=error)
            finished.set()

        send(done)
        if not finished.wait(timeout):
            raise NoCapacity(f"the model host did not answer within {timeout:g}s while {what}")
        if outcome["error"] is not None:
            raise outcome["error"]
        return outcome["result"]

    def _send(self, message: tuple[Any, ...], request_id: str, pending: _Pending) -> None:
        child = self._ensure_child()
        with child.send_lock:
            if child.dead:  # it died since the check; the reader has already failed what it knew of
                error = HostStopped(f"the model host stopped while {pending.what}; the next request starts a new one")
                self._deliver(pending.on_done, None, error)
                return
            child.pending[request_id] = pending
            try:
                child.connection.send(message)
            except OSError:  # it died during the send: the reader fails the request
                return
            except Exception as exc:  # the link refused it (host workers: Redis unreachable): nobody will answer
                child.pending.pop(request_id, None)
                reason = str(exc).rstrip(".")
                error = NoCapacity(f"the model host could not be reached while {pending.what}: {reason}; check that "
                                   "Redis (MISTUDIO_REDIS_URL) is up and a host worker runs")
                self._deliver(pending.on_done, None, error)

    # --- supervision -------------------------------------------------------------------------------------
    def _read_loop(self, child: _Child) -> None:
        while True:
            try:
                message = child.connection.recv()
            except (EOFError, OSError):
                break
            kind, request_id = message[0], message[1]
            pending = child.pending.get(request_id)
            if pending is None:
                continue  # a request whose caller gave up
            if kind == "event" and pending.on_event is not None:
                self._deliver(pending.on_event, message[2], message[3])
            elif kind == "result":
                child.pending.pop(request_id, None)
                self._deliver(pending.on_done, message[2], None)
            elif kind == "error":
                child.pending.pop(request_id, None)
                error = HostRequestError(message[2], message[3], message[4], message[5])
                self._deliver(pending.on_done, None, error)
        self._child_died(child)

    def _child_died(self, child: _Child) -> None:
        child.process.join(CLOSE_JOIN_S)
        reason = _describe_exit(child.process.exitcode)
        with self._lock:
            if self._child is child:
                self._child = None
            closing = self._closed
        if not closing:
            log.warning("model host (pid %s) stopped: %s; %d request(s) in flight fail", child.process.pid,
                        reason, len(child.pending))
        with child.send_lock:
            child.dead = True
        for request_id, pending in list(child.pending.items()):
            child.pending.pop(request_id, None)
            error = HostStopped(f"the model host stopped ({reason}) while {pending.what}; the next request starts "
                                "a new one", details={"reason": reason})
            self._deliver(pending.on_done, None, error)

    @staticmethod
    def _deliver(callback: Callable[..., Any], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:  # a caller's callback must not kill the reader (others' requests share it)
            log.exception("a model host callback failed")
