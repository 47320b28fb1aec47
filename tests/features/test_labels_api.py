"""LLM labels through the API: a real OpenAI-compatible HTTP endpoint (a tiny server in this test, standing in for
a remote LLM) labels and scores latents in a job; the key reaches the endpoint but never the database; an
unreachable endpoint fails clearly and writes nothing; bad requests name their field."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mistudio.lens.features.scoring import balanced_accuracy
from tests.extraction.test_extraction_api import _accepted, _import_model
from tests.support.api_fixtures import wait_for_job
from tests.support.studio import wait_until

# The first test here may build the session's studio (a trained SAE) and this module's analysis on a CPU shared
# with other work: more than the suite's default 300 s per test there.
pytestmark = pytest.mark.timeout(900)
ANALYSIS = {"top_k": 6, "context": 3, "intervals": 3, "per_interval": 2, "correlations": 0, "neighbours": 0,
            "logit_lens": 0, "batch_size": 32, "max_sequences": 120}
SECRET = "sk-test-DO-NOT-STORE-7f3a9c"
LABEL_LINE = "Label: words of the kingdom"


class FakeLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible /chat/completions: a fixed label for the explainer prompt, and for a scoring prompt of
    n excerpts the verdicts 1, 0, 1, 0, … (so the scores are known from the prompts alone)."""

    seen: list[dict[str, Any]] = []
    delay_s = 0.0  # a slow LLM, for the cancel test

    def do_POST(self) -> None:  # noqa: N802 — the http.server name
        time.sleep(type(self).delay_s)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "authorization": self.headers.get("Authorization"), **body})
        prompt = body["messages"][-1]["content"]
        if prompt.rstrip().endswith("Label:"):
            answer = LABEL_LINE
        else:
            count = len(re.findall(r"^\d+\. ", prompt.split("Excerpts:\n", 1)[1], re.MULTILINE))
            answer = "Here: " + str([1 - index % 2 for index in range(count)])
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def llm_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture(scope="module")
def analysed(studio: dict[str, Any]) -> dict[str, Any]:
    client = studio["client"]
    started = _accepted(client.post(f"/api/v1/saes/{studio['sae_id']}/analyses", json={
        **ANALYSIS, "dataset_id": studio["dataset_id"], "tokenization_id": studio["tokenization_id"]}))
    assert wait_for_job(client, started["job_id"], timeout=300)["status"] == "completed"
    return client.get(f"/api/v1/analyses/{started['id']}").json()["data"]


def _rows(client: Any, analysis_id: str, **params: Any) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/analyses/{analysis_id}/features", params={"limit": 200, **params}).json()["data"]


def _holds(home: Path, secret: str) -> bool:
    """Whether any byte of the database files (WAL included) holds `secret`. Read in another process: closing a
    descriptor of a SQLite file in this one would drop the locks its open connections hold (POSIX locks are per
    process), and a job writing meanwhile could corrupt the database."""
    paths = [str(path) for path in home.glob("mistudio.db*")]
    assert paths
    found = subprocess.run([sys.executable, "-c", "import pathlib, sys; sys.exit(int(any(sys.argv[1].encode() in "
                            "pathlib.Path(path).read_bytes() for path in sys.argv[2:])))", secret, *paths],
                           check=False)
    return found.returncode == 1


