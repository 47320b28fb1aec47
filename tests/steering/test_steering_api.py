"""The steering API end to end: a real tiny llama and a real tiny SAE imported through the API, runs in the model
host (a child process), tokens on the WebSocket, experiments in SQLite, directions through a control-vector GGUF."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from mistudio.api import create_app
from mistudio.config import Settings
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.formats import save_saelens
from mistudio.lens.steer import load_direction
from tests.models.test_generate_api import _import_model, _refuse_model_loads
from tests.support.hub_fixtures import TinyModels

HOOK = "blocks.1.resid_post"
PROMPT = "the king and the queen"


def _import_sae(client: TestClient, folder: Path, name: str, model_id: str | None) -> dict[str, Any]:
    response = client.post("/api/v1/saes/import", json={"path": str(folder), "name": name, "model_id": model_id})
    assert response.status_code == 201, response.text
    return response.json()["data"]


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory, tiny_models: TinyModels) -> Iterator[dict[str, Any]]:
    """One studio for the module: a tiny llama (d_model 64, 2 layers, 256 positions), an SAE on its block 1 and
    one of another width."""
    root = tmp_path_factory.mktemp("steering")
    settings = Settings(home=root / "home", job_modules=[], cancel_grace_seconds=2, log_format="text",
                        database_url=None, redis_url=None)
    torch.manual_seed(0)
    ours = save_saelens(SparseAutoencoder(SAEConfig("standard", d_in=64, d_sae=128, hook_point=HOOK)), root / "ours")
    other = save_saelens(SparseAutoencoder(SAEConfig("standard", d_in=32, d_sae=64, hook_point=HOOK)), root / "other")
    with TestClient(create_app(settings)) as client:
        model_id = _import_model(client, tiny_models("llama"))
        sae = _import_sae(client, ours, "ours", model_id)
        foreign = _import_sae(client, other, "other", None)
        yield {"client": client, "model_id": model_id, "sae": sae, "foreign": foreign, "root": root,
               "model_folder": tiny_models("llama")}


def _compare(client: TestClient, socket: Any, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Subscribe to a fresh request's channel, compare, and read its events up to done."""
    request_id = uuid.uuid4().hex
    channel = f"steering/{request_id}"
    socket.send_json({"type": "subscribe", "channels": [channel]})
    assert socket.receive_json()["event"] == "subscribed"
    response = client.post("/api/v1/steering/compare", json={"request_id": request_id, **body})
    assert response.status_code == 200, response.text
    events = []
    while not events or events[-1]["event"] not in ("done", "error"):
        events.append(socket.receive_json())
    socket.send_json({"type": "unsubscribe", "channels": [channel]})
    assert socket.receive_json()["event"] == "unsubscribed"
    return response.json()["data"], events


def _feature(studio: dict[str, Any], strength: float, **overrides: Any) -> dict[str, Any]:
    return {"sae_id": studio["sae"]["id"], "feature": 3, "mode": "add", "strength": strength, **overrides}


def _body(studio: dict[str, Any], *interventions: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"model_id": studio["model_id"], "prompt": PROMPT, "max_new_tokens": 10, "temperature": 1.0,
            "seed": 11, "interventions": list(interventions), **overrides}


