"""The extraction API end to end: a real tiny model and tokenized dataset, real jobs in child processes, SQLite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from transformers import AutoModelForCausalLM

from mistudio.config import Settings
from mistudio.lens import data, open_activations
from mistudio.lens.hooks import capture_activations
from mistudio.platform.db import session_scope
from mistudio.platform.jobs import repository
from tests.support.api_fixtures import wait_for_job
from tests.support.hub_fixtures import TinyModels
from tests.support.studio import wait_until

DOCS = [f"Line {i}: the king and the queen walk by the river at night, {'singing' if i % 2 else 'reading'}."
        for i in range(60)]


def _accepted(response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    return response.json()["data"]


def _import_model(client: TestClient, path: Path) -> str:
    body = _accepted(client.post("/api/v1/models/import", json={"path": str(path), "mode": "link"}))
    assert wait_for_job(client, body["job_id"])["status"] == "completed"
    return body["id"]


@pytest.fixture
def setup(client: TestClient, tmp_path: Path, tiny_models: TinyModels) -> dict[str, Any]:
    """A tiny llama, a 60-line dataset and its tokenization (at most 24 tokens per line) made with that model."""
    (tmp_path / "docs.txt").write_text("\n".join(DOCS))
    model_id = _import_model(client, tiny_models("llama"))
    dataset = _accepted(client.post("/api/v1/datasets/import", json={"path": str(tmp_path / "docs.txt")}))
    assert wait_for_job(client, dataset["job_id"])["status"] == "completed"
    tokenization = _accepted(client.post(f"/api/v1/datasets/{dataset['id']}/tokenize",
                                         json={"model_id": model_id, "max_length": 24}))
    assert wait_for_job(client, tokenization["job_id"])["status"] == "completed"
    return {"model_id": model_id, "dataset_id": dataset["id"], "tokenization_id": tokenization["id"]}


def _body(setup: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"dataset_id": setup["dataset_id"], "tokenization_id": setup["tokenization_id"], "layers": [0, 1],
            "hook_points": ["resid_post", "mlp_out"], "batch_size": 8, **overrides}


def _sequences(settings: Settings, setup: dict[str, Any]) -> data.TokenizedSequences:
    return data.TokenizedSequences.open(settings.home / "datasets" / setup["dataset_id"] / "tokenizations"
                                        / setup["tokenization_id"])


def _run(client: TestClient, setup: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    started = _accepted(client.post(f"/api/v1/models/{setup['model_id']}/extract", json=_body(setup, **overrides)))
    assert wait_for_job(client, started["job_id"])["status"] == "completed"
    return client.get(f"/api/v1/extractions/{started['id']}").json()["data"]


def test_estimate_run_statistics_history_and_delete(client: TestClient, setup: dict[str, Any],
                                                     models_settings: Settings, tiny_models: TinyModels) -> None:
    sequences = _sequences(models_settings, setup)
    n, seq_len = len(sequences), int(sequences.lengths().max())
    estimate = client.post(f"/api/v1/models/{setup['model_id']}/extract/estimate", json=_body(setup))
    assert estimate.status_code == 200, estimate.text
    estimate = estimate.json()["data"]
    assert estimate["samples"] == n and estimate["seq_len"] == seq_len and estimate["d_model"] == 64
    assert estimate["storage_bytes"] == n * seq_len * (64 * 4 * 4 + 1)  # 4 hook points of fp32, and the mask
    assert estimate["layers_run"] == 2 and estimate["can_start"] and estimate["warnings"] == []
    assert estimate["calibration"]["tokens"] > 0 and estimate["seconds"] > 0
    again = client.post(f"/api/v1/models/{setup['model_id']}/extract/estimate", json=_body(setup)).json()["data"]
    assert again["calibration"]["reused"] is True

    extraction = _run(client, setup)
    assert extraction["status"] == "completed" and extraction["samples_done"] == n == extraction["num_samples"]
    assert extraction["hook_points"] == ["blocks.0.resid_post", "blocks.0.mlp_out", "blocks.1.resid_post",
                                         "blocks.1.mlp_out"]
    assert extraction["name"].startswith("resid_post+mlp_out_layers0-1_") and extraction["resumable"] is False
    assert extraction["size_bytes"] >= estimate["storage_bytes"] and extraction["seconds"] > 0

    # The stored values are what a plain forward hook sees on the same HF model (right-padded, masked).
    stored = open_activations(Path(extraction["path"]))
    model = AutoModelForCausalLM.from_pretrained(tiny_models("llama")).eval()
    for i in (0, n - 1):
        ids = torch.tensor(np.asarray(sequences[i], dtype=np.int64))[None]
        with capture_activations(model, extraction["hook_points"]) as captured, torch.inference_mode():
            model(input_ids=ids)
        for point in extraction["hook_points"]:
            length = ids.shape[1]
            np.testing.assert_allclose(stored[point][i, :length], captured[point][0].numpy(), atol=2e-5, rtol=1e-4)
    metadata = json.loads((Path(extraction["path"]) / "metadata.json").read_text())
    assert metadata["model_id"] == setup["model_id"] and metadata["tokenization_id"] == setup["tokenization_id"]
    assert metadata["versions"]["transformers"] and metadata["shape"] == [n, seq_len, 64]

    statistics = client.get(f"/api/v1/extractions/{extraction['id']}/statistics").json()["data"]
    values = np.asarray(stored["blocks.1.resid_post"])[stored.attention_mask.astype(bool)]
    summary = statistics["blocks.1.resid_post"]
    assert summary["tokens"] == values.shape[0] == extraction["statistics"]["blocks.1.resid_post"]["tokens"]
    assert summary["max_abs"] == pytest.approx(float(np.abs(values).max()), rel=1e-6)
    assert summary["mean_norm"] == pytest.approx(float(np.linalg.norm(values, axis=1).mean()), rel=1e-5)
    np.testing.assert_allclose(summary["dim_var"], values.astype(np.float64).var(axis=0), rtol=1e-4, atol=1e-9)

    history = client.get(f"/api/v1/models/{setup['model_id']}/extractions").json()
    assert [e["id"] for e in history["data"]] == [extraction["id"]] and history["pagination"]["total"] == 1
    assert client.get("/api/v1/models/nope/extractions").status_code == 404

    deleted = client.delete(f"/api/v1/extractions/{extraction['id']}")
    assert deleted.status_code == 200 and deleted.json()["data"]["bytes_freed"] == extraction["size_bytes"]
    assert not Path(extraction["path"]).exists()
    assert client.get(f"/api/v1/extractions/{extraction['id']}").status_code == 404


BAD_INPUT = [  # (body overrides, status, field named in details, words in the error)
    ({"layers": [0, 2]}, 400, "layers", "0..1"),
    ({"layers": []}, 400, "layers", "at least one"),
    ({"batch_size": 0}, 400, "batch_size", "power of 2"),
    ({"batch_size": 12}, 400, "batch_size", "power of 2"),
    ({"max_samples": 10_000}, 400, "max_samples", "between 1 and"),
    ({"hook_points": ["resid_mid"]}, 422, None, "resid_post"),
    ({"dtype": "int4"}, 422, None, "fp16"),
]


def test_bad_input_names_the_field_and_range(client: TestClient, setup: dict[str, Any]) -> None:
    for overrides, status, field, words in BAD_INPUT:
        for path in ("extract", "extract/estimate?calibrate=false"):
            response = client.post(f"/api/v1/models/{setup['model_id']}/{path}", json=_body(setup, **overrides))
            assert response.status_code == status, (overrides, response.text)
            error = response.json()["error"]
            assert words in json.dumps(error), (overrides, error)
            if field:
                assert error["details"]["field"] == field, (overrides, error)
    assert client.get("/api/v1/extractions").json()["pagination"]["total"] == 0


def test_a_tokenization_made_with_another_tokenizer_is_refused(
        client: TestClient, setup: dict[str, Any], tiny_models: TinyModels, tmp_path: Path) -> None:
    # Same architecture, different vocabulary: the ids of the tokenization would mean other words.
    other = tmp_path / "other-llama"
    shutil.copytree(tiny_models("llama"), other)
    tokenizer = json.loads((other / "tokenizer.json").read_text())
    vocab = tokenizer["model"]["vocab"]
    first, second = sorted(vocab, key=vocab.get)[10:12]
    vocab[first], vocab[second] = vocab[second], vocab[first]
    (other / "tokenizer.json").write_text(json.dumps(tokenizer))
    other_id = _import_model(client, other)
    response = client.post(f"/api/v1/models/{other_id}/extract", json=_body(setup))
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "tokenization_id"
    assert "tokenize the dataset with" in response.json()["error"]["message"]

    # An identical tokenizer (a copy of the same model) is accepted: its ids mean the same words.
    twin = tmp_path / "twin-llama"
    shutil.copytree(tiny_models("llama"), twin)
    twin_id = _import_model(client, twin)
    estimate = client.post(f"/api/v1/models/{twin_id}/extract/estimate?calibrate=false", json=_body(setup))
    assert estimate.status_code == 200, estimate.text


def test_one_extraction_per_model_cancel_resume_and_delete_rules(
        client: TestClient, setup: dict[str, Any], models_settings: Settings) -> None:
    body = _body(setup, batch_size=1, layers=[1], hook_points=["resid_pre", "resid_post", "attn_out"])
    first = _accepted(client.post(f"/api/v1/models/{setup['model_id']}/extract", json=body))
    second = client.post(f"/api/v1/models/{setup['model_id']}/extract", json=body)
    assert second.status_code == 409 and first["id"] in second.json()["error"]["message"]
    assert client.delete(f"/api/v1/extractions/{first['id']}").status_code == 409
    assert client.delete(f"/api/v1/models/{setup['model_id']}").status_code == 409
    assert client.delete(f"/api/v1/datasets/{setup['dataset_id']}").status_code == 409

    def some_batches_done() -> bool:
        return client.get(f"/api/v1/extractions/{first['id']}").json()["data"]["samples_done"] > 0

    for _attempt in range(3):  # 60 one-sample batches take ~4 s: on a loaded machine the cancel can land too late
        wait_until(some_batches_done, timeout=120, interval=0.05, what="the first batches")
        cancelled = client.post(f"/api/v1/extractions/{first['id']}/cancel").json()["data"]
        job = wait_for_job(client, first["job_id"])
        if job["status"] != "completed":
            break
        assert client.delete(f"/api/v1/extractions/{first['id']}").status_code == 200  # it finished first: again
        first = _accepted(client.post(f"/api/v1/models/{setup['model_id']}/extract", json=body))
    row = client.get(f"/api/v1/extractions/{first['id']}").json()["data"]
    assert job["status"] == "cancelled" and row["status"] == "cancelled" and row["resumable"], (cancelled, row)
    assert not row["retryable"] and not row["active"] and "resume it" in row["message"]
    done_before = json.loads((Path(row["path"]) / "progress.json").read_text())["samples_done"]
    assert 0 < done_before < row["num_samples"]

    resumed = _accepted(client.post(f"/api/v1/extractions/{first['id']}/resume"))
    assert wait_for_job(client, resumed["job_id"])["status"] == "completed"
    row = client.get(f"/api/v1/extractions/{first['id']}").json()["data"]
    assert row["status"] == "completed" and row["samples_done"] == row["num_samples"]
    logs = " ".join(entry["text"] for entry in client.get(f"/api/v1/jobs/{resumed['job_id']}").json()["data"]["log"])
    assert "resuming" in logs
    assert client.post(f"/api/v1/extractions/{first['id']}/resume").status_code == 409

    # A training (any job declaring it reads the extraction, whatever its params say) keeps it from being deleted.
    with session_scope(client.app.state.runtime.sessions) as session:
        training = repository.create_job(session, kind="training.train", queue="gpu", params={
            "activations": "any name"}, runner="local", reads=[("extraction", first["id"])])
        training.status = "running"  # as if a worker had it; never dispatched here
        training_id = training.id
    refused = client.delete(f"/api/v1/extractions/{first['id']}")
    assert refused.status_code == 409 and training_id in refused.json()["error"]["message"]
