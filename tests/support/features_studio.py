"""One studio for the features and steering tests: a tiny llama, a tokenized corpus and a small top-k SAE really
trained on it (streamed, with a hold-out), built once per session; the tests analyse it in
child-process jobs on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mistudio.api import create_app
from mistudio.config import Settings
from tests.extraction.test_extraction_api import _accepted, _import_model
from tests.support.api_fixtures import wait_for_job
from tests.support.hub_fixtures import TinyModels

WORDS = ["king", "queen", "river", "night", "castle", "sword", "bread", "winter", "horse", "letter"]
# Varied lines so that latents have something to tell apart; 300 sequences make a pause land mid-run.
DOCS = [f"Line {i}: the {WORDS[i % 10]} and the {WORDS[(i * 3 + 1) % 10]} met by the {WORDS[(i * 7 + 2) % 10]} "
        f"at {'dawn' if i % 3 else 'dusk'}, {'singing' if i % 2 else 'reading'} {i * 13 % 97}." for i in range(300)]


@pytest.fixture(scope="session")
def features_studio(tmp_path_factory: pytest.TempPathFactory, tiny_models: TinyModels) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("features")
    (root / "home").mkdir()
    settings = Settings(home=root / "home", job_modules=[], cancel_grace_seconds=5, log_format="text",
                        database_url=None, redis_url=None)
    with TestClient(create_app(settings)) as client:
        (root / "docs.txt").write_text("\n".join(DOCS))
        model_id = _import_model(client, tiny_models("llama"))
        dataset = _accepted(client.post("/api/v1/datasets/import", json={"path": str(root / "docs.txt")}))
        assert wait_for_job(client, dataset["job_id"])["status"] == "completed"
        tokenization = _accepted(client.post(f"/api/v1/datasets/{dataset['id']}/tokenize",
                                             json={"model_id": model_id, "max_length": 24}))
        assert wait_for_job(client, tokenization["job_id"])["status"] == "completed"
        training = _accepted(client.post("/api/v1/trainings", json={
            "stream": {"model_id": model_id, "dataset_id": dataset["id"], "tokenization_id": tokenization["id"]},
            "hook_point": "blocks.1.resid_post", "holdout_fraction": 0.1, "steps": 30, "batch_tokens": 128,
            "evaluate_in_model": False,
            "saes": [{"architecture": "topk", "width": 48, "k": 6, "lr": 3e-3}]}))
        assert wait_for_job(client, training["job_id"], timeout=300)["status"] == "completed"
        sae_id = client.get(f"/api/v1/trainings/{training['id']}").json()["data"]["sae_ids"][0]
        yield {"client": client, "model_id": model_id, "dataset_id": dataset["id"],
               "tokenization_id": tokenization["id"], "sae_id": sae_id, "root": root,
               "model_path": tiny_models("llama")}