def test_compare_streams_both_runs_and_only_a_real_strength_changes_the_text(studio: dict[str, Any],
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    client = studio["client"]
    _refuse_model_loads(monkeypatch)  # from here on a model loaded in the API's process fails the test
    with client.websocket_connect("/api/v1/ws") as socket:
        still, still_events = _compare(client, socket, _body(studio, _feature(studio, 0.0)))
        pushed, pushed_events = _compare(client, socket, _body(studio, _feature(studio, 400.0)))
    assert still["seed"] == pushed["seed"] == 11 and still["device"] == "cpu"
    assert still["baseline"]["text"] == still["steered"]["text"] and still["baseline"]["text"]
    assert still["metrics"]["kl_mean"] == pytest.approx(0.0, abs=1e-6)
    assert pushed["baseline"]["text"] == still["baseline"]["text"]  # same seed, same baseline
    assert pushed["steered"]["text"] != pushed["baseline"]["text"]
    assert pushed["metrics"]["kl_mean"] > 0.01
    assert len(pushed["metrics"]["kl_per_position"]) == pushed["baseline"]["tokens"]
    assert pushed["metrics"]["feature_activations"][0]["feature"] == 3
    assert pushed["interventions"] == [f"add feature 3 × 400 at {HOOK} (all)"]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(studio["model_folder"])  # it has a chat template: the prompt is a turn
    prompt_tokens = len(tokenizer.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=True,
                                                      add_generation_prompt=True, return_dict=True)["input_ids"])
    assert pushed["baseline"]["prompt_tokens"] == pushed["steered"]["prompt_tokens"] == prompt_tokens
    for out, events in ((still, still_events), (pushed, pushed_events)):
        assert events[-1]["event"] == "done" and events[-1]["data"]["experiment_id"] == out["experiment_id"]
        for run in ("baseline", "steered"):
            streamed = "".join(e["data"]["text"] for e in events if e["event"] == "token" and e["data"]["run"] == run)
            assert streamed == out[run]["text"]

    history = client.get("/api/v1/steering/experiments", params={"model_id": studio["model_id"],
                                                                 "kind": "compare"}).json()
    ids = [item["id"] for item in history["data"]]
    assert pushed["experiment_id"] in ids and still["experiment_id"] in ids
    stored = client.get(f"/api/v1/steering/experiments/{pushed['experiment_id']}").json()["data"]
    assert stored["prompt"] == PROMPT and stored["seed"] == 11 and stored["model_name"]
    assert stored["request"]["interventions"][0]["strength"] == 400.0
    assert stored["result"]["steered"]["text"] == pushed["steered"]["text"]
    assert stored["result"]["metrics"]["kl_mean"] == pushed["metrics"]["kl_mean"]
    assert client.delete(f"/api/v1/steering/experiments/{still['experiment_id']}").status_code == 200
    assert client.get(f"/api/v1/steering/experiments/{still['experiment_id']}").status_code == 404


