"""The models API end to end: real fake-hub downloads, real jobs in child processes, real SQLite."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from safetensors import safe_open

from mistudio.config import Settings
from tests.models.conftest import download
from tests.support.api_fixtures import wait_for_job
from tests.support.hub_fixtures import HfEnv, TinyModels
from tests.support.studio import wait_until

BYTES_PER_PARAM = {"fp32": 4, "fp16": 2, "bf16": 2, "q8": 1, "q4": 0.5, "q2": 0.25}


def stored_parameter_count(folder: Path) -> int:
    """Parameters as stored in the safetensors files (tied embeddings are stored once)."""
    total = 0
    for path in folder.glob("*.safetensors"):
        with safe_open(path, "pt") as handle:
            total += sum(math.prod(handle.get_slice(name).get_shape()) for name in handle.keys())
    return total


def test_preview_reports_family_parameters_files_and_memory_per_format(
        client: TestClient, hf_env: HfEnv, tiny_models: TinyModels) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "llama", "preview/llama")
    response = client.post("/api/v1/models/preview", json={"repo_id": repo_id})
    assert response.status_code == 200, response.text
    preview = response.json()["data"]
    params = stored_parameter_count(tiny_models("llama"))
    assert preview["parameter_count"] == params
    assert preview["family"] == "llama" and preview["compatible"] is True
    assert preview["license"] == "apache-2.0" and preview["gated"] is False
    paths = {f["path"] for f in preview["files"]}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= paths and "README.md" not in paths
    assert preview["download_bytes"] == sum(f["size"] for f in preview["files"])
    formats = {f["format"]: f for f in preview["formats"]}
    assert set(formats) == set(BYTES_PER_PARAM)
    for name, estimate in formats.items():
        assert estimate["spec_bytes"] == pytest.approx(params * BYTES_PER_PARAM[name] * 1.2, abs=1)
        assert estimate["fit"] == "green"  # a tiny model fits any budget


def test_malformed_repo_id_is_a_400_naming_the_rule(client: TestClient) -> None:
    response = client.post("/api/v1/models/download", json={"repo_id": "../etc/passwd"})
    assert response.status_code == 400
    assert "A-Za-z0-9" in response.json()["error"]["message"]


def test_unknown_repo_is_a_404(client: TestClient, hf_env: HfEnv) -> None:
    response = client.post("/api/v1/models/preview", json={"repo_id": "nobody/nothing"})
    assert response.status_code == 404
    assert "nobody/nothing" in response.json()["error"]["message"]


def test_gated_repo_needs_a_token_which_is_never_stored(
        client: TestClient, hf_env: HfEnv, tiny_models: TinyModels, models_settings: Settings) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "gpt2", "gated/gpt2", gated=True)
    denied = client.post("/api/v1/models/download", json={"repo_id": repo_id})
    assert denied.status_code == 403
    assert "licence" in denied.json()["error"]["message"] and "token" in denied.json()["error"]["message"]

    model = download(client, repo_id, token=hf_env.token)
    assert model["ready"] and model["gated"] is True
    job = client.get(f"/api/v1/jobs/{model['job_id']}").json()["data"]
    assert hf_env.token not in json.dumps(job)
    for path in models_settings.home.glob("mistudio.db*"):  # the database and its WAL
        assert hf_env.token.encode() not in path.read_bytes(), path


def test_download_streams_progress_and_ends_ready_with_its_architecture(
        client: TestClient, hf_env: HfEnv, tiny_models: TinyModels, models_settings: Settings) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "llama", "progress/llama")
    hf_env.hub.throttle(300_000, "*.safetensors")
    with client.websocket_connect("/api/v1/ws") as socket:
        response = client.post("/api/v1/models/download", json={"repo_id": repo_id})
        assert response.status_code == 202
        accepted = response.json()["data"]
        assert accepted["status"] == "queued" and accepted["active"] and accepted["job_id"]
        socket.send_json({"type": "subscribe", "channels": [f"models/{accepted['id']}/progress"]})
        assert socket.receive_json()["event"] == "subscribed"
        event = socket.receive_json()
    assert event["channel"] == f"models/{accepted['id']}/progress" and event["event"] == "progress"
    assert {"bytes_done", "bytes_total", "bytes_per_second", "eta_seconds"} <= set(event["data"])
    assert wait_for_job(client, accepted["job_id"])["status"] == "completed"

    model = client.get(f"/api/v1/models/{accepted['id']}").json()["data"]
    assert model["status"] == "completed" and model["ready"] and model["family"] == "llama" and model["num_layers"] == 2
    raw = models_settings.home / "models" / "raw" / model["id"]
    assert model["size_bytes"] == sum(p.stat().st_size for p in raw.rglob("*") if p.is_file())
    arch = client.get(f"/api/v1/models/{model['id']}/architecture").json()["data"]
    assert arch["num_layers"] == 2 and len(arch["layers"]) == 2
    assert "blocks.1.resid_post" in arch["hook_points"] and arch["parameters"]["total"] == model["parameter_count"]


def test_cancelled_download_leaves_no_partial_files(
        client: TestClient, hf_env: HfEnv, tiny_models: TinyModels, models_settings: Settings) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "mistral", "cancel/mistral")
    hf_env.hub.throttle(20_000, "*.safetensors")
    accepted = client.post("/api/v1/models/download", json={"repo_id": repo_id}).json()["data"]
    wait_until(lambda: client.get(f"/api/v1/models/{accepted['id']}").json()["data"]["status"] == "running",
               timeout=60, what="the download to start")
    response = client.delete(f"/api/v1/models/{accepted['id']}/download")
    assert response.status_code == 200
    assert wait_for_job(client, accepted["job_id"], timeout=30)["status"] == "cancelled"
    model = client.get(f"/api/v1/models/{accepted['id']}").json()["data"]
    assert model["status"] == "cancelled" and model["retryable"] and not model["active"]
    assert not (models_settings.home / "models" / "raw" / accepted["id"]).exists()


def test_bert_is_stored_as_incompatible_with_the_reason(
        client: TestClient, hf_env: HfEnv, tiny_models: TinyModels) -> None:
    model = download(client, tiny_models.publish(hf_env.hub, "bert", "incompatible/bert"))
    # The download completed; what it brought cannot be loaded, and the model says why.
    assert model["status"] == "completed" and not model["ready"] and not model["retryable"]
    assert "causal" in model["incompatible_reason"].lower()
    assert client.get(f"/api/v1/models/{model['id']}/architecture").status_code == 409


def test_import_copies_or_links_a_folder_and_refuses_what_is_not_a_model(
        client: TestClient, tiny_models: TinyModels, tmp_path: Path, models_settings: Settings) -> None:
    folder = tiny_models("qwen2")
    for mode in ("copy", "link"):
        accepted = client.post("/api/v1/models/import", json={"path": str(folder), "mode": mode}).json()["data"]
        assert wait_for_job(client, accepted["job_id"])["status"] == "completed"
        model = client.get(f"/api/v1/models/{accepted['id']}").json()["data"]
        assert model["ready"] and model["family"] == "qwen2" and model["storage_mode"] == mode
        stored = models_settings.home / "models" / "raw" / model["id"] / "model.safetensors"
        assert stored.is_symlink() is (mode == "link")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    for bad in (str(tmp_path / "notes"), str(tmp_path / "notes" / "a.txt"), str(tmp_path / "missing"), "relative"):
        response = client.post("/api/v1/models/import", json={"path": bad})
        assert response.status_code == 400, bad
    assert client.get("/api/v1/models").json()["pagination"]["total"] == 2


def test_quantize_adds_a_measured_variant_and_refuses_a_duplicate(
        client: TestClient, hf_env: HfEnv, tiny_models: TinyModels) -> None:
    model = download(client, tiny_models.publish(hf_env.hub, "llama", "variants/llama"), format="fp16")
    variant_job = wait_until(lambda: (m := client.get(f"/api/v1/models/{model['id']}").json()["data"])["variants"]
                             and m["variants"][0]["job_id"], timeout=30, what="the variant job")
    assert wait_for_job(client, variant_job)["status"] == "completed"
    accepted = client.post(f"/api/v1/models/{model['id']}/variants", json={"format": "q8"})
    assert accepted.status_code == 202, accepted.text
    assert wait_for_job(client, accepted.json()["data"]["job_id"])["status"] == "completed"
    variants = {v["format"]: v for v in client.get(f"/api/v1/models/{model['id']}").json()["data"]["variants"]}
    assert set(variants) == {"fp16", "q8"}
    for variant in variants.values():
        assert variant["status"] == "completed" and variant["ready"] and variant["sample_output"]
        assert abs(variant["footprint_bytes"] - variant["estimate_bytes"]) <= 0.1 * variant["footprint_bytes"]
    # On a tiny model the embeddings dominate and bnb keeps them in fp32 on CPU, so q8 only has to beat fp32.
    assert variants["q8"]["footprint_bytes"] < 4 * model["parameter_count"]
    duplicate = client.post(f"/api/v1/models/{model['id']}/variants", json={"format": "q8"})
    assert duplicate.status_code == 409
    assert client.get("/api/v1/models", params={"format": "q8"}).json()["pagination"]["total"] == 1


def test_compare_shows_differing_config_fields(client: TestClient, tiny_models: TinyModels) -> None:
    ids = []
    for family in ("llama", "gpt2"):
        accepted = client.post("/api/v1/models/import", json={"path": str(tiny_models(family))}).json()["data"]
        assert wait_for_job(client, accepted["job_id"])["status"] == "completed"
        ids.append(accepted["id"])
    result = client.get("/api/v1/models/compare", params={"a": ids[0], "b": ids[1]}).json()["data"]
    assert {"a", "b", "config_differences", "hook_points"} <= set(result)
    assert any(diff["key"] == "model_type" for diff in result["config_differences"])
    assert result["hook_points"]["common"] == 8  # 2 layers × 4 hook types in both


def test_delete_frees_the_reported_bytes_and_is_refused_while_a_job_uses_the_model(
        client: TestClient, hf_env: HfEnv, tiny_models: TinyModels, models_settings: Settings) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "phi3", "delete/phi3")
    hf_env.hub.throttle(20_000, "*.safetensors")
    accepted = client.post("/api/v1/models/download", json={"repo_id": repo_id}).json()["data"]
    busy = client.delete(f"/api/v1/models/{accepted['id']}")
    assert busy.status_code == 409 and accepted["job_id"] in busy.json()["error"]["message"]
    hf_env.hub.throttle(None)
    client.delete(f"/api/v1/models/{accepted['id']}/download")
    wait_for_job(client, accepted["job_id"])

    model = download(client, repo_id)
    raw = models_settings.home / "models" / "raw" / model["id"]
    on_disk = sum(p.stat().st_size for p in raw.rglob("*") if p.is_file())
    deleted = client.delete(f"/api/v1/models/{model['id']}").json()["data"]
    assert deleted["bytes_freed"] == on_disk > 0
    assert not raw.exists()
    assert client.get(f"/api/v1/models/{model['id']}").status_code == 404


def test_downloads_over_the_hourly_limit_get_429_with_retry_after(
        hf_env: HfEnv, tiny_models: TinyModels, models_settings: Settings) -> None:
    from mistudio.api import create_app

    repo_id = tiny_models.publish(hf_env.hub, "gpt2", "limited/gpt2")
    with TestClient(create_app(models_settings.model_copy(update={"downloads_per_hour": 1}))) as client:
        assert client.post("/api/v1/models/download", json={"repo_id": repo_id}).status_code == 202
        limited = client.post("/api/v1/models/download", json={"repo_id": repo_id})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        assert "MISTUDIO_DOWNLOADS_PER_HOUR" in limited.json()["error"]["message"]


def test_list_filters_by_status_family_and_search(client: TestClient, tiny_models: TinyModels) -> None:
    for family in ("llama", "falcon"):
        accepted = client.post("/api/v1/models/import", json={"path": str(tiny_models(family)),
                                                              "name": f"my {family}"}).json()["data"]
        wait_for_job(client, accepted["job_id"])
    listed = client.get("/api/v1/models", params={"family": "falcon"}).json()
    assert [m["name"] for m in listed["data"]] == ["my falcon"]
    assert client.get("/api/v1/models", params={"search": "LLAMA"}).json()["pagination"]["total"] == 1
    assert client.get("/api/v1/models", params={"status": "failed"}).json()["data"] == []
    assert client.get("/api/v1/models", params={"ready": True}).json()["pagination"]["total"] == 2
    assert client.get("/api/v1/models", params={"ready": False}).json()["data"] == []
    renamed = client.patch(f"/api/v1/models/{listed['data'][0]['id']}", json={"notes": "parallel attention"})
    assert renamed.json()["data"]["notes"] == "parallel attention"


@pytest.mark.slow
def test_smollm2_gguf_imports_once_as_safetensors_with_30_layers(
        client: TestClient, smollm2_gguf_path: Path, models_settings: Settings) -> None:
    accepted = client.post("/api/v1/models/import", json={"path": str(smollm2_gguf_path)})
    assert accepted.status_code == 202, accepted.text
    assert wait_for_job(client, accepted.json()["data"]["job_id"], timeout=300)["status"] == "completed"
    model = client.get(f"/api/v1/models/{accepted.json()['data']['id']}").json()["data"]
    assert model["source"] == "gguf" and model["ready"] and model["num_layers"] == 30
    assert 130e6 < model["parameter_count"] < 140e6
    raw = models_settings.home / "models" / "raw" / model["id"]
    assert (raw / "model.safetensors").is_file() and not list(raw.glob("*.gguf"))


def test_a_corrupted_file_fails_the_model_and_a_retry_fetches_only_that_file(
        client: TestClient, hf_env: HfEnv, tiny_models: TinyModels, tmp_path: Path) -> None:
    import shutil

    from tests.support.tiny_models import publish_tiny_model

    served = tmp_path / "served"
    shutil.copytree(tiny_models("llama"), served)
    repo_id = publish_tiny_model(hf_env.hub, "llama", served, "corrupt/llama")  # files are read when served
    weights = served / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))  # same size: only the hash can tell

    accepted = client.post("/api/v1/models/download", json={"repo_id": repo_id}).json()["data"]
    assert wait_for_job(client, accepted["job_id"])["status"] == "failed"
    failed = client.get(f"/api/v1/models/{accepted['id']}").json()["data"]
    assert failed["status"] == "failed" and failed["retryable"] and "model.safetensors" in failed["message"]

    weights.write_bytes(good)
    hf_env.hub.clear_requests()
    retried = client.post(f"/api/v1/models/{accepted['id']}/retry")
    assert retried.status_code == 202, retried.text
    assert wait_for_job(client, retried.json()["data"]["job_id"])["status"] == "completed"
    assert client.get(f"/api/v1/models/{accepted['id']}").json()["data"]["ready"]
    fetched = {r.path.rsplit("/", 1)[-1] for r in hf_env.hub.requests_for("/resolve/", method="GET")}
    assert fetched == {"model.safetensors"}