def test_an_endpoint_labels_and_scores_the_top_latents_and_its_key_is_never_stored(
        studio: dict[str, Any], analysed: dict[str, Any], llm_endpoint: str) -> None:
    client, analysis_id = studio["client"], analysed["id"]
    FakeLLM.seen.clear()
    response = client.post(f"/api/v1/analyses/{analysis_id}/labels", json={
        "endpoint": llm_endpoint, "model": "fake-llm", "api_key": SECRET, "top": 3, "explain_examples": 2,
        "score_examples": 4, "batch_size": 3})
    assert response.status_code == 202, response.text
    started = response.json()["data"]
    by_frequency = [row["latent"] for row in _rows(client, analysis_id, sort="frequency", dead=False)][:3]
    assert started["latents"] == by_frequency and started["writer"] == "fake-llm (127.0.0.1)"
    job = wait_for_job(client, started["job_id"], timeout=300)
    assert job["status"] == "completed", job
    assert sorted(job["result"]["labelled"]) == sorted(by_frequency)

    # the round trip: the key went to the endpoint as a bearer token; the explainer saw marked examples
    assert FakeLLM.seen and all(seen["authorization"] == f"Bearer {SECRET}" for seen in FakeLLM.seen)
    assert {seen["path"] for seen in FakeLLM.seen} == {"/v1/chat/completions"}
    assert all(seen["model"] == "fake-llm" for seen in FakeLLM.seen)
    latent = by_frequency[0]
    detail = client.get(f"/api/v1/analyses/{analysis_id}/features/{latent}").json()["data"]
    peak = next(e for e in detail["examples"] if e["kind"] == "top" and e["rank"] == 0)
    explained = [seen for seen in FakeLLM.seen if seen["messages"][-1]["content"].endswith("Label:")]
    assert len(explained) == 3
    assert any(f"<<{peak['texts'][len(peak['texts']) // 2]}" in seen["messages"][-1]["content"] for seen in explained)

    # what is stored: kind, writer, prompt versions, both scores as balanced accuracy of the stored verdicts
    assert detail["label"] == "words of the kingdom" and detail["label_kind"] == "llm"
    assert detail["label_model"] == "fake-llm (127.0.0.1)"
    assert detail["label_prompt_version"] == "explain-v1+detect-v1+fuzz-v1"
    evidence = detail["label_evidence"]
    assert evidence["answer"] == LABEL_LINE
    for method in ("detection", "fuzzing"):
        items = evidence[method]["items"]
        assert items and all(item["prediction"] is not None for item in items)
        expected = balanced_accuracy([item["truth"] for item in items], [item["prediction"] for item in items])
        assert detail[f"{method}_score"] == pytest.approx(expected)
    assert any(not item["truth"] for item in evidence["detection"]["items"])  # silent contexts were found
    assert detail["label_score"] == pytest.approx((detail["detection_score"] + detail["fuzzing_score"]) / 2)

    # the browser sorts by the score (unscored last) and lists the label's author and scores
    ranked = _rows(client, analysis_id, sort="label_score")
    assert {row["latent"] for row in ranked[:3]} == set(by_frequency)
    scores = [row["label_score"] for row in ranked[:3]]
    assert scores == sorted(scores, reverse=True) and all(row["label_score"] is None for row in ranked[3:])
    assert all(row["label_kind"] == "llm" and row["label_model"] == "fake-llm (127.0.0.1)" for row in ranked[:3])

    # the key is nowhere at rest: not in the job's params, not in any byte of the database
    assert SECRET not in json.dumps(client.get(f"/api/v1/jobs/{started['job_id']}").json())
    assert not _holds(studio["root"] / "home", SECRET)
    assert _holds(studio["root"] / "home", "fake-llm (127.0.0.1)")  # the check does find what is stored


