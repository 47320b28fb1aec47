"""Use cases of feature maps: queue a 2-D layout of an analysis' decoder directions, read it back with the colouring
columns of the browser's table, and the correlation heatmap of chosen latents from the analysis' store.

A map is one file, features/{analysis_id}/map_{method}.npz (x, y and the parameters), renamed into place when
complete: its presence says "done", so no table or migration is needed; computing again replaces it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sqlalchemy import select

from mistudio.errors import InvalidInput, NotFound
from mistudio.features import service
from mistudio.features.browser import _check_latent, _completed
from mistudio.features.maps_schemas import MAX_HEATMAP_LATENTS, CorrelationsOut, MapAccepted, MapIn, MapOut
from mistudio.features.tables import Feature, FeatureAnalysis
from mistudio.platform.db import session_scope
from mistudio.platform.runtime import Runtime
from mistudio.platform.storage import Storage

MAP_KIND = "features.map"
USED_PARAMS = {"pca": (), "umap": ("n_neighbors", "min_dist", "seed"), "tsne": ("perplexity", "seed")}


def map_path(storage: Storage, analysis_id: str, method: str) -> Path:
    if method not in USED_PARAMS:  # the method names a file: only known names reach the path
        raise InvalidInput(f"method must be one of {', '.join(USED_PARAMS)}; got {method!r}",
                           details={"field": "method"})
    return storage.features_dir(analysis_id) / f"map_{method}.npz"


def start_map(runtime: Runtime, analysis_id: str, body: MapIn) -> MapAccepted:
    """Check the parameters against the SAE's width and queue the layout job."""
    from mistudio.lens.features.maps import MapParams, check_params

    with session_scope(runtime.sessions) as session:
        row = _completed(session, analysis_id)
        width, sae_id = row.width, row.sae_id
    check_params(body.method, width, MapParams(n_neighbors=body.n_neighbors, min_dist=body.min_dist,
                                               perplexity=body.perplexity, seed=body.seed))
    job = runtime.runner.submit(MAP_KIND, {"analysis_id": analysis_id, **body.model_dump()},
                                reads=[(FeatureAnalysis.resource, analysis_id), (service.SAE_RESOURCE, sae_id)])
    return MapAccepted(analysis_id=analysis_id, method=body.method, job_id=job.id)


def get_map(runtime: Runtime, analysis_id: str, method: str) -> MapOut:
    """The stored layout with, per latent, what the map colours by (frequency, label, label score, dead)."""
    path = map_path(runtime.storage, analysis_id, method)
    with session_scope(runtime.sessions) as session:
        row = _completed(session, analysis_id)
        columns = session.execute(select(Feature.frequency, Feature.label, Feature.label_score, Feature.dead)
                                  .where(Feature.analysis_id == analysis_id).order_by(Feature.latent)).all()
    if not path.is_file():
        raise NotFound(f"no {method} map of analysis {analysis_id!r} yet: compute it with POST "
                       f"/api/v1/analyses/{analysis_id}/maps {{\"method\": \"{method}\"}}",
                       details={"field": "method", "method": method})
    with np.load(path, allow_pickle=False) as stored:
        x, y, params = stored["x"], stored["y"], json.loads(str(stored["params"]))
    frequency, label, label_score, dead = (list(column) for column in zip(*columns, strict=True)) if columns \
        else ([], [], [], [])
    return MapOut(analysis_id=analysis_id, method=method, params=params, width=row.width, x=x.tolist(),  # type: ignore[arg-type]
                  y=y.tolist(), frequency=frequency, label=label, label_score=label_score, dead=dead)


def parse_latents(text: str) -> list[int]:
    """'1,5,9' → [1, 5, 9] (order kept, repeats dropped); 400 naming `latents` otherwise."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise InvalidInput(f"latents must be latent indices separated by commas, e.g. 1,5,9; got {text!r}",
                           details={"field": "latents"})
    latents = list(dict.fromkeys(int(part) for part in parts))
    if len(latents) > MAX_HEATMAP_LATENTS:
        raise InvalidInput(f"latents: at most {MAX_HEATMAP_LATENTS} latents in a heatmap; got {len(latents)}",
                           details={"field": "latents", "max": MAX_HEATMAP_LATENTS})
    return latents


def _row_correlations(folder: Path, latents: list[int]) -> tuple[np.ndarray, np.ndarray] | None:
    """The stored top correlations of each chosen latent: (indices, values) [len(latents), kept], or None."""
    from safetensors import safe_open

    with safe_open(str(folder / "latents.safetensors"), framework="np") as arrays:
        if "correlations.indices" not in arrays.keys():  # noqa: SIM118 — safe_open is no dict
            return None
        indices, values = arrays.get_slice("correlations.indices"), arrays.get_slice("correlations.values")
        return (np.stack([indices[latent] for latent in latents]),  # slices: other latents' rows are not read
                np.stack([values[latent] for latent in latents]))


def correlations(runtime: Runtime, analysis_id: str, latents: list[int]) -> CorrelationsOut:
    """The chosen latents' correlation matrix: stored values (symmetric), 1 on the diagonal of live latents."""
    with session_scope(runtime.sessions) as session:
        row = _completed(session, analysis_id)
        for latent in latents:
            _check_latent(row, latent, "latents")
        dead = dict(session.execute(select(Feature.latent, Feature.dead).where(
            Feature.analysis_id == analysis_id, Feature.latent.in_(latents))).all())
    size = len(latents)
    matrix: list[list[float | None]] = [[None] * size for _ in range(size)]
    for a, latent in enumerate(latents):
        matrix[a][a] = None if dead.get(latent, True) else 1.0
    stored = _row_correlations(runtime.storage.features_dir(analysis_id), latents)
    if stored is None:
        return CorrelationsOut(latents=latents, matrix=matrix, kept_per_latent=0)
    indices, values = stored
    place = {latent: a for a, latent in enumerate(latents)}
    for a in range(size):
        for partner, value in zip(indices[a].tolist(), values[a].tolist(), strict=True):
            b = place.get(partner)
            if b is not None and b != a and partner >= 0 and np.isfinite(value):
                # Pearson correlation is symmetric: either latent's stored value fills both cells.
                matrix[a][b] = matrix[b][a] = float(value)
    return CorrelationsOut(latents=latents, matrix=matrix, kept_per_latent=int(indices.shape[1]))
