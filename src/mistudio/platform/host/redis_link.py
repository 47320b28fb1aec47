"""The model host over Redis: the same host loop (`child._Host`) and the same client (`ModelHost`), on GPU nodes.

In scaled mode with `MISTUDIO_MODEL_HOST=workers`, interactive requests (generate, steering, calibration, "my
text") do not run in a child of the API server, which may have no GPU: they go to the `interactive` queue that
host workers on the GPU nodes serve (`mistudio worker --queues interactive`). A pipe becomes three Redis lists:

- `mistudio:host:requests`: the queue. A host worker takes a request only while it runs none, so a second request
  goes to an idle worker instead of waiting behind a long generation;
- `mistudio:host:in:{host_id}`: control messages (stop, status, unload) for the worker that took a request;
- `mistudio:host:reply:{client_id}`: what a worker sends back to the API server (or CLI) that asked.

Liveness: a worker writes `mistudio:host:alive:{host_id}` (its status, with a short TTL) every second. A request
whose worker's key lapses fails as `host_stopped` (the worker was killed, its node lost); one that no worker takes
within `host_queue_timeout_seconds` fails as `no_capacity`, naming the command that starts a worker. Messages are
pickled, as over the pipe: the Redis of a deployment is trusted (it is already the job broker).
"""

from __future__ import annotations

import collections
import logging
import os
import pickle
import socket
import threading
import time
import uuid
from typing import Any

log = logging.getLogger(__name__)

PREFIX = "mistudio:host:"
REQUESTS = PREFIX + "requests"
ALIVE_TTL_S = 4  # a worker's key outlives three missed beats: a killed worker is noticed within ~4 s
BEAT_S = 1.0
POLL_S = 0.5
REPLY_TTL_S = 600  # a reply list nobody reads (its client died) vanishes
CONTROL_WAIT_S = 5.0
START_HINT = "start one on a GPU node with `mistudio worker --queues interactive` (same MISTUDIO_REDIS_URL)"


def in_key(host_id: str) -> str:
    return f"{PREFIX}in:{host_id}"


def alive_key(host_id: str) -> str:
    return f"{PREFIX}alive:{host_id}"


def reply_key(client_id: str) -> str:
    return f"{PREFIX}reply:{client_id}"


def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=10, health_check_interval=10)


def live_hosts(client: Any) -> dict[str, dict[str, Any]]:
    """host_id → the status the worker last wrote, for every worker whose key has not lapsed."""
    hosts = {}
    for key in client.scan_iter(match=alive_key("*"), count=100):
        raw = client.get(key)
        if raw is not None:
            hosts[key.decode().removeprefix(alive_key(""))] = pickle.loads(raw)
    return hosts