def test_an_unreachable_endpoint_fails_the_job_clearly_and_changes_no_label(
        studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    client, analysis_id = studio["client"], analysed["id"]
    before = _rows(client, analysis_id)
    response = client.post(f"/api/v1/analyses/{analysis_id}/labels", json={
        "endpoint": "http://127.0.0.1:9/v1", "model": "nobody", "top": 4})
    assert response.status_code == 202, response.text
    job = wait_for_job(client, response.json()["data"]["job_id"], timeout=300)
    assert job["status"] == "failed"
    assert "LLM endpoint http://127.0.0.1:9/v1 is unreachable" in job["error"]
    assert _rows(client, analysis_id) == before


def test_a_user_label_replaces_an_llm_label_and_its_scores_and_a_long_one_is_refused(
        studio: dict[str, Any], analysed: dict[str, Any], llm_endpoint: str) -> None:
    client, analysis_id = studio["client"], analysed["id"]
    started = client.post(f"/api/v1/analyses/{analysis_id}/labels", json={
        "endpoint": llm_endpoint, "model": "fake-llm", "top": 1, "sort": "max_activation", "score_examples": 2})
    latent = started.json()["data"]["latents"][0]
    job = wait_for_job(client, started.json()["data"]["job_id"], timeout=300)
    assert job["status"] == "completed", job
    too_long = client.patch(f"/api/v1/analyses/{analysis_id}/features/{latent}", json={"label": "x" * 201})
    assert too_long.status_code == 422 and "label" in json.dumps(too_long.json()["error"])
    edited = client.patch(f"/api/v1/analyses/{analysis_id}/features/{latent}", json={"label": "kings"})
    assert edited.status_code == 200
    detail = client.get(f"/api/v1/analyses/{analysis_id}/features/{latent}").json()["data"]
    assert (detail["label"], detail["label_kind"], detail["label_model"], detail["label_score"],
            detail["detection_score"], detail["label_evidence"]) == ("kings", "user", None, None, None, None)


def test_cancelling_a_labelling_job_stops_between_latents_and_keeps_whole_labels(
        studio: dict[str, Any], analysed: dict[str, Any], llm_endpoint: str) -> None:
    client, analysis_id = studio["client"], analysed["id"]
    FakeLLM.delay_s = 0.2
    try:
        started = client.post(f"/api/v1/analyses/{analysis_id}/labels", json={
            "endpoint": llm_endpoint, "model": "slow-llm", "top": 12, "sort": "index", "score_examples": 2}).json()
        job_id = started["data"]["job_id"]

        def first_labelled() -> bool:
            return any(row["label_model"] == "slow-llm (127.0.0.1)" for row in _rows(client, analysis_id))

        wait_until(first_labelled, timeout=300, interval=0.2)
        assert client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 200
        job = wait_for_job(client, job_id, timeout=120)
    finally:
        FakeLLM.delay_s = 0.0
    assert job["status"] == "cancelled" and "stopped after" in json.dumps(job["log"]), job
    rows = [row for row in _rows(client, analysis_id) if row["label_model"] == "slow-llm (127.0.0.1)"]
    assert 1 <= len(rows) < 12
    assert all(row["detection_score"] is not None and row["fuzzing_score"] is not None for row in rows)


@pytest.mark.parametrize(("body", "status", "field", "words"), [
    ({"top": 2}, 400, "endpoint", "give an LLM"),
    ({"endpoint": "http://127.0.0.1:9/v1", "local_model_id": "x", "model": "m"}, 400, "local_model_id", "not both"),
    ({"endpoint": "http://127.0.0.1:9/v1"}, 400, "model", "give model"),
    ({"endpoint": "ftp://host/v1", "model": "m"}, 400, "endpoint", "http:// or https://"),
    ({"endpoint": "http://me:sk-123@host/v1", "model": "m"}, 400, "endpoint", "must not hold credentials"),
    ({"endpoint": "http://127.0.0.1:9/v1", "model": "m", "latents": [10**6]}, 404, "latents", "out of range"),
    ({"local_model_id": "0" * 32}, 404, None, "not found"),
])
def test_bad_labelling_requests_name_the_field(studio: dict[str, Any], analysed: dict[str, Any],
                                               body: dict[str, Any], status: int, field: str | None,
                                               words: str) -> None:
    response = studio["client"].post(f"/api/v1/analyses/{analysed['id']}/labels", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words in error["message"]
    if field is not None:
        assert error["details"]["field"] == field
    assert "sk-123" not in error["message"]


@pytest.mark.slow
def test_the_real_smollm2_writes_a_scored_label(studio: dict[str, Any], analysed: dict[str, Any],
                                                smollm2_dir: Path) -> None:
    # One latent: every step of a label (explain, detection, fuzzing) runs on the real model; a second latent only
    # repeated them (~40 s on 2 cores). The endpoint test above covers several latents in one job.
    client, analysis_id = studio["client"], analysed["id"]
    smollm2 = _import_model(client, smollm2_dir)
    response = client.post(f"/api/v1/analyses/{analysis_id}/labels", json={
        "local_model_id": smollm2, "top": 1, "sort": "mean_activation", "explain_examples": 2,
        "score_examples": 2, "batch_size": 2})
    assert response.status_code == 202, response.text
    accepted = response.json()["data"]
    job = wait_for_job(client, accepted["job_id"], timeout=800)
    assert job["status"] == "completed", job
    assert sorted(job["result"]["labelled"] + job["result"]["unlabelled"]) == sorted(accepted["latents"])
    assert job["result"]["labelled"], f"SmolLM2 gave no label at all: {job['log']}"
    writer = client.get(f"/api/v1/models/{smollm2}").json()["data"]["name"]
    for latent in job["result"]["labelled"]:
        detail = client.get(f"/api/v1/analyses/{analysis_id}/features/{latent}").json()["data"]
        assert detail["label_kind"] == "llm" and detail["label_model"] == writer and detail["label"].strip()
        assert len(detail["label"]) <= 200 and detail["label_prompt_version"] == "explain-v1+detect-v1+fuzz-v1"
        for method in ("detection", "fuzzing"):
            # a poor model's verdicts may be unreadable: they count as wrong, and the score is still a number
            assert detail["label_evidence"][method]["items"] and 0.0 <= detail[f"{method}_score"] <= 1.0
