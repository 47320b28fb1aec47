"""Live events through the machine's real Redis: a studio's relay gets its own studio's events, and only those,
when two studios share one Redis server on different database numbers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from mistudio.platform.events import RedisPublisher, RedisRelay
from tests.support.studio import wait_until

pytestmark = pytest.mark.redis


class RecordingBus:
    """What a relay hands to the in-process bus, kept for the test."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        self._lock = threading.Lock()

    def publish(self, channel: str, event: str, data: Any) -> None:
        with self._lock:
            self.events.append((channel, event, data))

    def lost_events(self) -> None:
        pass


def _other_database(url: str) -> str:
    base, _, database = url.rpartition("/")
    return f"{base}/{(int(database) + 8) % 16}"  # pub/sub only: nothing is written to that database


def test_studios_on_different_redis_databases_do_not_see_each_others_events(redis_available: None) -> None:
    from tests.support.services import REDIS_URL

    urls = {"mine": REDIS_URL, "theirs": _other_database(REDIS_URL)}
    buses = {name: RecordingBus() for name in urls}
    relays = [RedisRelay(urls[name], buses[name]) for name in urls]  # type: ignore[arg-type]
    publishers = {name: RedisPublisher(url) for name, url in urls.items()}
    for relay in relays:
        relay.start()
    try:
        # A relay subscribes on its own thread: publish until each has heard its first event.
        for name, publisher in publishers.items():
            wait_until(lambda name=name, publisher=publisher: publisher.publish("jobs", "job.updated", {"id": name})
                       or buses[name].events, timeout=10, interval=0.1, what=f"{name} relay to subscribe")
        for name, publisher in publishers.items():
            publisher.publish("jobs", "job.updated", {"id": f"{name}-last"})
        wait_until(lambda: all(("jobs", "job.updated", {"id": f"{name}-last"}) in buses[name].events
                               for name in urls), timeout=10, what="the last events")
        time.sleep(0.3)  # anything misrouted would have arrived by now too
        for name in urls:
            assert {data["id"].removesuffix("-last") for _, _, data in buses[name].events} == {name}
    finally:
        for relay in relays:
            relay.stop()
        for publisher in publishers.values():
            publisher.close()
