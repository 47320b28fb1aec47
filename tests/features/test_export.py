"""Exports of an analysis through the API (CSV, Parquet, Neuronpedia's upload layout) and labels imported back: the
files are read with the standard readers (csv, pyarrow, gzip + json) and compared with the list API and the store."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from typing import Any

import pyarrow.parquet as pq
import pytest

from mistudio.lens.features import load_features
from tests.extraction.test_extraction_api import _accepted
from tests.support.api_fixtures import wait_for_job

WIDTH = 48
SMALL_ANALYSIS = {"max_sequences": 80, "top_k": 4, "context": 3, "intervals": 3, "per_interval": 1,
                  "correlations": 3, "neighbours": 3, "logit_lens": 4, "batch_size": 16, "histogram_bins": 8}
# Neuronpedia's required (no default) fields, from neuronpedia_utils/db_models/{feature,activation,explanation}.py.
NEURONPEDIA_REQUIRED = {
    "features": {"modelId", "layer", "index"},
    "activations": {"id", "tokens", "index", "layer", "modelId", "maxValue", "maxValueTokenIndex", "minValue",
                    "values", "creatorId"},
    "explanations": {"id", "modelId", "layer", "index", "description", "authorId"},
}


@pytest.fixture(scope="module")
def analysed(studio: dict[str, Any]) -> dict[str, Any]:
    """A small completed analysis of the studio's SAE over the first 80 sequences of its tokenization."""
    client = studio["client"]
    started = _accepted(client.post(f"/api/v1/saes/{studio['sae_id']}/analyses", json={
        **SMALL_ANALYSIS, "dataset_id": studio["dataset_id"], "tokenization_id": studio["tokenization_id"]}))
    assert wait_for_job(client, started["job_id"], timeout=300)["status"] == "completed"
    analysis = client.get(f"/api/v1/analyses/{started['id']}").json()["data"]
    return {"id": analysis["id"], "path": analysis["path"]}


