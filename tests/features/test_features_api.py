"""The features API end to end: a real SAE trained in the studio, analysed by a real job, browsed through HTTP and
checked against the store read back with `lens.features.load_features` and a direct lens run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mistudio.lens.features import load_features
from mistudio.lens.features.result import EXAMPLE_KINDS
from tests.extraction.test_extraction_api import _accepted
from tests.support.api_fixtures import wait_for_job

ANALYSIS = {"top_k": 5, "context": 3, "intervals": 4, "per_interval": 2, "correlations": 4, "neighbours": 5,
            "logit_lens": 6, "batch_size": 16, "histogram_bins": 12}


@pytest.fixture(scope="module")
def analysed(studio: dict[str, Any]) -> dict[str, Any]:
    """One completed analysis over the whole tokenization, with the ablation of the first two top examples."""
    client = studio["client"]
    started = _accepted(client.post(f"/api/v1/saes/{studio['sae_id']}/analyses", json={
        **ANALYSIS, "dataset_id": studio["dataset_id"], "tokenization_id": studio["tokenization_id"],
        "ablation_top": 2}))
    assert started["status"] == "queued" and started["source"] == "tokenization"
    job = wait_for_job(client, started["job_id"], timeout=300)
    assert job["status"] == "completed", job
    analysis = client.get(f"/api/v1/analyses/{started['id']}").json()["data"]
    return {"analysis": analysis, "saved": load_features(analysis["path"])}


def _features(client: Any, analysis_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/analyses/{analysis_id}/features", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_an_analysis_completes_and_its_rows_match_the_store(studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    client, analysis, saved = studio["client"], analysed["analysis"], analysed["saved"]
    assert analysis["ready"] and analysis["phase"] == "complete" and analysis["width"] == 48
    assert analysis["num_sequences"] == 300 and analysis["tokens"] == saved.analysis.summary.tokens
    summary = saved.analysis.summary
    assert analysis["dead_count"] == int(summary.dead.sum())
    page = _features(client, analysis["id"])
    assert page["pagination"]["total"] == 48
    rows = page["data"]
    assert [row["latent"] for row in rows] == list(range(48))
    np.testing.assert_allclose([row["frequency"] for row in rows], summary.frequency, rtol=1e-6)
    np.testing.assert_allclose([row["max_activation"] for row in rows], summary.max_activation, rtol=1e-6)
    assert [row["dead"] for row in rows] == summary.dead.tolist()
    labels = {label.latent: label.text for label in saved.labels}
    assert [row["label"] for row in rows] == [labels[i] for i in range(48)]
    assert all(row["label_kind"] == "automatic" and row["label_score"] is None for row in rows)
    listed = client.get(f"/api/v1/saes/{studio['sae_id']}/analyses").json()
    assert analysis["id"] in [item["id"] for item in listed["data"]]


def _busiest(saved: Any) -> int:
    """The latent with the most top examples (ties: the most frequent), so its detail has something to show."""
    top = saved.analysis.examples.kind == EXAMPLE_KINDS.index("top")
    counts = np.bincount(saved.analysis.examples.latent[top], minlength=saved.analysis.width)
    return int(np.lexsort((saved.analysis.summary.frequency, counts))[-1])


def test_a_latent_detail_equals_the_saved_result(studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    from transformers import AutoTokenizer

    client, analysis, saved = studio["client"], analysed["analysis"], analysed["saved"]
    latent = _busiest(saved)
    detail = client.get(f"/api/v1/analyses/{analysis['id']}/features/{latent}").json()["data"]
    summary = saved.analysis.summary
    assert detail["latent"] == latent and detail["active_count"] == int(summary.active_count[latent])
    assert detail["histogram"]["counts"] == summary.histogram[latent].tolist()
    np.testing.assert_allclose(detail["histogram"]["log10_edges"], summary.histogram_edges)

    top = saved.analysis.examples.of(latent, "top")
    shown = [example for example in detail["examples"] if example["kind"] == "top"]
    assert len(shown) == len(top) > 0
    assert [example["tokens"] for example in shown] == top.tokens.tolist()
    np.testing.assert_allclose([example["activations"] for example in shown], top.activations, rtol=1e-6)
    assert [example["sequence"] for example in shown] == top.sequence.tolist()  # first_sequence is 0 here
    tokenizer = AutoTokenizer.from_pretrained(studio["model_path"])
    first = shown[0]
    assert first["texts"] == [tokenizer.decode([t]) if t >= 0 else "" for t in first["tokens"]]
    intervals = saved.analysis.examples.of(latent, "interval")
    assert sorted(e["activation"] for e in detail["examples"] if e["kind"] == "interval") == \
        pytest.approx(sorted(intervals.activation.tolist()))

    assert [t["token"] for t in detail["promoted"]] == saved.logit_lens.promoted_tokens[latent].tolist()
    assert [t["token"] for t in detail["suppressed"]] == saved.logit_lens.suppressed_tokens[latent].tolist()
    assert detail["promoted"][0]["text"] == tokenizer.decode([detail["promoted"][0]["token"]])
    assert [n["latent"] for n in detail["neighbours"]] == saved.neighbours.indices[latent].tolist()
    assert [c["latent"] for c in detail["correlations"]] == saved.analysis.correlations.indices[latent].tolist()

    ablated = saved.ablation.latent == latent
    assert ablated.sum() == min(2, len(top))  # ablation_top=2: the first two top examples
    assert detail["ablation_mean_delta_loss"] == pytest.approx(saved.ablation.mean_peak_delta(48)[latent])
    with_effect = [example for example in shown if example["delta_loss"] is not None]
    assert len(with_effect) == int(ablated.sum())


def test_the_job_analysed_the_asked_sequences_with_the_sae(studio: dict[str, Any],
                                                           analysed: dict[str, Any]) -> None:
    """A lens run in this process on the same model, SAE, sequences and config gives the API's numbers."""
    import torch
    from transformers import AutoModelForCausalLM

    from mistudio.lens import data
    from mistudio.lens.features import AnalysisConfig, analyze_features
    from mistudio.lens.sae.formats import load

    client, analysis = studio["client"], analysed["analysis"]
    sequences = data.TokenizedSequences.open(studio["root"] / "home" / "datasets" / studio["dataset_id"] /
                                             "tokenizations" / studio["tokenization_id"])
    rows = [torch.as_tensor(np.array(sequences[i]), dtype=torch.long) for i in range(len(sequences))]
    ids = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for index, row in enumerate(rows):
        ids[index, :len(row)], mask[index, :len(row)] = row, 1
    model = AutoModelForCausalLM.from_pretrained(studio["model_path"]).eval()
    sae = load(client.get(f"/api/v1/saes/{studio['sae_id']}").json()["data"]["path"])
    config = AnalysisConfig.from_dict(analysis["settings"]["config"])
    assert config.ignore_token_ids  # the tiny llama's BOS, resolved by the job from its tokenizer
    direct = analyze_features(model, sae, ids, config, attention_mask=mask)
    rows = _features(client, analysis["id"])["data"]
    np.testing.assert_allclose([r["frequency"] for r in rows], direct.summary.frequency, rtol=1e-6)
    np.testing.assert_allclose([r["max_activation"] for r in rows], direct.summary.max_activation, rtol=1e-5)


