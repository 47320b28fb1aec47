"""The training API end to end: a real tiny model's extraction, real training jobs in child processes, SQLite."""

from __future__ import annotations

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
from mistudio.lens.sae.formats import load, save_saelens
from tests.extraction.test_extraction_api import DOCS, _accepted, _import_model, _run
from tests.support.api_fixtures import wait_for_job
from tests.support.hub_fixtures import TinyModels
from tests.support.studio import wait_until


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory, tiny_models: TinyModels) -> Iterator[dict[str, Any]]:
    """One studio for the module (its runs are independent rows): a tiny llama, a 60-line dataset tokenized with
    it, and one extraction of layer 1's resid_pre, mlp_out and resid_post — built once, not per test."""
    root = tmp_path_factory.mktemp("training")
    (root / "home").mkdir()
    settings = Settings(home=root / "home", job_modules=[], cancel_grace_seconds=2, log_format="text",
                        database_url=None, redis_url=None)
    with TestClient(create_app(settings)) as client:
        (root / "docs.txt").write_text("\n".join(DOCS))
        model_id = _import_model(client, tiny_models("llama"))
        dataset = _accepted(client.post("/api/v1/datasets/import", json={"path": str(root / "docs.txt")}))
        assert wait_for_job(client, dataset["job_id"])["status"] == "completed"
        tokenization = _accepted(client.post(f"/api/v1/datasets/{dataset['id']}/tokenize",
                                             json={"model_id": model_id, "max_length": 24}))
        assert wait_for_job(client, tokenization["job_id"])["status"] == "completed"
        setup = {"model_id": model_id, "dataset_id": dataset["id"], "tokenization_id": tokenization["id"]}
        extraction = _run(client, setup, layers=[1], hook_points=["resid_post", "mlp_out", "resid_pre"])
        yield {"client": client, "setup": setup, "extraction": extraction, "root": root}


def _train_body(extraction: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"extraction_id": extraction["id"], "hook_point": "blocks.1.resid_post",
            "saes": [{"architecture": "topk", "expansion_factor": 4, "k": 8, "lr": 1e-3}], "steps": 40,
            "batch_tokens": 64, "log_every": 10, "checkpoint_every": 10, "eval_sequences": 3, **overrides}


def test_train_follow_metrics_store_and_delete(studio: dict[str, Any]) -> None:
    client, setup, extraction = studio["client"], studio["setup"], studio["extraction"]
    started = _accepted(client.post("/api/v1/trainings", json=_train_body(
        extraction, saes=[{"architecture": "topk", "expansion_factor": 4, "k": 8, "lr": 1e-3},
                          {"architecture": "standard", "expansion_factor": 4, "sparsity_coefficient": 1.0}])))
    assert started["status"] == "queued" and started["total_steps"] == 40
    assert wait_for_job(client, started["job_id"])["status"] == "completed"
    training = client.get(f"/api/v1/trainings/{started['id']}").json()["data"]
    assert training["ready"] and training["steps_done"] == 40 and len(training["sae_ids"]) == 2
    for final in training["final_metrics"]:
        assert 0 <= final["holdout_fvu"] < 1.0
        assert final["model_ce_clean"] > 0 and final["model_tokens"] > 0
        assert "model_ce_recovered" in final and final["model_kl"] >= 0

    points = client.get(f"/api/v1/trainings/{started['id']}/metrics").json()["data"]
    # one point per SAE and step (no repeated last step); the last carries the hold-out evaluation
    assert sorted((p["member"], p["step"]) for p in points) == [(m, s) for m in (0, 1) for s in (10, 20, 30, 40)]
    assert all("holdout_fvu" in p["values"] for p in points if p["step"] == 40)
    assert {"loss", "mse", "fvu", "l0", "dead_fraction", "dense_fraction", "lr", "tokens_per_second",
            "memory_bytes"} <= set(points[0]["values"])
    checkpoints = client.get(f"/api/v1/trainings/{started['id']}/checkpoints").json()["data"]
    assert checkpoints and checkpoints[-1]["step"] == 40

    saes = client.get("/api/v1/saes", params={"training_id": started["id"]}).json()
    assert saes["pagination"]["total"] == 2
    topk = next(item for item in saes["data"] if item["architecture"] == "topk")
    assert topk["d_in"] == 64 and topk["d_sae"] == 256 and topk["k"] == 8 and topk["model_id"] == setup["model_id"]
    stored = load(topk["path"])
    assert stored.config.hook_point == "blocks.1.resid_post"
    assert Path(topk["path"], "sparsity.safetensors").is_file()
    assert int((stored.encode(torch.randn(5, 64)) > 0).sum(dim=1).max()) <= 8

    resumed = client.post(f"/api/v1/trainings/{started['id']}/resume")
    assert resumed.status_code == 409 and "completed" in resumed.json()["error"]["message"]
    assert client.delete(f"/api/v1/trainings/{started['id']}").status_code == 200
    assert client.get(f"/api/v1/trainings/{started['id']}").status_code == 404
    assert client.get(f"/api/v1/saes/{topk['id']}").status_code == 200  # SAEs outlive their run
    deleted = client.delete(f"/api/v1/saes/{topk['id']}").json()["data"]
    assert deleted["bytes_freed"] > 0 and not Path(topk["path"]).exists()


