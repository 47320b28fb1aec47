"""Maps of decoder directions and the correlation heatmap through the API, on the studio's small analysis: a PCA map
computed as a job equals the library's layout of the stored SAE, the heatmap is the store's correlations, and bad
input is refused naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mistudio.lens.features import load_features
from mistudio.lens.features.maps import decoder_map
from mistudio.lens.sae.formats import load
from tests.features.test_export import WIDTH, _listed, analysed  # noqa: F401 (the module's small analysis)
from tests.support.api_fixtures import wait_for_job


def _field(response: Any) -> str:
    return response.json()["error"]["details"]["field"]


def test_map_is_404_until_computed_then_the_pca_job_stores_the_librarys_layout(
        studio: dict[str, Any], analysed: dict[str, Any]) -> None:  # noqa: F811
    client, analysis_id = studio["client"], analysed["id"]
    missing = client.get(f"/api/v1/analyses/{analysis_id}/maps/pca")
    assert missing.status_code == 404 and "POST" in missing.json()["error"]["message"]
    started = client.post(f"/api/v1/analyses/{analysis_id}/maps", json={"method": "pca"})
    assert started.status_code == 202, started.text
    assert wait_for_job(client, started.json()["data"]["job_id"], timeout=120)["status"] == "completed"

    found = client.get(f"/api/v1/analyses/{analysis_id}/maps/pca")
    assert found.status_code == 200, found.text
    stored = found.json()["data"]
    decoder = load(Path(studio["root"]) / "home" / "saes" / studio["sae_id"]).W_dec.detach()
    expected = decoder_map(decoder, "pca")
    np.testing.assert_allclose(np.array([stored["x"], stored["y"]]).T, expected, atol=1e-5)
    listed = sorted(_listed(client, analysis_id), key=lambda row: row["latent"])
    assert stored["width"] == WIDTH and len(stored["frequency"]) == WIDTH
    assert stored["frequency"] == pytest.approx([row["frequency"] for row in listed])
    assert stored["dead"] == [row["dead"] for row in listed]
    assert stored["label"] == [row["label"] for row in listed]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"method": "umap", "n_neighbors": WIDTH}, 400, "n_neighbors"),
    ({"method": "tsne", "perplexity": 20}, 400, "perplexity"),  # above (48 − 1) / 3
    ({"method": "umap", "min_dist": 2}, 422, "min_dist"),
    ({"method": "isomap"}, 422, "method"),
])
def test_map_parameters_out_of_range_are_refused_naming_the_field(
        studio: dict[str, Any], analysed: dict[str, Any], body: dict[str, Any], status: int,  # noqa: F811
        field: str) -> None:
    response = studio["client"].post(f"/api/v1/analyses/{analysed['id']}/maps", json=body)
    assert response.status_code == status, response.text
    assert field in response.text


def test_correlation_heatmap_is_the_stored_correlations_symmetric_with_unit_diagonal(
        studio: dict[str, Any], analysed: dict[str, Any]) -> None:  # noqa: F811
    client, analysis_id = studio["client"], analysed["id"]
    saved = load_features(analysed["path"])
    live = [latent for latent in range(WIDTH) if not saved.analysis.summary.dead[latent]]
    first = live[0]
    partners = [int(partner) for partner in saved.analysis.correlations.indices[first].tolist() if partner >= 0]
    chosen = [first, *partners, *(latent for latent in live if latent not in partners and latent != first)][:8]
    response = client.get(f"/api/v1/analyses/{analysis_id}/correlations",
                          params={"latents": ",".join(map(str, chosen))})
    assert response.status_code == 200, response.text
    heatmap = response.json()["data"]
    matrix = heatmap["matrix"]
    assert heatmap["latents"] == chosen and heatmap["kept_per_latent"] == 3
    assert all(matrix[a][a] == 1.0 for a in range(len(chosen)))
    assert all(matrix[a][b] == matrix[b][a] for a in range(len(chosen)) for b in range(len(chosen)))
    stored = saved.analysis.correlations.cosine[first].tolist()
    for partner, value in zip(partners, stored, strict=False):
        assert matrix[0][chosen.index(partner)] == pytest.approx(value, abs=1e-6)
    kept = {(a, int(b)) for a in chosen for b in saved.analysis.correlations.indices[a].tolist()}
    for a, row in enumerate(chosen):
        for b, column in enumerate(chosen):
            if a != b and (row, column) not in kept and (column, row) not in kept:
                assert matrix[a][b] is None  # not stored: null, never a made-up 0


@pytest.mark.parametrize(("latents", "status"), [("1,x", 400), (",".join(map(str, range(65))), 400),
                                                 (f"1,{WIDTH}", 404), ("", 400)])
def test_correlation_heatmap_refuses_bad_latents_naming_the_field(
        studio: dict[str, Any], analysed: dict[str, Any], latents: str, status: int) -> None:  # noqa: F811
    response = studio["client"].get(f"/api/v1/analyses/{analysed['id']}/correlations", params={"latents": latents})
    assert response.status_code == status, response.text
    assert _field(response) == "latents"


@pytest.mark.parametrize(("body", "used"), [
    ({"method": "tsne", "perplexity": 10, "seed": 2}, {"perplexity": 10, "seed": 2}),
    ({"method": "umap", "n_neighbors": 8, "min_dist": 0.2, "seed": 2}, {"n_neighbors": 8, "min_dist": 0.2, "seed": 2}),
])
def test_a_map_job_stores_the_layout_with_the_parameters_it_used(
        studio: dict[str, Any], analysed: dict[str, Any], body: dict[str, Any], used: dict[str, Any]) -> None:  # noqa: F811
    client, analysis_id, method = studio["client"], analysed["id"], body["method"]
    started = client.post(f"/api/v1/analyses/{analysis_id}/maps", json=body)
    assert started.status_code == 202, started.text
    job = wait_for_job(client, started.json()["data"]["job_id"], timeout=300)  # umap compiles (numba) on first use
    assert job["status"] == "completed", job
    stored = client.get(f"/api/v1/analyses/{analysis_id}/maps/{method}").json()["data"]
    assert stored["params"] == used and stored["method"] == method
    assert len(stored["x"]) == WIDTH and np.isfinite(stored["x"] + stored["y"]).all()