def test_sort_and_filters(studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    client, analysis_id = studio["client"], analysed["analysis"]["id"]
    summary = analysed["saved"].analysis.summary
    by_frequency = _features(client, analysis_id, sort="frequency")["data"]
    assert [r["latent"] for r in by_frequency] == np.lexsort((np.arange(48), -summary.frequency)).tolist()
    by_max = _features(client, analysis_id, sort="max_activation", order="asc")["data"]
    assert [r["max_activation"] for r in by_max] == sorted(r["max_activation"] for r in by_max)
    unscored = _features(client, analysis_id, sort="label_score")["data"]
    assert [r["latent"] for r in unscored] == list(range(48))  # nothing scored yet: ties by index
    paged = _features(client, analysis_id, sort="frequency", limit=10, page=2)
    assert [r["latent"] for r in paged["data"]] == [r["latent"] for r in by_frequency[10:20]]

    dead = _features(client, analysis_id, dead=True)
    assert dead["pagination"]["total"] == int(summary.dead.sum())
    dense = _features(client, analysis_id, dense=True)["data"]
    assert {r["latent"] for r in dense} == set(np.flatnonzero(summary.frequency >= 0.1).tolist())
    low, high = float(np.quantile(summary.frequency, 0.25)), float(np.quantile(summary.frequency, 0.75))
    middle = _features(client, analysis_id, min_frequency=low, max_frequency=high)["data"]
    assert {r["latent"] for r in middle} == set(np.flatnonzero((summary.frequency >= low)
                                                               & (summary.frequency <= high)).tolist())
    one = _features(client, analysis_id, latent=7)["data"]
    assert [r["latent"] for r in one] == [7]


def test_search_by_label_and_by_token(studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    from transformers import AutoTokenizer

    client, analysis_id, saved = studio["client"], analysed["analysis"]["id"], analysed["saved"]
    latent = _busiest(saved)
    label = next(label.text for label in saved.labels if label.latent == latent)
    words = label.strip('"').split('"')[0]
    found = _features(client, analysis_id, search=words.upper())["data"]
    assert latent in [r["latent"] for r in found] and all(words.lower() in r["label"].lower() for r in found)

    tokenizer = AutoTokenizer.from_pretrained(studio["model_path"])
    examples, context = saved.analysis.examples, saved.analysis.config.context
    top = examples.kind == EXAMPLE_KINDS.index("top")
    # the first top example that peaks on a token with visible text (a whitespace token has nothing to search by)
    row = next(i for i in np.flatnonzero(top) if tokenizer.decode([int(examples.tokens[i, context])]).strip())
    latent, text = int(examples.latent[row]), tokenizer.decode([int(examples.tokens[row, context])]).strip()
    hits = [r["latent"] for r in _features(client, analysis_id, token=f"  {text.upper()} ")["data"]]
    assert latent in hits

    def about(candidate: int) -> set[str]:
        peaks = examples.tokens[top & (examples.latent == candidate), context].tolist()
        promoted = saved.logit_lens.promoted_tokens[candidate].tolist()
        return {tokenizer.decode([t]).strip().lower() for t in peaks + promoted}

    assert all(text.lower() in about(hit) for hit in hits)
    expected = [c for c in range(48) if text.lower() in about(c)]
    assert hits == expected
    assert _features(client, analysis_id, token="zzqqxxnothing")["pagination"]["total"] == 0


def test_patch_persists_label_favourite_and_notes(studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    client, analysis_id = studio["client"], analysed["analysis"]["id"]
    url = f"/api/v1/analyses/{analysis_id}/features/3"
    patched = client.patch(url, json={"label": "  royal titles ", "favourite": True, "notes": "check dusk"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["label"] == "royal titles"
    detail = client.get(url).json()["data"]
    assert (detail["label"], detail["label_kind"], detail["favourite"], detail["notes"]) == \
        ("royal titles", "user", True, "check dusk")
    assert [r["latent"] for r in _features(client, analysis_id, favourite=True)["data"]] == [3]
    assert [r["latent"] for r in _features(client, analysis_id, search="royal")["data"]] == [3]
    # one field at a time leaves the others alone; an empty label removes it
    assert client.patch(url, json={"favourite": False}).json()["data"]["label"] == "royal titles"
    cleared = client.patch(url, json={"label": ""}).json()["data"]
    assert cleared["label"] is None and cleared["label_kind"] is None and cleared["notes"] == "check dusk"
    assert 3 in [r["latent"] for r in _features(client, analysis_id, labelled=False)["data"]]
    assert client.patch(url, json={"label": None}).status_code == 422
    too_long = client.patch(url, json={"label": "x" * 201})
    assert too_long.status_code == 422 and "label" in too_long.json()["error"]["message"]


def test_bad_input_names_the_field_or_the_range(studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    client, analysis_id, sae_id = studio["client"], analysed["analysis"]["id"], studio["sae_id"]
    before = client.get(f"/api/v1/saes/{sae_id}/analyses").json()["pagination"]["total"]
    unknown = client.post("/api/v1/saes/nosuchsae/analyses", json={})
    assert unknown.status_code == 404 and "nosuchsae" in unknown.json()["error"]["message"]
    assert client.get("/api/v1/saes/nosuchsae/analyses").status_code == 404
    assert client.get("/api/v1/analyses/nosuch/features").status_code == 404

    bad_sort = client.get(f"/api/v1/analyses/{analysis_id}/features", params={"sort": "loudness"})
    assert bad_sort.status_code == 422 and bad_sort.json()["error"]["details"][0]["field"] == "query.sort"
    out_of_range = client.get(f"/api/v1/analyses/{analysis_id}/features/48")
    error = out_of_range.json()["error"]
    assert out_of_range.status_code == 404 and "0 to 47" in error["message"] and error["details"]["max"] == 47
    assert client.get(f"/api/v1/analyses/{analysis_id}/features", params={"latent": 999}).status_code == 404
    assert client.patch(f"/api/v1/analyses/{analysis_id}/features/48", json={"notes": "x"}).status_code == 404
    inverted = client.get(f"/api/v1/analyses/{analysis_id}/features",
                          params={"min_frequency": 0.5, "max_frequency": 0.1})
    assert inverted.status_code == 400 and inverted.json()["error"]["details"]["field"] == "min_frequency"

    def refused(**body: Any) -> dict[str, Any]:
        response = client.post(f"/api/v1/saes/{sae_id}/analyses", json=body)
        assert response.status_code == 400, response.text
        return response.json()["error"]

    error = refused(max_sequences=31)  # the training held out 30 of the 300 sequences
    assert error["details"]["field"] == "max_sequences" and error["details"]["max"] == 30
    error = refused(dataset_id=studio["dataset_id"], tokenization_id=studio["tokenization_id"], max_sequences=301)
    assert error["details"]["max"] == 300
    assert refused(correlations=48)["details"] == {"field": "correlations", "min": 0, "max": 47}
    assert refused(dataset_id=studio["dataset_id"])["details"]["field"] == "tokenization_id"
    assert refused(top_k=2, ablation_top=3)["details"]["field"] == "ablation_top"
    assert client.post(f"/api/v1/saes/{sae_id}/analyses", json={"top_k": 0}).status_code == 422
    assert client.get(f"/api/v1/saes/{sae_id}/analyses").json()["pagination"]["total"] == before  # none stored


def test_an_sae_with_a_kept_analysis_is_not_deleted(studio: dict[str, Any], analysed: dict[str, Any]) -> None:
    client, sae_id, analysis_id = studio["client"], studio["sae_id"], analysed["analysis"]["id"]
    refused = client.delete(f"/api/v1/saes/{sae_id}")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert analysis_id in error["message"] and "delete those first" in error["message"]
    assert {"type": "feature_analysis", "id": analysis_id} in error["details"]["used_by"]
    assert client.get(f"/api/v1/saes/{sae_id}").status_code == 200  # nothing was removed
    assert client.get(f"/api/v1/analyses/{analysis_id}/features").status_code == 200