def test_pause_then_resume_finishes_the_run(studio: dict[str, Any]) -> None:
    client, extraction = studio["client"], studio["extraction"]
    started = _accepted(client.post("/api/v1/trainings", json=_train_body(
        extraction, steps=400, checkpoint_every=5, log_every=5, evaluate_in_model=False)))

    def some_steps() -> bool:
        return client.get(f"/api/v1/trainings/{started['id']}").json()["data"]["steps_done"] >= 10

    wait_until(some_steps, timeout=120)
    paused = client.post(f"/api/v1/trainings/{started['id']}/pause")
    assert paused.status_code == 200
    assert wait_for_job(client, started["job_id"])["status"] == "cancelled"
    row = client.get(f"/api/v1/trainings/{started['id']}").json()["data"]
    assert row["status"] == "cancelled" and row["resumable"] and "paused at step" in row["message"]
    again = _accepted(client.post(f"/api/v1/trainings/{started['id']}/resume"))
    assert wait_for_job(client, again["job_id"], timeout=300)["status"] == "completed"
    assert client.get(f"/api/v1/trainings/{started['id']}").json()["data"]["steps_done"] == 400


def test_bad_input_names_the_field(studio: dict[str, Any]) -> None:
    client, extraction = studio["client"], studio["extraction"]
    before = client.get("/api/v1/trainings").json()["pagination"]["total"]

    def error(**overrides: Any) -> tuple[int, dict[str, Any]]:
        response = client.post("/api/v1/trainings", json=_train_body(extraction, **overrides))
        return response.status_code, response.json()["error"]

    status, body = error(saes=[{"architecture": "topk", "width": 16, "k": 32}])
    assert status == 400 and body["details"]["field"] == "saes[0].k" and "1 to 16" in body["message"]
    status, body = error(hook_point="blocks.0.resid_post")
    assert status == 400 and body["details"]["field"] == "hook_point" and "blocks.1.resid_post" in body["message"]
    status, body = error(batch_tokens=10**6)
    assert status == 400 and body["details"]["field"] == "batch_tokens"
    status, body = error(target_hook_point="blocks.1.mlp_out", hook_point="blocks.1.resid_pre")
    assert status == 400 and body["details"]["field"] == "saes[0].architecture" and "SAELens" in body["message"]
    status, _ = error(saes=[{"architecture": "topk", "lr": 0}])
    assert status == 422
    status, body = error(saes=[{"architecture": "matryoshka", "width": 64, "k": 4,
                                "matryoshka_prefixes": [32, 16, 64]}])
    assert status == 400 and body["details"]["field"] == "matryoshka_prefixes"
    assert client.get("/api/v1/trainings").json()["pagination"]["total"] == before  # nothing was stored


def test_a_transcoder_trains_from_one_hook_point_to_another(studio: dict[str, Any]) -> None:
    client, extraction = studio["client"], studio["extraction"]
    started = _accepted(client.post("/api/v1/trainings", json=_train_body(
        extraction, hook_point="blocks.1.resid_pre", target_hook_point="blocks.1.mlp_out",
        saes=[{"architecture": "standard", "expansion_factor": 2, "sparsity_coefficient": 0.5}])))
    assert wait_for_job(client, started["job_id"])["status"] == "completed"
    sae = client.get("/api/v1/saes", params={"training_id": started["id"]}).json()["data"][0]
    assert sae["hook_point"] == "blocks.1.resid_pre" and sae["target_hook_point"] == "blocks.1.mlp_out"
    assert load(sae["path"]).config.is_transcoder


