"""The datasets API end to end: real files, real fake-hub downloads, real jobs in child processes, real SQLite."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from mistudio.config import Settings
from mistudio.datasets.tables import Dataset
from mistudio.lens import data
from mistudio.platform.db import session_scope
from mistudio.platform.jobs import repository
from mistudio.platform.jobs.process import HOST
from mistudio.platform.jobs.recovery import mark_orphans_interrupted
from mistudio.platform.jobs.table import Job
from mistudio.platform.storage import Storage
from tests.support.api_fixtures import wait_for_job
from tests.support.hub_fixtures import HfEnv, TinyModels

API = "/api/v1/datasets"
DOCS = [f"Document number {i} talks about {'cats' if i % 3 else 'dogs'} and the weather." for i in range(40)]


def accepted(response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    return response.json()["data"]


def finished(client: TestClient, body: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    """Wait for the job behind a 202 body; returns the dataset as the API shows it afterwards."""
    job = wait_for_job(client, body["job_id"])
    assert job["status"] == status, job
    return client.get(f"{API}/{body['id']}").json()["data"]


def import_path(client: TestClient, path: Path, **body: Any) -> dict[str, Any]:
    return accepted(client.post(f"{API}/import", json={"path": str(path), **body}))


def upload(client: TestClient, *files: tuple[str, bytes], **form: str) -> Any:
    return client.post(f"{API}/upload", files=[("files", (name, content)) for name, content in files], data=form)


def parquet_bytes(table: dict[str, list[Any]]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(table), buffer)
    return buffer.getvalue()


def tiny_model(client: TestClient, tiny_models: TinyModels) -> str:
    body = client.post("/api/v1/models/import", json={"path": str(tiny_models("llama")), "mode": "link"})
    assert body.status_code == 202, body.text
    assert wait_for_job(client, body.json()["data"]["job_id"])["status"] == "completed"
    return body.json()["data"]["id"]


def text_dir(settings: Settings, dataset_id: str) -> Path:
    return Storage.from_settings(settings).dataset_text_dir(dataset_id)


# --- getting text in ---------------------------------------------------------------------------------------
def test_import_jsonl_then_browse_paginated_and_searched(client: TestClient, tmp_path: Path) -> None:
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps({"id": i, "body": doc}) + "\n" for i, doc in enumerate(DOCS)))
    dataset = finished(client, import_path(client, source, name="docs"))
    assert dataset["status"] == "completed" and dataset["ready"]
    assert dataset["splits"] == {"train": 40} and dataset["num_rows"] == 40
    assert dataset["text_column"] == "body" and dataset["source"] == "import" and dataset["size_bytes"] > 0

    page = client.get(f"{API}/{dataset['id']}/samples", params={"page": 2, "limit": 15}).json()
    assert page["pagination"] == {"page": 2, "limit": 15, "total": 40}
    assert [s["text"] for s in page["data"]] == DOCS[15:30] and page["data"][0]["index"] == 15
    found = client.get(f"{API}/{dataset['id']}/samples", params={"search": "DOGS", "limit": 100}).json()
    assert found["pagination"]["total"] == len([d for d in DOCS if "dogs" in d])
    assert [s["index"] for s in found["data"]] == [i for i, d in enumerate(DOCS) if "dogs" in d]
    listed = client.get(API, params={"search": "doc"}).json()
    assert [d["id"] for d in listed["data"]] == [dataset["id"]]


@pytest.mark.parametrize(("name", "content", "form", "rows"), [
    ("lines.txt", "\n".join(DOCS).encode(), {"txt_mode": "line"}, 40),
    ("whole.txt", "\n".join(DOCS).encode(), {"txt_mode": "document"}, 1),
    ("rows.jsonl", "".join(json.dumps({"text": d}) + "\n" for d in DOCS).encode(), {}, 40),
    ("rows.csv", ("text,label\n" + "".join(f'"{d}",{i % 2}\n' for i, d in enumerate(DOCS))).encode(), {}, 40),
    ("rows.parquet", parquet_bytes({"text": DOCS, "n": list(range(40))}), {}, 40),
])
def test_upload_of_each_file_type(client: TestClient, models_settings: Settings, name: str, content: bytes,
                                  form: dict[str, str], rows: int) -> None:
    dataset = finished(client, accepted(upload(client, (name, content), **form)))
    assert dataset["ready"] and dataset["num_rows"] == rows and dataset["source"] == "upload"
    first = client.get(f"{API}/{dataset['id']}/samples", params={"limit": 1}).json()["data"][0]["text"]
    assert first == (DOCS[0] if rows > 1 else "\n".join(DOCS))
    assert (models_settings.home / "datasets" / dataset["id"] / "source" / name).read_bytes() == content


def test_patch_renames_and_clears_notes_but_a_null_name_is_a_422(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "docs.txt").write_text("\n".join(DOCS))
    dataset = finished(client, import_path(client, tmp_path / "docs.txt", name="weather"))
    renamed = client.patch(f"{API}/{dataset['id']}", json={"name": "weather notes", "notes": "forty lines"})
    assert renamed.status_code == 200 and renamed.json()["data"]["notes"] == "forty lines", renamed.text

    refused = client.patch(f"{API}/{dataset['id']}", json={"name": None})  # was a 500 (NOT NULL constraint)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["field"] == "body.name"
    cleared = client.patch(f"{API}/{dataset['id']}", json={"notes": None})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["data"]["name"], cleared.json()["data"]["notes"]) == ("weather notes", None)


def test_upload_refuses_path_traversal_and_bodies_over_the_limit(
        hf_env: HfEnv, settings: Settings) -> None:
    from mistudio.api import create_app

    small = settings.model_copy(update={"hf_endpoint": hf_env.url, "job_modules": [], "upload_max_bytes": 4096})
    with TestClient(create_app(small)) as client:
        for bad in ("../evil.txt", "a/b.txt", "/etc/passwd", ".hidden"):
            response = upload(client, (bad, b"text"))
            assert response.status_code == 400, (bad, response.text)
            assert "not allowed" in response.json()["error"]["message"]
        twice = upload(client, ("a.txt", b"one"), ("a.txt", b"two"))
        assert twice.status_code == 400 and "same name" in twice.json()["error"]["message"]
        too_big = upload(client, ("big.txt", b"x" * 10_000))
        assert too_big.status_code == 413 and "MISTUDIO_UPLOAD_MAX_BYTES" in too_big.json()["error"]["message"]
        assert client.get(API).json()["pagination"]["total"] == 0
    assert not (settings.home / "datasets").exists() or not any((settings.home / "datasets").iterdir())


@pytest.mark.parametrize(("name", "content", "form", "expected"), [
    ("latin1.txt", "fine line\ncaf\xe9 au lait\n".encode("latin-1"), {}, ["latin1.txt", "line 2", "UTF-8"]),
    ("empty.jsonl", b"", {}, ["empty.jsonl", "empty"]),
    ("nocol.csv", b"title,label\nhello,1\n", {"text_column": "body"}, ["nocol.csv", "body", "title"]),
    ("broken.jsonl", b'{"text": "ok"}\n{"text": "ok too"}\n{"text": \n', {}, ["broken.jsonl", "line 3"]),
])
def test_bad_files_fail_naming_the_file_and_line_and_keep_nothing(
        client: TestClient, models_settings: Settings, name: str, content: bytes, form: dict[str, str],
        expected: list[str]) -> None:
    body = accepted(upload(client, (name, content), **form))
    dataset = finished(client, body, status="failed")
    assert dataset["status"] == "failed" and dataset["retryable"]
    for part in expected:
        assert part in dataset["message"], dataset["message"]
    assert not list(text_dir(models_settings, dataset["id"]).glob("*.arrow"))


def test_import_path_must_exist_and_hold_text_files(client: TestClient, tmp_path: Path) -> None:
    missing = client.post(f"{API}/import", json={"path": str(tmp_path / "nope.jsonl")})
    assert missing.status_code == 400 and "does not exist" in missing.json()["error"]["message"]
    relative = client.post(f"{API}/import", json={"path": "data/x.txt"})
    assert relative.status_code == 400 and "absolute" in relative.json()["error"]["message"]
    (tmp_path / "model.bin").write_bytes(b"\0\1")
    odd = client.post(f"{API}/import", json={"path": str(tmp_path / "model.bin")})
    assert odd.status_code == 400 and "model.bin" in odd.json()["error"]["message"]
    assert client.get(API).json()["pagination"]["total"] == 0


def test_hub_parquet_and_jsonl_datasets_download_with_their_splits(
        client: TestClient, hf_env: HfEnv, models_settings: Settings) -> None:
    hf_env.hub.add_dataset_repo("ds/parquet", {
        "data/train-00000-of-00001.parquet": parquet_bytes({"text": DOCS[:30]}),
        "data/test-00000-of-00001.parquet": parquet_bytes({"text": DOCS[30:]}),
        "README.md": "---\nlicense: mit\n---\n# Docs\n"})
    hf_env.hub.add_dataset_repo("ds/jsonl", {"train.jsonl": "".join(json.dumps({"content": d}) + "\n" for d in DOCS)})

    preview = client.post(f"{API}/preview", json={"repo_id": "ds/parquet"}).json()["data"]
    assert preview["license"] == "mit" and [c["config"] for c in preview["configs"]] == ["default"]
    assert {s["split"]: s["files"] for s in preview["configs"][0]["splits"]} == {"train": 1, "test": 1}

    with client.websocket_connect("/api/v1/ws") as socket:
        body = accepted(client.post(f"{API}/download", json={"repo_id": "ds/parquet"}))
        socket.send_json({"type": "subscribe", "channels": [f"datasets/{body['id']}/progress"]})
        assert socket.receive_json()["event"] == "subscribed"
        events = {socket.receive_json()["event"] for _ in range(2)}
    assert events & {"download", "import", "ready"}
    dataset = finished(client, body)
    assert dataset["splits"] == {"train": 30, "test": 10} and dataset["license"] == "mit"
    test_rows = client.get(f"{API}/{dataset['id']}/samples", params={"split": "test"}).json()["data"]
    assert [r["text"] for r in test_rows] == DOCS[30:]

    jsonl = finished(client, accepted(client.post(f"{API}/download", json={"repo_id": "ds/jsonl", "split": "train"})))
    assert jsonl["splits"] == {"train": 40} and jsonl["text_column"] == "content"


def test_hub_errors_unknown_repo_bad_split_and_gated_token_never_stored(
        client: TestClient, hf_env: HfEnv, models_settings: Settings) -> None:
    unknown = client.post(f"{API}/download", json={"repo_id": "nobody/nothing"})
    assert unknown.status_code == 404 and "nobody/nothing" in unknown.json()["error"]["message"]
    malformed = client.post(f"{API}/download", json={"repo_id": "../etc"})
    assert malformed.status_code == 400

    hf_env.hub.add_dataset_repo("ds/gated", {"train.jsonl": "".join(json.dumps({"text": d}) + "\n" for d in DOCS)},
                                gated=True)
    bad_split = client.post(f"{API}/download", json={"repo_id": "ds/gated", "split": "dev", "token": hf_env.token})
    assert bad_split.status_code == 400 and "train" in bad_split.json()["error"]["message"]
    denied = client.post(f"{API}/download", json={"repo_id": "ds/gated"})
    assert denied.status_code == 403 and "token" in denied.json()["error"]["message"]

    dataset = finished(client, accepted(client.post(f"{API}/download",
                                                    json={"repo_id": "ds/gated", "token": hf_env.token})))
    assert dataset["ready"] and dataset["num_rows"] == 40
    assert hf_env.token not in json.dumps(client.get(f"/api/v1/jobs/{dataset['job_id']}").json())
    for path in models_settings.home.glob("mistudio.db*"):
        assert hf_env.token.encode() not in path.read_bytes(), path


def test_a_dropped_connection_resumes_and_a_cancelled_download_keeps_nothing(
        client: TestClient, hf_env: HfEnv, models_settings: Settings) -> None:
    big = parquet_bytes({"text": [f"{d} {i}" for i in range(300) for d in DOCS]})
    hf_env.hub.add_dataset_repo("ds/flaky", {"data/train.parquet": big})
    hf_env.hub.drop_connection_after("*.parquet", len(big) // 2)
    dataset = finished(client, accepted(client.post(f"{API}/download", json={"repo_id": "ds/flaky"})))
    assert dataset["num_rows"] == 300 * 40
    ranges = [r.range for r in hf_env.hub.requests_for("train.parquet", "GET") if r.range]
    assert ranges, "the second attempt continued with a Range request"

    hf_env.hub.add_dataset_repo("ds/slow", {"data/train.parquet": big})
    hf_env.hub.throttle(20_000, "*.parquet")
    body = accepted(client.post(f"{API}/download", json={"repo_id": "ds/slow"}))
    from tests.support.studio import wait_until

    wait_until(lambda: client.get(f"{API}/{body['id']}").json()["data"]["status"] == "running", timeout=60,
               what="the download to start")
    assert client.post(f"{API}/{body['id']}/cancel").status_code == 200
    assert wait_for_job(client, body["job_id"], timeout=30)["status"] == "cancelled"
    assert client.get(f"{API}/{body['id']}").json()["data"]["status"] == "cancelled"
    folder = models_settings.home / "datasets" / body["id"]
    assert not [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else True


# --- tokenization ------------------------------------------------------------------------------------------
def test_tokenize_preview_job_statistics_and_sample_tokens(
        client: TestClient, tmp_path: Path, tiny_models: TinyModels, models_settings: Settings) -> None:
    (tmp_path / "docs.txt").write_text("\n".join(DOCS))
    dataset = finished(client, import_path(client, tmp_path / "docs.txt"))
    model_id = tiny_model(client, tiny_models)
    tokenizer = data.load_tokenizer(tiny_models("llama"))
    settings = {"model_id": model_id, "max_length": 8, "stride": 2, "min_length": 3}

    preview = client.post(f"{API}/{dataset['id']}/tokenize/preview", json={**settings, "samples": 3}).json()["data"]
    expected = tokenizer(DOCS, truncation=True, max_length=8, stride=2, return_overflowing_tokens=True)["input_ids"]
    expected = [ids for ids in expected if len(ids) >= 3]
    assert preview["exact"] is True and preview["sequences_estimate"] == len(expected)
    assert preview["tokens_estimate"] == sum(map(len, expected))
    assert [[t["id"] for t in s["tokens"]] for s in preview["samples"]] == expected[:3]
    assert preview["samples"][0]["tokens"][1]["token"] == tokenizer.convert_ids_to_tokens(expected[0][1])

    body = client.post(f"{API}/{dataset['id']}/tokenize", json=settings)
    assert body.status_code == 202, body.text
    tokenization = body.json()["data"]
    assert wait_for_job(client, tokenization["job_id"])["status"] == "completed"
    again = client.post(f"{API}/{dataset['id']}/tokenize", json=settings)
    assert again.status_code == 409 and tokenization["id"] in again.json()["error"]["message"]

    ready = client.get(f"{API}/{dataset['id']}/tokenizations/{tokenization['id']}").json()["data"]
    assert ready["status"] == "completed" and ready["ready"] and ready["num_sequences"] == len(expected)
    seqs = data.TokenizedSequences.open(models_settings.home / "datasets" / dataset["id"] / "tokenizations"
                                        / tokenization["id"])
    assert [seqs[i].tolist() for i in range(len(seqs))] == expected
    flat = [t for ids in expected for t in ids]
    stats = ready["statistics"]
    assert stats["total_tokens"] == len(flat) and stats["num_sequences"] == len(expected)
    assert stats["unique_tokens"] == len(set(flat)) and stats["vocab_size"] == len(tokenizer)
    lengths = [len(ids) for ids in expected]
    assert stats["length"]["min"] == min(lengths) and stats["length"]["max"] == max(lengths)
    assert stats["length"]["mean"] == pytest.approx(np.mean(lengths))
    assert stats["length"]["median"] == pytest.approx(np.median(lengths))
    top_id, top_count = np.unique(flat, return_counts=True)
    assert stats["top_tokens"][0]["count"] == top_count.max()
    assert sum(b["count"] for b in stats["length"]["histogram"]) == len(expected)

    sample = client.get(f"{API}/{dataset['id']}/samples/5", params={"tokenization_id": tokenization["id"]}).json()
    first = tokenizer([DOCS[5]], truncation=True, max_length=8, stride=2, return_overflowing_tokens=True)
    assert [[t["id"] for t in s["tokens"]] for s in sample["data"]["sequences"]] == [
        ids for ids in first["input_ids"] if len(ids) >= 3]


def test_packing_makes_exactly_the_expected_number_of_sequences(
        client: TestClient, tmp_path: Path, tiny_models: TinyModels) -> None:
    (tmp_path / "docs.txt").write_text("\n".join(DOCS))
    dataset = finished(client, import_path(client, tmp_path / "docs.txt"))
    model_id = tiny_model(client, tiny_models)
    tokenizer = data.load_tokenizer(tiny_models("llama"))
    stream: list[int] = []
    for ids in tokenizer(DOCS, add_special_tokens=False)["input_ids"]:
        stream += ids + [tokenizer.eos_token_id]
    stream = stream[:-1]  # EOS goes between documents
    length, stride = 16, 4
    body_length = length - 1  # BOS starts every chunk
    expected = (len(stream) - body_length) // (body_length - stride) + 1
    body = accepted(client.post(f"{API}/{dataset['id']}/tokenize", json={
        "model_id": model_id, "max_length": length, "packing": True, "stride": stride, "add_special_tokens": False}))
    assert wait_for_job(client, body["job_id"])["status"] == "completed"
    ready = client.get(f"{API}/{dataset['id']}/tokenizations/{body['id']}").json()["data"]
    assert ready["num_sequences"] == expected and ready["num_tokens"] == expected * length
    assert ready["statistics"]["length"]["min"] == ready["statistics"]["length"]["max"] == length


def test_tokenize_refuses_a_model_that_is_not_usable_and_bad_settings(
        client: TestClient, hf_env: HfEnv, tmp_path: Path, tiny_models: TinyModels) -> None:
    (tmp_path / "docs.txt").write_text("\n".join(DOCS))
    dataset = finished(client, import_path(client, tmp_path / "docs.txt"))
    bert = client.post("/api/v1/models/download",
                       json={"repo_id": tiny_models.publish(hf_env.hub, "bert", "ds-tok/bert")}).json()["data"]
    wait_for_job(client, bert["job_id"])
    refused = client.post(f"{API}/{dataset['id']}/tokenize", json={"model_id": bert["id"]})
    assert refused.status_code == 400 and "incompatible" in refused.json()["error"]["message"]
    unknown = client.post(f"{API}/{dataset['id']}/tokenize", json={"model_id": "nope"})
    assert unknown.status_code == 404
    model_id = tiny_model(client, tiny_models)
    bad = client.post(f"{API}/{dataset['id']}/tokenize", json={"model_id": model_id, "max_length": 8, "stride": 8})
    assert bad.status_code == 400 and "stride" in bad.json()["error"]["message"]
    bad_split = client.post(f"{API}/{dataset['id']}/tokenize", json={"model_id": model_id, "split": "test"})
    assert bad_split.status_code == 400 and "train" in bad_split.json()["error"]["message"]


# --- delete ------------------------------------------------------------------------------------------------
def test_delete_is_refused_while_a_job_uses_the_dataset_and_reports_bytes_freed(
        client: TestClient, tmp_path: Path, models_settings: Settings) -> None:
    (tmp_path / "docs.txt").write_text("\n".join(DOCS))
    dataset = finished(client, import_path(client, tmp_path / "docs.txt"))
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with session_scope(runtime.sessions) as session:  # a job of another domain that declares it reads the dataset
        job = Job(kind="training.run", queue="gpu", status="running", runner="local", params={"corpus": "any name"},
                  reads=[{"type": "dataset", "id": dataset["id"]}])
        session.add(job)
        session.flush()
        job_id = job.id
    busy = client.delete(f"{API}/{dataset['id']}")
    assert busy.status_code == 409 and job_id in busy.json()["error"]["message"]
    with session_scope(runtime.sessions) as session:
        session.get(Job, job_id).status = "completed"  # type: ignore[union-attr]

    folder = models_settings.home / "datasets" / dataset["id"]
    on_disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert client.get(f"{API}/{dataset['id']}").json()["data"]["total_bytes"] == on_disk
    deleted = client.delete(f"{API}/{dataset['id']}").json()["data"]
    assert deleted["bytes_freed"] == on_disk > 0 and not folder.exists()
    assert client.get(f"{API}/{dataset['id']}").status_code == 404
    assert (tmp_path / "docs.txt").exists()  # an import reads in place: the user's file is never deleted
    with session_scope(runtime.sessions) as session:
        assert session.get(Dataset, dataset["id"]) is None


# --- the demo corpus ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_shakespeare_example_imports_and_tokenizes_with_smollm2(
        client: TestClient, smollm2_dir: Path, shakespeare_dir: Path) -> None:
    examples = client.get(f"{API}/examples").json()["data"]
    assert examples[0]["name"] == "shakespeare" and examples[0]["available_offline"] is True
    dataset = finished(client, accepted(client.post(f"{API}/examples", json={"name": "shakespeare"})))
    assert dataset["ready"] and dataset["num_rows"] > 100_000
    hamlet = client.get(f"{API}/{dataset['id']}/samples", params={"search": "to be, or not to be"}).json()
    assert hamlet["pagination"]["total"] >= 1

    model = client.post("/api/v1/models/import", json={"path": str(smollm2_dir), "mode": "link"}).json()["data"]
    assert wait_for_job(client, model["job_id"])["status"] == "completed"
    body = accepted(client.post(f"{API}/{dataset['id']}/tokenize", json={
        "model_id": model["id"], "max_length": 128, "packing": True}))
    assert wait_for_job(client, body["job_id"], timeout=300)["status"] == "completed"
    ready = client.get(f"{API}/{dataset['id']}/tokenizations/{body['id']}").json()["data"]
    assert ready["num_tokens"] > 2_000_000 and ready["vocab_size"] == 49152
    top = [t["token"] for t in ready["statistics"]["top_tokens"][:10]]
    assert any(t in top for t in (",", ".", "Ġthe", "Ċ")), top


def test_a_dataset_whose_job_died_in_a_restart_reads_as_interrupted_and_retryable(client: TestClient) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with session_scope(runtime.sessions) as session:  # an import a server that has since died was running
        dataset = Dataset(name="half", source="import", splits={})
        session.add(dataset)
        session.flush()
        dataset_id = dataset.id
        job = repository.create_job(session, kind="datasets.import", queue="io", params={}, runner="local",
                                    writes=[("dataset", dataset_id)])
        job.status, job.host, dataset.status = "running", HOST, "running"
    assert mark_orphans_interrupted(runtime.sessions, runtime.publish, "local") == 1  # what the next start does
    shown = client.get(f"{API}/{dataset_id}").json()["data"]
    assert shown["status"] == "interrupted" and "restart" in shown["message"]
    assert shown["retryable"] and not shown["active"]
    assert client.post(f"{API}/{dataset_id}/retry").status_code == 202
