"""The event bus: `{channel, event, data}` messages, a live view of state that lives in the database.

Embedded mode: an in-process bus fed by the server's job supervisors. Scaled mode: every publisher
(server or Celery worker) publishes to Redis, and each server relays Redis into its in-process bus,
so WebSocket clients see the same stream either way.

The messages are part of the API contract: every channel pattern (`models/{model_id}/progress`) declares
its events and the pydantic model of each one's data in `CHANNELS`. Domains declare their channels in their
`schemas.py` (the platform names none of them); `api.py` publishes the declarations in the OpenAPI schema,
so the web client's types for them are generated like the REST types.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.json_schema import models_json_schema

log = logging.getLogger(__name__)

# The relay retries a lost Redis after 0.5 s, doubling to at most 5 s: a restart is noticed within seconds, an
# outage does not spin.
RELAY_FIRST_BACKOFF_S = 0.5
RELAY_MAX_BACKOFF_S = 5.0
SUBSCRIBER_QUEUE_SIZE = 1000
CHANNELS_SCHEMA = "WsChannels"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class EventPayload(BaseModel):
    """Base of the data of a live event: a field the model does not name is refused where it is built."""

    model_config = ConfigDict(extra="forbid")


class WsMessage(BaseModel):
    """One message on the WebSocket `/api/v1/ws`; `data` is the model its channel declares for `event`."""

    channel: str
    event: str
    data: Any


class EventContractError(Exception):
    """An event its channel does not declare: unknown channel or event, or data of another shape.

    A programming error, raised where the event is built (and by the tests' bus check), never sent to a user.
    """


@dataclass(frozen=True)
class ChannelEvent:
    """One declared event: on channels matching `pattern`, `event` carries a `payload`."""

    pattern: str
    event: str
    payload: type[BaseModel]


class ChannelRegistry:
    """Channel pattern + event name → payload model, filled once as domain modules are imported."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str], ChannelEvent] = {}
        self._regexes: dict[str, re.Pattern[str]] = {}

    def declare(self, pattern: str, events: Mapping[str, type[BaseModel]]) -> None:
        """Declare the events of channels matching `pattern`; `{name}` stands for one path segment (an id)."""
        for event, payload in events.items():
            existing = self._events.get((pattern, event))
            if existing is not None and existing.payload is not payload:
                raise ValueError(f"event {event!r} on {pattern!r} is already declared as {existing.payload.__name__}")
            self._events[(pattern, event)] = ChannelEvent(pattern, event, payload)
        if pattern not in self._regexes:
            literal = [re.escape(part) for part in _PLACEHOLDER.split(pattern)[::2]]
            self._regexes[pattern] = re.compile("^" + "[^/]+".join(literal) + "$")

    def declared(self) -> list[ChannelEvent]:
        return sorted(self._events.values(), key=lambda e: (e.pattern, e.event))

    def resolve(self, channel: str, event: str) -> ChannelEvent:
        """The declaration `event` on `channel` falls under; EventContractError if there is none."""
        patterns = [p for p, regex in self._regexes.items() if regex.match(channel)]
        if not patterns:
            raise EventContractError(f"channel {channel!r} is not declared (declared: {', '.join(self._regexes)})")
        matches = [self._events[(p, event)] for p in patterns if (p, event) in self._events]
        if not matches:
            known = sorted(e for p, e in self._events if p in patterns)
            raise EventContractError(f"event {event!r} is not declared on {channel!r} (declared: {', '.join(known)})")
        if len({m.payload for m in matches}) > 1:
            raise EventContractError(f"{event!r} on {channel!r} matches several declarations: {patterns}")
        return matches[0]

    def data(self, channel: str, event: str, payload: BaseModel) -> dict[str, Any]:
        """The JSON-ready data of `event` on `channel`, refusing a payload of a model the channel does not declare."""
        declared = self.resolve(channel, event).payload
        if type(payload) is not declared:
            raise EventContractError(f"{event!r} on {channel!r} carries {declared.__name__}, "
                                     f"not {type(payload).__name__}")
        return payload.model_dump(mode="json")

    def check(self, channel: str, event: str, data: Any) -> None:
        """Raise EventContractError unless `data` is exactly what the declared model describes.

        Strict JSON validation catches missing fields and wrong types; comparing the re-dumped model with
        `data` catches fields the model does not name (even in models that ignore extras, like JobOut).
        """
        payload = self.resolve(channel, event).payload
        try:
            parsed = payload.model_validate_json(json.dumps(data, default=str), strict=True)
        except ValidationError as exc:
            raise EventContractError(f"{event!r} on {channel!r} is not a {payload.__name__}: {exc}") from None
        described = parsed.model_dump(mode="json")
        if described != data:
            undeclared = sorted(set(data) - set(described)) if isinstance(data, dict) else []
            problem = (f"fields it does not declare: {', '.join(undeclared)}" if undeclared
                       else f"data that reads back differently: {data!r} → {described!r}")
            raise EventContractError(f"{event!r} on {channel!r} has {problem} ({payload.__name__})")

    def json_schemas(self, ref_template: str) -> dict[str, Any]:
        """JSON schemas of every payload, the envelope, and `WsChannels`: pattern → event → `$ref` of its payload."""
        models = sorted({e.payload for e in self._events.values()} | {WsMessage}, key=lambda m: m.__name__)
        refs, top = models_json_schema([(m, "serialization") for m in models], ref_template=ref_template)
        channels: dict[str, Any] = {}
        for declared in self.declared():
            entry = channels.setdefault(declared.pattern, {"type": "object", "properties": {}, "required": [],
                                                           "additionalProperties": False})
            entry["properties"][declared.event] = refs[(declared.payload, "serialization")]
            entry["required"].append(declared.event)
        schemas: dict[str, Any] = dict(top.get("$defs", {}))
        schemas[CHANNELS_SCHEMA] = {
            "title": CHANNELS_SCHEMA, "type": "object", "properties": channels, "required": sorted(channels),
            "additionalProperties": False,
            "description": "The live events of the WebSocket /api/v1/ws: for each channel pattern ({...} is one "
                           "path segment, an id), each event name and the schema of its `data`.",
        }
        return schemas


# Declarations only, made at import time like the job kinds: the one registry every process shares.
CHANNELS = ChannelRegistry()
declare_channel = CHANNELS.declare
event_data = CHANNELS.data


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

    def lost_events(self) -> None:
        """Runs on the subscriber's loop: events may have been lost upstream; the client is told to resync now."""
        self.overflowed = True
        try:
            self.queue.put_nowait(RESYNC)
        except asyncio.QueueFull:
            pass  # the next event it takes carries the resync


# Put on a subscriber's queue to wake its sender when events were lost upstream; never sent as it is.
RESYNC = Event("system", "resync", None)


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

    def lost_events(self) -> None:
        """Every subscriber may have missed events (the relay lost Redis for a while): each is told to resync."""
        with self._lock:
            targets = list(self._subscriptions)
        for subscription in targets:
            try:
                subscription.loop.call_soon_threadsafe(subscription.lost_events)
            except RuntimeError:  # its loop closed: the client is gone
                self.unsubscribe(subscription)

    def publish(self, channel: str, event: str, data: Any) -> None:
        message = Event(channel, event, data)
        with self._lock:
            targets = [s for s in self._subscriptions if channel in s.channels]
        for subscription in targets:
            try:
                subscription.loop.call_soon_threadsafe(subscription.offer, message)
            except RuntimeError:  # its loop closed: the client is gone
                self.unsubscribe(subscription)


def redis_channel(redis_url: str) -> str:
    """The pub/sub channel of the studio whose Redis database this URL names. Pub/sub ignores database numbers
    (its channels are server-wide), so studios sharing one Redis server on different databases would each see
    the other's events without the number in the name (Celery's own broadcasts are scoped the same way)."""
    import redis

    database = redis.connection.parse_url(redis_url).get("db", 0)
    return f"mistudio:{database}:events"


class RedisPublisher:
    """Publishes events to Redis pub/sub (used by servers and workers in scaled mode)."""

    def __init__(self, redis_url: str) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # One immediate retry (a pooled connection a Redis restart closed), never a wait: a job's supervisor
        # publishes from the loop that renews its lease, which must not stall while Redis is away.
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=5,
                                            retry=Retry(NoBackoff(), 1))
        self._channel = redis_channel(redis_url)
        self._failing = False

    def publish(self, channel: str, event: str, data: Any) -> None:
        payload = json.dumps({"channel": channel, "event": event, "data": data}, default=str)
        try:
            self._client.publish(self._channel, payload)
        except Exception as exc:  # redis.RedisError and socket errors: a lost live event is recoverable
            if not self._failing:  # once per outage, not once per event
                log.warning("could not publish events to Redis (%s); live clients resync once it is back", exc)
            self._failing = True
            return
        if self._failing:
            log.warning("publishing events to Redis again")
        self._failing = False

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
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        backoff, lost = RELAY_FIRST_BACKOFF_S, False
        while not self._stopped.is_set():
            # No retries inside redis-py: a reconnection it made silently would hide the events lost meanwhile.
            client = redis.Redis.from_url(self._redis_url, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(redis_channel(self._redis_url))
                if lost:
                    # Whatever was published while Redis was away is gone: clients reload state from REST.
                    log.warning("event relay reconnected to Redis; live clients are told to resync")
                    self._bus.lost_events()
                backoff, lost = RELAY_FIRST_BACKOFF_S, False
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and message["type"] == "message":
                        self._relay(message["data"])
            except (redis.RedisError, OSError) as exc:
                lost = True
                log.warning("event relay lost Redis (%s); retrying in %.1fs", exc, backoff)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, RELAY_MAX_BACKOFF_S)
            finally:
                pubsub.close()
                client.close()

    def _relay(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
            self._bus.publish(body["channel"], body["event"], body["data"])
        except (ValueError, KeyError, TypeError) as exc:  # not ours: another program on the same channel
            log.warning("event relay skipped a message it cannot read: %s", exc)