def test_one_run_trains_saes_on_several_hook_points(studio: dict[str, Any]) -> None:
    """Each SAE of a run may read its own hook point (and a transcoder its own pair): one read of the extraction
    serves them all; each stored SAE says where it reads, and a hook point the extraction lacks names its field."""
    client, extraction = studio["client"], studio["extraction"]
    saes = [{"architecture": "topk", "expansion_factor": 2, "k": 4},
            {"architecture": "topk", "expansion_factor": 2, "k": 4, "hook_point": "blocks.1.resid_pre"},
            {"architecture": "standard", "expansion_factor": 2, "hook_point": "blocks.1.resid_pre",
             "target_hook_point": "blocks.1.mlp_out", "sparsity_coefficient": 0.5, "lr": 1e-3}]
    started = _accepted(client.post("/api/v1/trainings", json=_train_body(extraction, saes=saes, steps=20)))
    assert [member["config"]["hook_point"] for member in started["members"]] == \
        ["blocks.1.resid_post", "blocks.1.resid_pre", "blocks.1.resid_pre"]
    assert wait_for_job(client, started["job_id"])["status"] == "completed"
    stored = client.get("/api/v1/saes", params={"training_id": started["id"]}).json()["data"]
    reads = sorted((sae["hook_point"], sae["target_hook_point"] or "") for sae in stored)
    assert reads == [("blocks.1.resid_post", ""), ("blocks.1.resid_pre", ""),
                     ("blocks.1.resid_pre", "blocks.1.mlp_out")]
    final = client.get(f"/api/v1/trainings/{started['id']}").json()["data"]["final_metrics"]
    assert all(values["holdout_fvu"] < 1.0 and values["model_kl"] >= 0 for values in final)  # each spliced in
    missing = client.post("/api/v1/trainings", json=_train_body(extraction, saes=[
        saes[0], {**saes[1], "hook_point": "blocks.0.attn_out"}]))
    assert missing.status_code == 400
    assert missing.json()["error"]["details"]["field"] == "saes[1].hook_point"
    assert "blocks.1.resid_pre" in missing.json()["error"]["message"]


def test_a_run_streamed_from_the_model_needs_no_extraction(studio: dict[str, Any]) -> None:
    client, setup = studio["client"], studio["setup"]
    stream = {"model_id": setup["model_id"], "dataset_id": setup["dataset_id"],
              "tokenization_id": setup["tokenization_id"], "forward_batch_size": 8}
    body = {"stream": stream, "hook_point": "blocks.0.resid_post", "steps": 20, "batch_tokens": 64, "log_every": 10,
            "eval_sequences": 2, "saes": [{"architecture": "topk", "expansion_factor": 2, "k": 4}]}
    started = _accepted(client.post("/api/v1/trainings", json=body))
    assert started["source"] == "stream" and started["extraction_id"] is None
    assert wait_for_job(client, started["job_id"])["status"] == "completed"
    final = client.get(f"/api/v1/trainings/{started['id']}").json()["data"]["final_metrics"][0]
    assert final["holdout_fvu"] < 1.0 and final["model_tokens"] > 0
    both = client.post("/api/v1/trainings", json={**body, "extraction_id": "abc"})
    assert both.status_code == 400 and both.json()["error"]["details"]["field"] == "extraction_id"
    missing = client.post("/api/v1/trainings", json={**body, "hook_point": "blocks.9.resid_post"})
    assert missing.status_code == 400 and "layer 9 is out of range" in missing.json()["error"]["message"]


def test_import_a_saelens_folder(studio: dict[str, Any], tmp_path: Path) -> None:
    client = studio["client"]
    folder = save_saelens(SparseAutoencoder(SAEConfig("jumprelu", d_in=16, d_sae=32, hook_point="blocks.0.mlp_out")),
                          tmp_path / "theirs")
    imported = client.post("/api/v1/saes/import", json={"path": str(folder), "name": "theirs"})
    assert imported.status_code == 201, imported.text
    sae = imported.json()["data"]
    assert sae["origin"] == "imported" and sae["architecture"] == "jumprelu" and sae["source_path"] == str(folder)
    bad = client.post("/api/v1/saes/import", json={"path": str(tmp_path)})
    assert bad.status_code == 400 and "holds no SAE" in bad.json()["error"]["message"]
    relative = client.post("/api/v1/saes/import", json={"path": "theirs"})
    assert relative.status_code == 400 and "absolute" in relative.json()["error"]["message"]


