"""API conventions: envelopes, error format, health, OpenAPI, limits and request ids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from mistudio.api import create_app
from mistudio.config import Settings
from mistudio.platform.db import session_scope
from mistudio.platform.jobs import repository
from mistudio.platform.jobs.table import JobStatus
from mistudio.platform.runtime import Runtime


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"max_request_bytes": 4096}))) as client:
        yield client


def finished_job(client: TestClient) -> str:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with session_scope(runtime.sessions) as session:
        job = repository.create_job(session, kind="test.count", queue="io", params={"n": 1}, runner="local")
        repository.finish(session, job, JobStatus.COMPLETED, result={"count": 1})
        return job.id


def test_unknown_job_is_a_404_envelope_naming_the_id(client: TestClient) -> None:
    response = client.get("/api/v1/jobs/0123abcd")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "job '0123abcd' not found", "details": {"job_id": "0123abcd"}}
    }


def test_cancelling_a_finished_job_is_a_409(client: TestClient) -> None:
    job_id = finished_job(client)
    response = client.post(f"/api/v1/jobs/{job_id}/cancel")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict" and "already finished with status completed" in error["message"]


def test_schema_violations_are_a_422_envelope_naming_the_field(client: TestClient) -> None:
    response = client.get("/api/v1/jobs", params={"limit": 0})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "limit" in error["message"]
    assert error["details"][0]["field"] == "query.limit"


def test_an_unknown_status_filter_is_a_400(client: TestClient) -> None:
    response = client.get("/api/v1/jobs", params={"status": "exploded"})
    assert response.status_code == 400 and "exploded" in response.json()["error"]["message"]


def test_job_list_uses_the_list_envelope(client: TestClient) -> None:
    job_id = finished_job(client)
    body = client.get("/api/v1/jobs", params={"status": ["completed", "failed"], "limit": 10}).json()
    assert body["pagination"] == {"page": 1, "limit": 10, "total": 1}
    assert [job["id"] for job in body["data"]] == [job_id]
    one = client.get(f"/api/v1/jobs/{job_id}").json()
    assert one["data"]["status"] == "completed" and one["data"]["result"] == {"count": 1}


def test_unknown_api_route_is_a_404_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_health_reports_database_runner_disk_and_device(client: TestClient, settings: Settings) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    health = response.json()["data"]
    assert health["status"] == "ok"
    assert health["database"] == {"ok": True, "dialect": "sqlite", "detail": health["database"]["detail"]}
    assert health["runner"]["mode"] == "local" and health["runner"]["ok"] is True
    assert health["redis"] == {"configured": False, "ok": None, "detail": "not configured (embedded mode)"}
    disk = health["disk"]
    assert disk["path"] == str(settings.home) and 0 < disk["free_bytes"] <= disk["total_bytes"]
    assert health["device"]["kind"] in ("cpu", "cuda")


def test_openapi_schema_is_published_and_valid(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    validate(schema)
    assert {"/api/v1/health", "/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/cancel"} <= set(
        schema["paths"]
    )
    assert "404" in schema["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]


def test_request_bodies_over_the_limit_are_refused_with_413(client: TestClient) -> None:
    response = client.post("/api/v1/jobs/x/cancel", content=b"x" * 5000)
    assert response.status_code == 413
    assert "MISTUDIO_MAX_REQUEST_BYTES" in response.json()["error"]["message"]


def test_streamed_bodies_without_length_are_counted_as_they_arrive() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from mistudio.api import BodySizeLimitMiddleware

    async def echo_size(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = BodySizeLimitMiddleware(Starlette(routes=[Route("/", echo_size, methods=["POST"])]), max_bytes=4096)

    def chunks(count: int) -> Iterator[bytes]:  # a generator body is sent chunked, with no Content-Length
        for _ in range(count):
            yield b"y" * 1000

    with TestClient(app) as plain:
        assert plain.post("/", content=chunks(3)).text == "3000"
        refused = plain.post("/", content=chunks(10))
        assert refused.status_code == 413 and refused.json()["error"]["code"] == "payload_too_large"


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    assert len(client.get("/api/v1/health").headers["x-request-id"]) == 32
    echoed = client.get("/api/v1/jobs", headers={"X-Request-ID": "trace-42"})
    assert echoed.headers["x-request-id"] == "trace-42"


def test_websocket_subscribes_and_rejects_malformed_commands(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/ws") as socket:
        socket.send_text("not json")
        assert socket.receive_json()["event"] == "error"
        socket.send_json({"type": "subscribe", "channels": ["jobs", "models/abc/progress"]})
        assert socket.receive_json()["data"] == {"channels": ["jobs", "models/abc/progress"]}
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        figures = {"bytes_done": 10, "bytes_total": 20, "bytes_per_second": 5.0, "eta_seconds": 2.0,
                   "current_file": "model.safetensors", "files_done": 0, "files_total": 1}
        runtime.bus.publish("models/abc/progress", "progress", {"model_id": "abc", **figures})
        runtime.bus.publish("models/other/progress", "progress", {"model_id": "other", **figures})
        assert socket.receive_json() == {
            "channel": "models/abc/progress", "event": "progress", "data": {"model_id": "abc", **figures}
        }
        socket.send_json({"type": "unsubscribe", "channels": ["jobs"]})
        assert socket.receive_json()["data"] == {"channels": ["models/abc/progress"]}


def test_the_web_ui_or_a_build_hint_is_served_at_the_root(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code in (200, 503)
    assert "miStudio" in response.text or "<div id=" in response.text


@pytest.mark.gpu
def test_health_names_the_gpu_when_cuda_is_available(client: TestClient) -> None:
    import torch

    device = client.get("/api/v1/health").json()["data"]["device"]
    assert device["kind"] == "cuda" and torch.cuda.get_device_name(0) in device["name"]
    assert device["memory_total_bytes"] == torch.cuda.get_device_properties(0).total_memory