class HostWorkerLink:
    """The host side: `recv()` and `send()` as `_Host` uses a pipe, over Redis. `idle()` says whether it may take a
    request from the shared queue (it runs none); every reply goes to the client that sent the request."""

    def __init__(self, url: str, host_id: str | None = None) -> None:
        self.redis = redis_client(url)
        self.host_id = host_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.routes: dict[str, str] = {}  # request id → the client to answer
        self.running: set[str] = set()  # run requests taken and not answered yet
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.status: dict[str, Any] = {}

    def heartbeat(self, describe: Any) -> None:
        """Write this worker's status every second until closed (a thread); Redis outages are waited out."""
        while not self.closed.is_set():
            try:
                self.status = {"host_id": self.host_id, "node": socket.gethostname(), **describe()}
                self.redis.set(alive_key(self.host_id), pickle.dumps(self.status), ex=ALIVE_TTL_S)
            except Exception as exc:  # noqa: BLE001  (Redis restarting: the next beat tries again)
                log.warning("host worker %s: heartbeat failed (%s)", self.host_id, exc)
            self.closed.wait(BEAT_S)

    def recv(self) -> tuple[Any, ...]:
        while not self.closed.is_set():
            with self.lock:
                keys = [in_key(self.host_id)] + ([] if self.running else [REQUESTS])
            try:
                item = self.redis.blpop(keys, timeout=POLL_S)
            except Exception as exc:  # noqa: BLE001
                log.warning("host worker %s: Redis unreachable (%s); retrying", self.host_id, exc)
                self.closed.wait(1.0)
                continue
            if item is None:
                continue
            envelope = pickle.loads(item[1])
            message, reply_to = envelope["message"], envelope["reply_to"]
            kind, request_id = message[0], message[1]
            with self.lock:
                self.routes[request_id] = reply_to
                if kind == "run":
                    self.running.add(request_id)
            if kind == "run":  # tell the client who has it: its stop goes here, and it watches this worker's key
                self._push(reply_to, ("accepted", request_id, self.host_id))
            return message
        raise EOFError("the host worker is stopping")

    def send(self, message: tuple[Any, ...]) -> None:
        kind, request_id = message[0], message[1]
        with self.lock:
            reply_to = self.routes.get(request_id)
            if kind in ("result", "error"):
                self.routes.pop(request_id, None)
                self.running.discard(request_id)
        if reply_to is not None:
            self._push(reply_to, message)

    def _push(self, client_id: str, message: tuple[Any, ...]) -> None:
        for attempt in range(5):  # a reply is worth a short wait for a restarting Redis
            try:
                pipe = self.redis.pipeline()
                pipe.rpush(reply_key(client_id), pickle.dumps(message))
                pipe.expire(reply_key(client_id), REPLY_TTL_S)
                pipe.execute()
                return
            except Exception as exc:  # noqa: BLE001
                log.warning("host worker %s: reply to %s failed (%s)", self.host_id, client_id, exc)
                time.sleep(0.5 * (attempt + 1))

    def close(self) -> None:
        self.closed.set()
        try:
            self.redis.delete(alive_key(self.host_id))
        except Exception:  # noqa: BLE001  (stopping anyway)
            pass