def test_stop_finishes_early_and_keeps_the_saes(studio: dict[str, Any]) -> None:
    client, extraction = studio["client"], studio["extraction"]
    started = _accepted(client.post("/api/v1/trainings", json=_train_body(
        extraction, steps=5000, log_every=5, evaluate_in_model=False)))

    def some_steps() -> bool:
        return client.get(f"/api/v1/trainings/{started['id']}").json()["data"]["steps_done"] >= 10

    wait_until(some_steps, timeout=120)
    asked = client.post(f"/api/v1/trainings/{started['id']}/stop").json()["data"]
    assert asked["stop_requested"]
    assert wait_for_job(client, started["job_id"])["status"] == "completed"
    row = client.get(f"/api/v1/trainings/{started['id']}").json()["data"]
    assert row["ready"] and "stopped early at step" in row["message"] and 10 <= row["steps_done"] < 5000
    assert len(row["sae_ids"]) == 1 and "holdout_fvu" in row["final_metrics"][0]


def _job_pid(client: TestClient, job_id: str) -> int | None:
    from mistudio.platform.db import session_scope
    from mistudio.platform.jobs import repository

    with session_scope(client.app.state.runtime.sessions) as session:
        return repository.get_job(session, job_id).pid


def test_a_run_killed_with_sigkill_resumes_to_byte_identical_weights(studio: dict[str, Any]) -> None:
    import os
    import signal

    client, extraction = studio["client"], studio["extraction"]
    body = _train_body(extraction, steps=150, checkpoint_every=10, log_every=10, seed=7, evaluate_in_model=False)
    straight = _accepted(client.post("/api/v1/trainings", json=body))
    assert wait_for_job(client, straight["job_id"], timeout=300)["status"] == "completed"

    killed = _accepted(client.post("/api/v1/trainings", json=body))
    wait_until(lambda: client.get(f"/api/v1/trainings/{killed['id']}").json()["data"]["steps_done"] >= 30,
               timeout=120, what="30 steps")
    os.kill(wait_until(lambda: _job_pid(client, killed["job_id"]), what="job pid"), signal.SIGKILL)
    assert wait_for_job(client, killed["job_id"])["status"] == "failed"
    row = wait_until(lambda: (lambda r: r if not r["active"] else None)(
        client.get(f"/api/v1/trainings/{killed['id']}").json()["data"]), what="the row settles")
    assert row["resumable"] and "SIGKILL" in row["message"]
    assert client.get(f"/api/v1/trainings/{killed['id']}/checkpoints").json()["data"][-1]["step"] < 150
    again = _accepted(client.post(f"/api/v1/trainings/{killed['id']}/resume"))
    assert wait_for_job(client, again["job_id"], timeout=300)["status"] == "completed"

    def weights(training_id: str) -> bytes:
        sae_id = client.get(f"/api/v1/trainings/{training_id}").json()["data"]["sae_ids"][0]
        return (Path(client.get(f"/api/v1/saes/{sae_id}").json()["data"]["path"]) / "sae_weights.safetensors"
                ).read_bytes()

    assert weights(killed["id"]) == weights(straight["id"])


def test_the_estimate_counts_memory_and_disk_and_times_real_steps(studio: dict[str, Any]) -> None:
    client, extraction = studio["client"], studio["extraction"]
    before = client.get("/api/v1/trainings").json()["pagination"]["total"]
    body = _train_body(extraction, steps=1000, saes=[{"architecture": "topk", "expansion_factor": 4, "k": 8},
                                                      {"architecture": "standard", "expansion_factor": 8}])
    response = client.post("/api/v1/trainings/estimate", json=body)
    assert response.status_code == 200, response.text
    estimate = response.json()["data"]
    first, second = estimate["saes"]
    assert first["parameters"] == 2 * 64 * 256 + 256 + 64 and second["parameters"] == 2 * 64 * 512 + 512 + 64
    assert second["memory_bytes"] > first["memory_bytes"] > 4 * 4 * first["parameters"]
    assert 0 < first["seconds_per_step"] < 5
    assert estimate["seconds"] == pytest.approx(1000 * (first["seconds_per_step"] + second["seconds_per_step"]))
    assert estimate["tokens"] == 64_000 and estimate["epochs"] > 20
    assert any("overfit" in warning for warning in estimate["warnings"])
    assert client.get("/api/v1/trainings").json()["pagination"]["total"] == before  # an estimate stores nothing