def _refused(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if status == 422:
        return ",".join(problem["field"] for problem in error["details"])
    return error["details"]["field"]


def test_bad_input_is_refused_naming_the_field(studio: dict[str, Any]) -> None:
    client = studio["client"]
    post = lambda body: client.post("/api/v1/steering/compare", json=body)  # noqa: E731
    beyond = _feature(studio, 4.0, feature=128)
    assert _refused(post(_body(studio, beyond)), 400) == "interventions[0].feature"
    foreign = _feature(studio, 4.0, sae_id=studio["foreign"]["id"])
    assert _refused(post(_body(studio, foreign)), 400) == "interventions[0].sae_id"
    infinite = client.post("/api/v1/steering/compare", headers={"content-type": "application/json"},
                           content=f'{{"model_id": "{studio["model_id"]}", "prompt": "hi", "interventions": '
                                   f'[{{"sae_id": "{studio["sae"]["id"]}", "feature": 1, "strength": Infinity}}]}}')
    assert _refused(infinite, 400) == "interventions[0].strength"
    assert _refused(post(_body(studio, _feature(studio, 1.0), prompt="   ")), 400) == "prompt"
    assert "prompt" in _refused(post(_body(studio, _feature(studio, 1.0), prompt="")), 422)
    # the tiny llama has 256 positions: the model host refuses, naming the field
    assert _refused(post(_body(studio, _feature(studio, 1.0), max_new_tokens=1000)), 400) == "max_new_tokens"
    assert _refused(post(_body(studio)), 400) == "interventions"
    no_feature = {"sae_id": studio["sae"]["id"], "strength": 1.0}
    assert _refused(post(_body(studio, no_feature)), 400) == "interventions[0].feature"
    before = client.get("/api/v1/steering/experiments").json()["pagination"]["total"]
    assert before == len(client.get("/api/v1/steering/experiments").json()["data"])  # nothing refused was kept
    assert all(item["prompt"] != "   " for item in client.get("/api/v1/steering/experiments").json()["data"])


def test_a_direction_from_pairs_round_trips_through_a_control_vector(studio: dict[str, Any],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    client, root = studio["client"], studio["root"]
    _refuse_model_loads(monkeypatch)
    pairs = {"positive": ["the king is happy", "a glad queen"], "negative": ["the king is sad", "a sad queen"]}
    body = {"model_id": studio["model_id"], "name": "happy", "hook_point": HOOK, **pairs}
    uneven = client.post("/api/v1/steering/directions", json={**body, "negative": ["only one"]})
    assert _refused(uneven, 400) == "negative"
    beyond = client.post("/api/v1/steering/directions", json={**body, "hook_point": "blocks.5.resid_post"})
    assert _refused(beyond, 400) == "hook_point"
    created = client.post("/api/v1/steering/directions", json=body)
    assert created.status_code == 201, created.text
    direction = created.json()["data"]
    assert direction["d_model"] == 64 and direction["pairs"] == 2 and direction["norm"] > 0
    assert direction["id"] in [d["id"] for d in client.get("/api/v1/steering/directions").json()["data"]]

    exported = client.get(f"/api/v1/steering/directions/{direction['id']}/control-vector")
    assert exported.status_code == 200, exported.text
    assert exported.content[:4] == b"GGUF"
    (root / "happy.gguf").write_bytes(exported.content)
    imported = client.post("/api/v1/steering/directions/import",
                           json={"path": str(root / "happy.gguf"), "model_id": studio["model_id"]})
    assert imported.status_code == 201, imported.text
    [back] = imported.json()["data"]
    assert back["hook_point"] == HOOK and back["origin"] == "control_vector" and back["d_model"] == 64
    home = root / "home" / "steering" / "directions"
    original = load_direction(home / f"{direction['id']}.safetensors").vector
    assert torch.equal(load_direction(home / f"{back['id']}.safetensors").vector, original)
    assert not list((root / "home" / "steering" / "scratch").iterdir())  # the export and import left nothing

    with client.websocket_connect("/api/v1/ws") as socket:
        steered, _ = _compare(client, socket, _body(studio, {"direction_id": back["id"], "strength": 60.0}))
    assert steered["steered"]["text"] != steered["baseline"]["text"]
    clamp = _body(studio, {"direction_id": back["id"], "strength": 1.0, "mode": "clamp"})
    assert _refused(client.post("/api/v1/steering/compare", json=clamp), 400) == "interventions[0].mode"

    assert client.delete(f"/api/v1/steering/directions/{back['id']}").json()["data"]["bytes_freed"] > 0
    assert not (home / f"{back['id']}.safetensors").exists()
    assert client.get(f"/api/v1/steering/directions/{back['id']}").status_code == 404


def test_a_sweep_runs_the_grid_and_its_random_control(studio: dict[str, Any]) -> None:
    client = studio["client"]
    response = client.post("/api/v1/steering/sweep", json={
        "model_id": studio["model_id"], "prompt": PROMPT, "max_new_tokens": 8, "temperature": 0, "seed": 2,
        "intervention": _feature(studio, 1.0), "strengths": [0, 400]})
    assert response.status_code == 200, response.text
    sweep = response.json()["data"]
    points = {(p["kind"], p["strength"]): p for p in sweep["points"]}
    assert set(points) == {("intervention", 0), ("intervention", 400), ("random", 0), ("random", 400)}
    assert points[("intervention", 0)]["run"]["text"] == sweep["baseline"]["text"]
    assert points[("intervention", 0)]["metrics"]["kl_mean"] == pytest.approx(0.0, abs=1e-6)
    assert points[("intervention", 400)]["metrics"]["kl_mean"] > 0.01
    assert sweep["random_direction"].startswith("add random direction")
    stored = client.get(f"/api/v1/steering/experiments/{sweep['experiment_id']}").json()["data"]
    assert stored["kind"] == "sweep" and len(stored["result"]["points"]) == 4
    bad = client.post("/api/v1/steering/sweep", json={
        "model_id": studio["model_id"], "prompt": PROMPT, "intervention": _feature(studio, 1.0, feature=500),
        "strengths": [1]})
    assert _refused(bad, 400) == "intervention.feature"
    unknown = client.post("/api/v1/steering/sweep", json={
        "model_id": studio["model_id"], "prompt": PROMPT, "intervention": _feature(studio, 1.0, sae_id="nosuch"),
        "strengths": [1]})
    assert unknown.status_code == 404


def test_presets_are_saved_used_and_deleted(studio: dict[str, Any]) -> None:
    client = studio["client"]
    preset = {"name": "push feature 3", "interventions": [_feature(studio, 400.0)]}
    created = client.post("/api/v1/steering/presets", json=preset)
    assert created.status_code == 201, created.text
    preset_id = created.json()["data"]["id"]
    assert _refused(client.post("/api/v1/steering/presets", json=preset), 409) == "name"
    beyond = {"name": "beyond", "interventions": [_feature(studio, 1.0), _feature(studio, 1.0, feature=128)]}
    assert _refused(client.post("/api/v1/steering/presets", json=beyond), 400) == "interventions[1].feature"
    assert "beyond" not in [p["name"] for p in client.get("/api/v1/steering/presets").json()["data"]]
    assert preset_id in [p["id"] for p in client.get("/api/v1/steering/presets").json()["data"]]
    with client.websocket_connect("/api/v1/ws") as socket:
        used, _ = _compare(client, socket, _body(studio, preset_id=preset_id))
    assert used["interventions"] == [f"add feature 3 × 400 at {HOOK} (all)"]
    assert used["steered"]["text"] != used["baseline"]["text"]
    assert client.delete(f"/api/v1/steering/presets/{preset_id}").status_code == 200
    assert client.get(f"/api/v1/steering/presets/{preset_id}").status_code == 404


def test_a_running_comparison_stops_when_asked_and_keeps_what_it_made(studio: dict[str, Any]) -> None:
    client = studio["client"]
    request_id = uuid.uuid4().hex
    answers: list[Any] = []
    with client.websocket_connect("/api/v1/ws") as socket:
        socket.send_json({"type": "subscribe", "channels": [f"steering/{request_id}"]})
        assert socket.receive_json()["event"] == "subscribed"
        body = _body(studio, _feature(studio, 2.0), max_new_tokens=220, request_id=request_id)
        worker = threading.Thread(target=lambda: answers.append(client.post("/api/v1/steering/compare", json=body)))
        worker.start()
        first = socket.receive_json()
        assert first["event"] == "token", first
        stop = client.delete(f"/api/v1/steering/requests/{request_id}").json()["data"]
        worker.join(120)
    assert stop == {"request_id": request_id, "stopping": True}
    assert answers and answers[0].status_code == 200, answers
    out = answers[0].json()["data"]
    assert out["steered"]["finish_reason"] == "stopped" and out["steered"]["tokens"] < 220
    assert client.get(f"/api/v1/steering/experiments/{out['experiment_id']}").status_code == 200
    assert client.delete(f"/api/v1/steering/requests/{request_id}").json()["data"]["stopping"] is False


def test_clamp_and_ablate_go_through_the_sae(studio: dict[str, Any]) -> None:
    client = studio["client"]
    with client.websocket_connect("/api/v1/ws") as socket:
        clamped, _ = _compare(client, socket, _body(studio, _feature(studio, 400.0, mode="clamp")))
        ablated, _ = _compare(client, socket, _body(studio, _feature(studio, 5.0, mode="ablate", positions="prompt")))
    assert clamped["interventions"] == [f"clamp feature 3 to 400 at {HOOK} (all)"]
    assert clamped["steered"]["text"] != clamped["baseline"]["text"]
    activation = clamped["metrics"]["feature_activations"][0]
    assert activation["steered_mean"] > activation["baseline_mean"] + 10
    assert ablated["interventions"] == [f"ablate feature 3 to 0 at {HOOK} (prompt)"]  # its strength is ignored
