"""Every live event a test's studio publishes must be what its channel declares (`platform.events.CHANNELS`).

Autouse: any test that runs real jobs in this process (the API tests' TestClient studio, whose job children
send their events through the supervisor to this process's bus) checks the stream for free. A live server in
a subprocess is covered where the events are built: `JobContext.emit` refuses an undeclared payload.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mistudio.platform.events import CHANNELS, EventBus, EventContractError


@pytest.fixture(autouse=True)
def events_match_their_schemas(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Check each `EventBus.publish` against the registry; the test fails if any event broke the contract."""
    violations: list[str] = []
    publish = EventBus.publish

    def checked_publish(bus: EventBus, channel: str, event: str, data: Any) -> None:
        try:
            CHANNELS.check(channel, event, data)
        except EventContractError as exc:  # raised here it would only kill a supervisor thread: collect instead
            violations.append(str(exc))
        publish(bus, channel, event, data)

    monkeypatch.setattr(EventBus, "publish", checked_publish)
    yield violations
    if violations:
        pytest.fail("events that break their channel's schema were published:\n" + "\n".join(violations[:10]),
                    pytrace=False)