class HostClientLink:
    """The client side, in place of `ModelHost`'s pipe: `send()` queues requests and routes control messages,
    `recv()` returns the workers' replies and, for requests whose worker is gone or that no worker took, the
    `host_stopped` / `no_capacity` errors that say so."""

    def __init__(self, url: str, queue_timeout: float) -> None:
        self.redis = redis_client(url)
        self.client_id = uuid.uuid4().hex
        self.queue_timeout = queue_timeout
        self.lock = threading.Lock()
        self.queued: dict[str, tuple[float, bytes, str]] = {}  # request id → (sent at, its queue item, what)
        self.accepted: dict[str, str] = {}  # request id → host id
        self.gathering: dict[str, dict[str, Any]] = {}  # an unload sent to every worker, answered once
        self.synthetic: collections.deque[tuple[Any, ...]] = collections.deque()
        self.closed = False
        self.last_check = 0.0

    def send(self, message: tuple[Any, ...]) -> None:
        kind, request_id = message[0], message[1]
        if kind == "run":
            item = pickle.dumps({"message": message, "reply_to": self.client_id})
            with self.lock:
                self.queued[request_id] = (time.monotonic(), item, message[2])
            try:
                self.redis.rpush(REQUESTS, item)
            except Exception:  # not queued: forget it here too, and let the client answer the caller
                with self.lock:
                    self.queued.pop(request_id, None)
                raise
        elif kind == "stop":
            self._stop(request_id)
        elif kind == "status":
            hosts = live_hosts(self.redis)
            self.synthetic.append(("result", request_id, {"mode": "workers", "workers": list(hosts.values()),
                                                          "pid": None}))
        elif kind == "unload":  # ("unload", id, device prefix, node or None): every live worker (on that node)
            node = message[3] if len(message) > 3 else None
            hosts = [host_id for host_id, status in live_hosts(self.redis).items()
                     if node is None or status.get("node") == node]
            with self.lock:
                self.gathering[request_id] = {"waiting": set(hosts), "unloaded": [],
                                              "deadline": time.monotonic() + CONTROL_WAIT_S}
            for host_id in hosts:
                self._to_host(host_id, ("unload", f"{request_id}:{host_id}", message[2]))
            self._finish_gathering()

    def _stop(self, request_id: str) -> None:
        with self.lock:
            host_id = self.accepted.get(request_id)
            queued = self.queued.get(request_id)
        if host_id is not None:
            self._to_host(host_id, ("stop", request_id))
        elif queued is not None and self.redis.lrem(REQUESTS, 1, queued[1]):  # no worker had taken it yet
            with self.lock:
                self.queued.pop(request_id, None)
            self.synthetic.append(("error", request_id, 409, "cancelled", "stopped before a host worker took it",
                                   None))

    def _to_host(self, host_id: str, message: tuple[Any, ...]) -> None:
        self.redis.rpush(in_key(host_id), pickle.dumps({"message": message, "reply_to": self.client_id}))
        self.redis.expire(in_key(host_id), REPLY_TTL_S)

    def recv(self) -> tuple[Any, ...]:
        while True:
            if self.synthetic:
                return self.synthetic.popleft()
            if self.closed:
                raise EOFError("the model host client is closed")
            try:
                item = self.redis.blpop([reply_key(self.client_id)], timeout=POLL_S)
            except Exception as exc:  # noqa: BLE001  (Redis restarting: requests wait, their workers keep going)
                log.warning("model host client: Redis unreachable (%s); retrying", exc)
                time.sleep(1.0)
                continue
            if item is not None and (message := self._receive(pickle.loads(item[1]))) is not None:
                return message
            if time.monotonic() - self.last_check >= POLL_S:
                self._check()

    def _receive(self, message: tuple[Any, ...]) -> tuple[Any, ...] | None:
        kind, request_id = message[0], message[1]
        if kind == "accepted":
            with self.lock:
                self.queued.pop(request_id, None)
                self.accepted[request_id] = message[2]
            return None
        if ":" in request_id and request_id.split(":", 1)[0] in self.gathering:  # one worker's unload answer
            parent, host_id = request_id.split(":", 1)
            with self.lock:
                self.gathering[parent]["waiting"].discard(host_id)
                if kind == "result":
                    self.gathering[parent]["unloaded"].extend(message[2])
            self._finish_gathering()
            return None
        if kind in ("result", "error"):
            with self.lock:
                self.accepted.pop(request_id, None)
                self.queued.pop(request_id, None)
        return message

    def _finish_gathering(self) -> None:
        now = time.monotonic()
        with self.lock:
            for request_id, state in list(self.gathering.items()):
                if not state["waiting"] or now > state["deadline"]:
                    self.gathering.pop(request_id)
                    self.synthetic.append(("result", request_id, state["unloaded"]))

    def _check(self) -> None:
        """Fail requests whose worker's key lapsed, and requests no worker took in time."""
        self.last_check = now = time.monotonic()
        self._finish_gathering()
        with self.lock:
            accepted, queued = dict(self.accepted), dict(self.queued)
        for request_id, host_id in accepted.items():
            if not self.redis.exists(alive_key(host_id)):
                with self.lock:
                    self.accepted.pop(request_id, None)
                self.synthetic.append(("error", request_id, 503, "host_stopped",
                                       f"the model host worker {host_id} stopped (killed, or its node lost) while "
                                       "it ran this request; the next request goes to a live worker",
                                       {"host_id": host_id}))
        for request_id, (sent_at, item, handler) in queued.items():
            waited = now - sent_at
            # Not in the queue any more yet never accepted (Redis restarted and lost it): give a worker's "accepted"
            # on its way a few seconds, then fail it the same way.
            if waited > self.queue_timeout and (self.redis.lrem(REQUESTS, 1, item)
                                                or waited > self.queue_timeout + ALIVE_TTL_S):
                with self.lock:
                    self.queued.pop(request_id, None)
                self.synthetic.append(("error", request_id, 503, "no_capacity",
                                       f"no model host worker took the request ({handler}) within "
                                       f"{self.queue_timeout:g} s: {START_HINT}", None))

    def close(self) -> None:
        self.closed = True
