"""Generation through the API on a tiny model: tokens streamed on the WebSocket by the model host, the same seed
giving the same text, a host killed mid-generation, and no model ever loaded in the API process."""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api_fixtures import wait_for_job
from tests.support.hub_fixtures import TinyModels


def _import_model(client: TestClient, path: Path) -> str:
    response = client.post("/api/v1/models/import", json={"path": str(path), "mode": "link"})
    assert response.status_code == 202, response.text
    assert wait_for_job(client, response.json()["data"]["job_id"])["status"] == "completed"
    return response.json()["data"]["id"]


@pytest.fixture
def model_id(client: TestClient, tiny_models: TinyModels, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ready tiny llama; from here on, loading a model in this (the API's) process fails the test."""
    imported = _import_model(client, tiny_models("llama"))  # built here, before the guard: it is the test's data
    _refuse_model_loads(monkeypatch)
    return imported


def _refuse_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a model was loaded in the API process")

    monkeypatch.setattr("mistudio.lens.model.open_model", refuse)
    monkeypatch.setattr(transformers.PreTrainedModel, "__init__", refuse)


Events = list[dict[str, Any]]


def _generate(client: TestClient, model_id: str, socket: Any, **body: Any) -> tuple[dict[str, Any], Events]:
    """Subscribe to a request's channel, start it, and read its events until done or error."""
    request_id = uuid.uuid4().hex
    socket.send_json({"type": "subscribe", "channels": [f"models/{model_id}/generate/{request_id}"]})
    assert socket.receive_json()["event"] == "subscribed"
    response = client.post(f"/api/v1/models/{model_id}/generate", json={"request_id": request_id, **body})
    assert response.status_code == 202, response.text
    accepted = response.json()["data"]
    assert accepted["request_id"] == request_id and accepted["channel"] == f"models/{model_id}/generate/{request_id}"
    events = []
    while not events or events[-1]["event"] not in ("done", "error"):
        events.append(socket.receive_json())
    socket.send_json({"type": "unsubscribe", "channels": [accepted["channel"]]})
    assert socket.receive_json()["event"] == "unsubscribed"
    return accepted, events


def test_tokens_stream_and_the_same_seed_gives_the_same_text(client: TestClient, model_id: str) -> None:
    options = {"prompt": "the king and the queen", "max_new_tokens": 12, "temperature": 1.0, "top_p": 0.9}
    with client.websocket_connect("/api/v1/ws") as socket:
        accepted, events = _generate(client, model_id, socket, seed=7, **options)
        _, again = _generate(client, model_id, socket, seed=7, **options)
        _, other = _generate(client, model_id, socket, seed=8, **options)
        _, greedy = _generate(client, model_id, socket, prompt="the king", max_new_tokens=8, temperature=0)
        _, greedy_again = _generate(client, model_id, socket, prompt="the king", max_new_tokens=8, temperature=0)
    assert accepted["seed"] == 7 and accepted["use_chat_template"] is True  # the tiny tokenizer has a template
    tokens, done = [e for e in events if e["event"] == "token"], events[-1]
    assert done["event"] == "done", done
    # One event per token (a last one may repeat its index to flush an incomplete character).
    assert sorted({t["data"]["index"] for t in tokens}) == list(range(done["data"]["tokens"]))
    assert "".join(t["data"]["text"] for t in tokens) == done["data"]["text"] and done["data"]["text"]
    assert done["data"]["seed"] == 7 and done["data"]["format"] == "fp32" and done["data"]["device"] == "cpu"
    assert done["data"]["warm"] is False and again[-1]["data"]["warm"] is True  # the host kept it loaded
    assert again[-1]["data"]["text"] == done["data"]["text"]
    assert other[-1]["data"]["text"] != done["data"]["text"]
    assert greedy[-1]["data"]["text"] == greedy_again[-1]["data"]["text"]
    assert client.app.state.runtime.host.starts == 1  # type: ignore[attr-defined]


def test_generate_refuses_what_it_cannot_do_before_starting(client: TestClient, model_id: str,
                                                            tiny_models: TinyModels, tmp_path: Path) -> None:
    missing = client.post("/api/v1/models/0123456789abcdef0123456789abcdef/generate", json={"prompt": "hi"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    invalid = client.post(f"/api/v1/models/{model_id}/generate", json={"prompt": "hi", "temperature": -1})
    assert invalid.status_code == 422
    plain = tmp_path / "plain"
    plain.mkdir()
    for file in tiny_models("llama").iterdir():
        if file.name not in ("chat_template.jinja", "tokenizer_config.json"):
            (plain / file.name).symlink_to(file)
    config = json.loads((tiny_models("llama") / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (plain / "tokenizer_config.json").write_text(json.dumps(config))
    plain_id = _import_model(client, plain)
    refused = client.post(f"/api/v1/models/{plain_id}/generate", json={"prompt": "hi", "use_chat_template": True})
    assert refused.status_code == 400 and "has no chat template" in refused.json()["error"]["message"]
    assert client.app.state.runtime.host.pid is None  # type: ignore[attr-defined]  # nothing reached the host


def test_a_host_killed_mid_generation_fails_clearly_and_the_next_request_starts_a_new_host(
        client: TestClient, model_id: str) -> None:
    host = client.app.state.runtime.host  # type: ignore[attr-defined]
    with client.websocket_connect("/api/v1/ws") as socket:
        request_id = uuid.uuid4().hex
        channel = f"models/{model_id}/generate/{request_id}"
        socket.send_json({"type": "subscribe", "channels": [channel]})
        assert socket.receive_json()["event"] == "subscribed"
        response = client.post(f"/api/v1/models/{model_id}/generate",
                               json={"request_id": request_id, "prompt": "the river", "max_new_tokens": 2000})
        assert response.status_code == 202
        first = socket.receive_json()
        assert first["event"] == "token", first  # it is generating now
        killed_pid = host.pid
        os.kill(killed_pid, signal.SIGKILL)
        event = socket.receive_json()
        while event["event"] == "token":
            event = socket.receive_json()
        assert event["event"] == "error", event
        assert event["data"]["code"] == "host_stopped"
        assert event["data"]["message"] == (f"the model host stopped (killed by SIGKILL) while generating with model "
                                            f"{model_id!r}; the next request starts a new one")
        assert client.get(f"/api/v1/models/{model_id}").status_code == 200  # the server is still up
        _, events = _generate(client, model_id, socket, prompt="the river", max_new_tokens=4)
    assert events[-1]["event"] == "done" and events[-1]["data"]["warm"] is False
    assert host.starts == 2 and host.pid != killed_pid


NO_TORCH_SCRIPT = """
import sys, time, uuid
from fastapi.testclient import TestClient
from mistudio.api import create_app
from mistudio.config import Settings

settings = Settings(home=sys.argv[1], log_format="text")
with TestClient(create_app(settings)) as client, client.websocket_connect("/api/v1/ws") as socket:
    imported = client.post("/api/v1/models/import", json={"path": sys.argv[2], "mode": "link"}).json()["data"]
    deadline = time.monotonic() + 300
    while client.get(f"/api/v1/jobs/{imported['job_id']}").json()["data"]["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.1)
    request_id = uuid.uuid4().hex
    socket.send_json({"type": "subscribe", "channels": [f"models/{imported['id']}/generate/{request_id}"]})
    socket.receive_json()
    client.post(f"/api/v1/models/{imported['id']}/generate", json={"prompt": "the king", "max_new_tokens": 3,
                                                                    "request_id": request_id})
    event = socket.receive_json()
    while event["event"] == "token":
        event = socket.receive_json()
    print(event["event"], "torch imported" if "torch" in sys.modules else "no torch")
"""


def test_the_api_process_never_imports_torch_to_import_a_model_and_generate(tiny_models: TinyModels,
                                                                            tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = tiny_models("llama")
    result = subprocess.run([sys.executable, "-c", NO_TORCH_SCRIPT, str(tmp_path / "home"), str(folder)],
                            capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "done no torch", result.stdout


def test_a_load_slower_than_the_time_limit_fails_naming_the_setting_and_ends_the_host(
        models_settings: Any, tiny_models: TinyModels) -> None:
    import time

    import psutil

    from mistudio.api import create_app

    settings = models_settings.model_copy(update={"model_load_timeout_seconds": 0.001})
    with TestClient(create_app(settings)) as client, client.websocket_connect("/api/v1/ws") as socket:
        model_id = _import_model(client, tiny_models("llama"))
        _, events = _generate(client, model_id, socket, prompt="the river", max_new_tokens=2)
        assert events[-1]["event"] == "error", events[-1]
        assert events[-1]["data"]["code"] == "load_timeout"
        assert "took more than 0.001s (MISTUDIO_MODEL_LOAD_TIMEOUT_SECONDS)" in events[-1]["data"]["message"]
        pid = client.app.state.runtime.host.pid  # type: ignore[attr-defined]
        deadline = time.monotonic() + 30
        while pid is not None and psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the host stuck in a load did not end"
            time.sleep(0.05)
        assert client.get(f"/api/v1/models/{model_id}").status_code == 200  # the server is still up
