"""The live events are part of the contract: declared per channel, refused when off it, published in OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from mistudio.api import create_app
from mistudio.config import Settings
from mistudio.datasets.schemas import DatasetReady
from mistudio.models.schemas import ModelDownloadProgress
from mistudio.platform.events import CHANNELS, ChannelRegistry, EventBus, EventContractError, EventPayload
from mistudio.platform.jobs.context import JobContext
from mistudio.platform.runtime import Runtime
from mistudio.system.schemas import SocketError
from tests.support.api_fixtures import FINISHED
from tests.support.job_kinds import Tick

FIGURES = {"bytes_done": 10, "bytes_total": 20, "bytes_per_second": 5.0, "eta_seconds": None,
           "current_file": "model.safetensors", "files_done": 0, "files_total": 1}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def sent() -> Iterator[tuple[JobContext, list[tuple[str, str, Any]]]]:
    """A job context whose events land in a list (no database: emit never touches it)."""
    events: list[tuple[str, str, Any]] = []
    ctx = JobContext("job1", sessions=None, send_event=lambda *event: events.append(event),  # type: ignore[arg-type]
                     stop_requested=lambda: False)
    yield ctx, events
    ctx.close()


def test_a_payload_with_a_field_its_model_does_not_name_cannot_be_built() -> None:
    with pytest.raises(ValidationError, match="speed"):
        ModelDownloadProgress(model_id="m1", speed=3, **FIGURES)  # type: ignore[call-arg]


def test_emit_sends_the_declared_payload_as_json(sent: tuple[JobContext, list[Any]]) -> None:
    ctx, events = sent
    ctx.emit("models/m1/progress", "progress", ModelDownloadProgress(model_id="m1", **FIGURES))
    assert events == [("models/m1/progress", "progress", {"model_id": "m1", **FIGURES})]


@pytest.mark.parametrize(("channel", "event", "payload", "complaint"), [
    ("models/m1/progress", "finished", ModelDownloadProgress(model_id="m1", **FIGURES), "event 'finished'"),
    ("models/m1/elsewhere", "progress", ModelDownloadProgress(model_id="m1", **FIGURES), "channel"),
    ("models/m1/progress", "progress", DatasetReady(dataset_id="d1", splits={}), "not DatasetReady"),
    ("test/job1", "tick", SocketError(message="x"), "carries Tick"),
])
def test_emitting_what_the_channel_does_not_declare_raises(
        sent: tuple[JobContext, list[Any]], channel: str, event: str, payload: EventPayload, complaint: str) -> None:
    ctx, events = sent
    with pytest.raises(EventContractError, match=complaint):
        ctx.emit(channel, event, payload)
    assert events == []


@pytest.mark.parametrize(("data", "complaint"), [
    ({"model_id": "m1", **FIGURES, "speed": 3}, "speed"),
    ({"model_id": "m1", "bytes_done": 10}, "bytes_total"),
    ({"model_id": "m1", **FIGURES, "bytes_done": "10"}, "bytes_done"),
])
def test_the_check_refuses_data_the_model_does_not_describe(data: dict[str, Any], complaint: str) -> None:
    with pytest.raises(EventContractError, match=complaint):
        CHANNELS.check("models/m1/progress", "progress", data)


def test_the_check_sees_extra_fields_even_in_models_that_ignore_them(client: TestClient) -> None:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    job = client.get(f"/api/v1/jobs/{runtime.runner.submit('test.count', {'n': 1}).id}").json()["data"]
    CHANNELS.check("jobs", "job.updated", job)  # the REST body and the event data are one model
    with pytest.raises(EventContractError, match="does not declare: pid"):
        CHANNELS.check("jobs/j1", "job.updated", {**job, "pid": 42})
    nested = {**job, "log": [{"time": "2025-01-01T00:00:00Z", "level": "info", "text": "x", "host": "h"}]}
    with pytest.raises(EventContractError, match="reads back differently"):
        CHANNELS.check("jobs", "job.updated", nested)


def test_an_event_cannot_be_declared_twice_with_another_model() -> None:
    registry = ChannelRegistry()
    registry.declare("things/{thing_id}", {"tick": Tick})
    registry.declare("things/{thing_id}", {"tick": Tick})  # importing a module twice is harmless
    with pytest.raises(ValueError, match="already declared as Tick"):
        registry.declare("things/{thing_id}", {"tick": SocketError})
    assert registry.resolve("things/abc", "tick").pattern == "things/{thing_id}"
    with pytest.raises(EventContractError):
        registry.resolve("things/abc/more", "tick")


def test_the_bus_check_of_the_tests_reports_an_event_off_the_contract(
        events_match_their_schemas: list[str]) -> None:
    EventBus().publish("models/m1/progress", "progress", {"bytes_done": 1})
    assert len(events_match_their_schemas) == 1 and "ModelDownloadProgress" in events_match_their_schemas[0]
    events_match_their_schemas.clear()  # seen: this test is about the check, not a broken event


def test_the_openapi_schema_describes_every_channel_event_and_payload(client: TestClient) -> None:
    components = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    channels = components["WsChannels"]["properties"]
    declared = {(e.pattern, e.event): e.payload.__name__ for e in CHANNELS.declared()}
    described = {(pattern, event): ref["$ref"].rsplit("/", 1)[-1]
                 for pattern, entry in channels.items() for event, ref in entry["properties"].items()}
    assert described == declared
    assert {("models/{model_id}/progress", "progress"), ("datasets/{dataset_id}/progress", "tokenize"),
            ("extractions/{extraction_id}", "status"), ("jobs", "job.updated"), ("system", "resync")} <= set(declared)
    for name in described.values():
        assert components[name]["type"] == "object"
    assert components["ModelDownloadProgress"]["additionalProperties"] is False
    assert set(components["WsMessage"]["required"]) == {"channel", "event", "data"}


def test_a_real_job_sends_only_what_its_channels_declare(client: TestClient) -> None:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    messages: list[dict[str, Any]] = []
    with client.websocket_connect("/api/v1/ws") as socket:
        socket.send_json({"type": "subscribe", "channels": ["jobs"]})
        messages.append(socket.receive_json())
        job = runtime.runner.submit("test.count", {"n": 10, "delay": 0.1})
        socket.send_json({"type": "subscribe", "channels": [f"jobs/{job.id}", f"test/{job.id}"]})
        while not (messages[-1]["channel"] == "jobs" and messages[-1]["data"]["status"] in FINISHED):
            messages.append(socket.receive_json())
        assert messages[-1]["data"]["status"] == "completed", messages[-1]
        socket.send_text("not a command")
        messages.append(socket.receive_json())
        while messages[-1]["channel"] != "system":  # the job's last events may still be ahead of the answer
            messages.append(socket.receive_json())
    for message in messages:
        CHANNELS.check(message["channel"], message["event"], message["data"])
    seen = {(m["channel"].split("/")[0], m["event"]) for m in messages}
    assert {("system", "subscribed"), ("system", "error"), ("jobs", "job.updated"), ("test", "tick")} <= seen
