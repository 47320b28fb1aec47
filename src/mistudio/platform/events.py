"""The event bus: `{channel, event, data}` messages, a live view of state that lives in the database.

Embedded mode: an in-process bus fed by the server's job supervisors. Scaled mode: every publisher
(server or Celery worker) publishes to Redis, and each server relays Redis into its in-process bus,
so WebSocket clients see the same stream either way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

REDIS_CHANNEL = "mistudio:events"
SUBSCRIBER_QUEUE_SIZE = 1000


@dataclass(frozen=True)
class Event:
    channel: str
    event: str
    data: Any

    def as_message(self) -> dict[str, Any]:
        return {"channel": self.channel, "event": self.event, "data": self.data}


@dataclass(eq=False)
class Subscription:
    """One consumer (a WebSocket) with its channels and an asyncio queue on its own event loop."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(SUBSCRIBER_QUEUE_SIZE))
    channels: set[str] = field(default_factory=set)
    overflowed: bool = False

    def offer(self, event: Event) -> None:
        # Runs on the subscriber's loop. A slow client loses events, is told so, and resyncs from REST.
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True


class EventBus:
    """In-process fan-out; `publish` may be called from any thread."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> Subscription:
        subscription = Subscription(loop=asyncio.get_running_loop())
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def publish(self, channel: str, event: str, data: Any) -> None:
        message = Event(channel, event, data)
        with self._lock:
            targets = [s for s in self._subscriptions if channel in s.channels]
        for subscription in targets:
            try:
                subscription.loop.call_soon_threadsafe(subscription.offer, message)
            except RuntimeError:  # its loop closed: the client is gone
                self.unsubscribe(subscription)


class RedisPublisher:
    """Publishes events to Redis pub/sub (used by servers and workers in scaled mode)."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(redis_url)

    def publish(self, channel: str, event: str, data: Any) -> None:
        payload = json.dumps({"channel": channel, "event": event, "data": data}, default=str)
        try:
            self._client.publish(REDIS_CHANNEL, payload)
        except Exception as exc:  # redis.RedisError and socket errors: a lost live event is recoverable
            log.warning("could not publish event on %s to Redis: %s", channel, exc)

    def close(self) -> None:
        self._client.close()


class RedisRelay:
    """Relays Redis pub/sub into an in-process bus, reconnecting when Redis comes back."""

    def __init__(self, redis_url: str, bus: EventBus) -> None:
        self._redis_url = redis_url
        self._bus = bus
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redis-event-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)

    def _run(self) -> None:
        import redis

        while not self._stopped.is_set():
            try:
                client = redis.Redis.from_url(self._redis_url)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(REDIS_CHANNEL)
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and message["type"] == "message":
                        body = json.loads(message["data"])
                        self._bus.publish(body["channel"], body["event"], body["data"])
                pubsub.close()
                client.close()
            except redis.RedisError as exc:
                log.warning("event relay lost Redis (%s); retrying in 1s", exc)
                self._stopped.wait(1.0)