def _listed(client: Any, analysis_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/analyses/{analysis_id}/features", params={"limit": 200})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _export(client: Any, analysis_id: str, fmt: str, **params: Any) -> bytes:
    response = client.get(f"/api/v1/analyses/{analysis_id}/export", params={"format": fmt, **params})
    assert response.status_code == 200, response.text
    assert analysis_id in response.headers["content-disposition"]
    return response.content


def _import(client: Any, analysis_id: str, content: bytes, name: str = "labels.csv") -> Any:
    return client.post(f"/api/v1/analyses/{analysis_id}/labels/import", files={"file": (name, content)})


def test_parquet_export_read_back_with_pyarrow_equals_the_list_api(studio: dict[str, Any],
                                                                   analysed: dict[str, Any]) -> None:
    client = studio["client"]
    table = pq.read_table(io.BytesIO(_export(client, analysed["id"], "parquet")))
    assert table.num_rows == WIDTH and str(table.schema.field("latent").type) == "int32"
    assert table.to_pylist() == _listed(client, analysed["id"])


def test_csv_export_then_import_restores_the_same_labels(studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    client, analysis_id = studio["client"], analysed["id"]
    exported = _export(client, analysis_id, "csv")
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8"))))
    listed = _listed(client, analysis_id)
    assert [int(row["latent"]) for row in rows] == [row["latent"] for row in listed]
    assert [row["label"] or None for row in rows] == [row["label"] for row in listed]
    labelled = [row for row in listed if row["label"]]
    assert labelled, "the automatic labels should name some latents"
    # Overwrite two labels and clear a third; importing the CSV back must restore all three as `imported`.
    for row, label in zip(labelled[:3], ["scratch one", "scratch two", ""], strict=True):
        assert client.patch(f"/api/v1/analyses/{analysis_id}/features/{row['latent']}",
                            json={"label": label}).status_code == 200
    imported = _import(client, analysis_id, exported)
    assert imported.status_code == 200, imported.text
    assert imported.json()["data"] == {"analysis_id": analysis_id, "format": "csv", "imported": len(labelled),
                                       "skipped": WIDTH - len(labelled), "duplicates": 0}
    after = _listed(client, analysis_id)
    assert [row["label"] for row in after] == [row["label"] for row in listed]
    assert {row["label_kind"] for row in after if row["label"]} == {"imported"}
    assert all(row["label_score"] is None for row in after)


def _zip_lines(content: bytes) -> dict[str, Any]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    files: dict[str, Any] = {}
    for name in archive.namelist():
        data = archive.read(name)
        text = gzip.decompress(data).decode("utf-8") if name.endswith(".gz") else data.decode("utf-8")
        files[name] = [json.loads(line) for line in text.splitlines() if line.strip()]
    return files


def test_neuronpedia_export_has_their_layout_and_required_fields(studio: dict[str, Any],
                                                                 analysed: dict[str, Any]) -> None:
    client, analysis_id = studio["client"], analysed["id"]
    files = _zip_lines(_export(client, analysis_id, "neuronpedia", model_id="tiny-llama", creator_id="user123"))
    source = "tiny-llama/1-mistudio-res-48"  # {modelId}/{layer}-{sourceSet}: blocks.1.resid_post, 48 latents
    assert {f"{source}/{kind}/batch-0.jsonl.gz" for kind in NEURONPEDIA_REQUIRED} <= set(files)
    assert {f"{source}/{name}.jsonl" for name in ("model", "source", "sourceset")} <= set(files)
    for kind, required in NEURONPEDIA_REQUIRED.items():
        lines = files[f"{source}/{kind}/batch-0.jsonl.gz"]
        assert lines and all(required <= set(line) for line in lines), kind
        assert {(line["modelId"], line["layer"]) for line in lines} == {("tiny-llama", "1-mistudio-res-48")}
        assert all(isinstance(line["index"], str) for line in lines)  # a String column in their schema

    listed = {row["latent"]: row for row in _listed(client, analysis_id)}
    features = files[f"{source}/features/batch-0.jsonl.gz"]
    assert [int(line["index"]) for line in features] == list(range(WIDTH))
    for line in features:
        row = listed[int(line["index"])]
        assert line["frac_nonzero"] == row["frequency"] and line["maxActApprox"] == row["max_activation"]
        assert len(line["pos_str"]) == len(line["pos_values"]) == 4 and len(line["topkCosSimIndices"]) == 3
        assert line["creatorId"] == "user123" and line["sourceSetName"] == "mistudio-res-48"

    saved = load_features(analysed["path"]).analysis.examples
    activations = files[f"{source}/activations/batch-0.jsonl.gz"]
    assert len(activations) == len(saved)
    first = activations[0]
    inside = saved.tokens[0] >= 0
    assert int(first["index"]) == int(saved.latent[0])
    assert first["values"] == pytest.approx(saved.activations[0][inside].tolist())
    assert first["maxValue"] == pytest.approx(float(saved.activation[0]))
    assert len(first["tokens"]) == len(first["values"]) and first["values"][first["maxValueTokenIndex"]] == \
        first["maxValue"]

    explanations = files[f"{source}/explanations/batch-0.jsonl.gz"]
    labelled = {latent: row["label"] for latent, row in listed.items() if row["label"]}
    assert {int(line["index"]): line["description"] for line in explanations} == labelled
    assert {line["authorId"] for line in explanations} == {"user123"}


def test_neuronpedia_explanations_import_back_as_labels(studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    client, analysis_id = studio["client"], analysed["id"]
    archive = zipfile.ZipFile(io.BytesIO(_export(client, analysis_id, "neuronpedia")))
    explanations = next(name for name in archive.namelist() if name.endswith("explanations/batch-0.jsonl.gz"))
    before = {row["latent"]: row["label"] for row in _listed(client, analysis_id)}
    latent = next(latent for latent, label in before.items() if label)
    client.patch(f"/api/v1/analyses/{analysis_id}/features/{latent}", json={"label": "changed"})
    imported = _import(client, analysis_id, archive.read(explanations), "batch-0.jsonl.gz")
    assert imported.status_code == 200, imported.text
    assert imported.json()["data"]["format"] == "neuronpedia"
    assert {row["latent"]: row["label"] for row in _listed(client, analysis_id)} == before


def test_bad_exports_and_imports_are_refused_naming_the_field(studio: dict[str, Any],
                                                              analysed: dict[str, Any]) -> None:
    client, analysis_id = studio["client"], analysed["id"]
    bad_format = client.get(f"/api/v1/analyses/{analysis_id}/export", params={"format": "xml"})
    assert bad_format.status_code == 422 and "format" in bad_format.text
    assert client.get("/api/v1/analyses/nope/export", params={"format": "csv"}).status_code == 404
    not_neuronpedia = client.get(f"/api/v1/analyses/{analysis_id}/export",
                                 params={"format": "csv", "source_set": "x"})
    assert not_neuronpedia.status_code == 400 and not_neuronpedia.json()["error"]["details"]["field"] == "source_set"
    before = _listed(client, analysis_id)
    cases = {
        b"latent,label\n3,fine\n48,too far\n": ("line 3", "out of range"),
        b"latent,label\n3,fine\n4," + b"x" * 201 + b"\n": ("line 3", "at most 200"),
        b"index,description\n1,no latent column\n": ("no latent", "column"),
        b'{"index": "2", "description": "ok"}\n{"index": "two"}\n': ("line 2", "index"),
        b"": ("empty", ""),
        b"\x1f\x8bnot really gzip": ("gzipped", ""),
    }
    for content, (where, why) in cases.items():
        refused = _import(client, analysis_id, content)
        assert refused.status_code == 400, (content, refused.text)
        error = refused.json()["error"]
        assert error["details"]["field"] == "file" and where in error["message"] and why in error["message"]
    assert _listed(client, analysis_id) == before  # nothing half-imported


def test_cli_export_writes_the_same_files_as_the_api(studio: dict[str, Any], analysed: dict[str, Any],
                                                     tmp_path: Any) -> None:
    from tests.support.cli_studio import mistudio

    client, analysis_id, home = studio["client"], analysed["id"], studio["root"] / "home"
    ran = mistudio("features", "export", analysis_id[:8], "--format", "parquet", "-o", str(tmp_path), home=home)
    assert ran.returncode == 0, ran.stderr + ran.stdout
    written = tmp_path / f"features-{analysis_id}.parquet"
    assert str(written) in ran.stdout.replace("\n", "")
    assert pq.read_table(written).to_pylist() == _listed(client, analysis_id)
    ran = mistudio("features", "export", analysis_id, "--format", "neuronpedia", "--source-set", "mine", "-o",
                   str(tmp_path / "upload.zip"), home=home)
    assert ran.returncode == 0, ran.stderr + ran.stdout
    names = zipfile.ZipFile(tmp_path / "upload.zip").namelist()
    assert any(name.endswith("/1-mine/features/batch-0.jsonl.gz") for name in names)
    bad = mistudio("features", "export", analysis_id, "--format", "xml", home=home)
    assert bad.returncode == 2 and "--format must be one of csv, parquet, neuronpedia" in bad.stderr
    nowhere = mistudio("features", "export", analysis_id, "-o", str(tmp_path / "missing" / "f.csv"), home=home)
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [written.name, "upload.zip"]  # no partial files
