"""HTTP routes of the features domain: parse, call the service, return a schema."""

from __future__ import annotations

import shutil
from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from mistudio.envelopes import ERROR_RESPONSES, SAFE_INT, Accepted, Deleted, Item, Page, Pagination
from mistudio.features import browser, export, export_import, maps_service, probe, service
from mistudio.features.export_schemas import LabelsImported
from mistudio.features.labels_schemas import LabelIn, LabelJobAccepted
from mistudio.features.maps_schemas import (
    MAX_HEATMAP_LATENTS,
    CorrelationsOut,
    MapAccepted,
    MapIn,
    MapMethodName,
    MapOut,
)
from mistudio.features.probe_schemas import ProbeIn, ProbeOut
from mistudio.features.schemas import (
    AnalysisAccepted,
    AnalysisOut,
    AnalyzeIn,
    FeatureDetail,
    FeatureOut,
    FeatureUpdate,
    SortField,
)
from mistudio.platform.runtime import Runtime

router = APIRouter(tags=["features"], responses=ERROR_RESPONSES)
Latent = Annotated[int, Path(ge=0, le=SAFE_INT, description="the latent's index")]


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.post("/saes/{sae_id}/analyses", status_code=202, response_model=Accepted[AnalysisAccepted])
def start_analysis(request: Request, sae_id: str, body: AnalyzeIn) -> Accepted[AnalysisAccepted]:
    """Queue an analysis of the SAE's latents (default: over its training's hold-out sequences)."""
    return Accepted(data=service.start_analysis(_runtime(request), sae_id, body))


@router.get("/saes/{sae_id}/analyses", response_model=Page[AnalysisOut])
def list_analyses(
    request: Request, sae_id: str,
    page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[AnalysisOut]:
    """The SAE's analyses, newest first."""
    rows, total = service.list_analyses(_runtime(request), sae_id, page=page, limit=limit)
    return Page(data=rows, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/analyses/{analysis_id}", response_model=Item[AnalysisOut])
def get_analysis(request: Request, analysis_id: str) -> Item[AnalysisOut]:
    return Item(data=service.get_analysis(_runtime(request), analysis_id))


@router.post("/analyses/{analysis_id}/pause", response_model=Item[AnalysisOut])
def pause_analysis(request: Request, analysis_id: str) -> Item[AnalysisOut]:
    """Stop it; its state is saved and it can be resumed."""
    return Item(data=service.pause(_runtime(request), analysis_id))


@router.post("/analyses/{analysis_id}/resume", status_code=202, response_model=Accepted[AnalysisAccepted])
def resume_analysis(request: Request, analysis_id: str) -> Accepted[AnalysisAccepted]:
    """Continue a paused, interrupted or failed analysis from its saved state."""
    return Accepted(data=service.resume(_runtime(request), analysis_id))


@router.delete("/analyses/{analysis_id}", response_model=Item[Deleted])
def delete_analysis(request: Request, analysis_id: str) -> Item[Deleted]:
    """Delete the analysis, its latents' rows and its files (409 while it runs); says the bytes freed."""
    return Item(data=service.delete_analysis(_runtime(request), analysis_id))


@router.get("/analyses/{analysis_id}/features", response_model=Page[FeatureOut])
def list_features(
    request: Request, analysis_id: str,
    sort: SortField = "index",
    order: Literal["asc", "desc"] | None = Query(default=None, description="unset: desc for statistics, asc for "
                                                 "the index"),
    dead: bool | None = None,
    dense: bool | None = Query(default=None, description=f"fires on ≥ {browser.DENSE_FREQUENCY:g} of the tokens"),
    min_frequency: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_frequency: Annotated[float | None, Query(ge=0, le=1)] = None,
    labelled: bool | None = None,
    favourite: bool | None = None,
    search: Annotated[str | None, Query(max_length=200, description="text in the label")] = None,
    token: Annotated[str | None, Query(max_length=64, description="latents whose top examples peak on this "
                                       "token or whose logit lens promotes it (case- and space-insensitive)")] = None,
    latent: Annotated[int | None, Query(ge=0, le=SAFE_INT, description="just this index")] = None,
    page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[FeatureOut]:
    """The analysis' latents: sorted, filtered and searched (by label, by token or by index)."""
    query = browser.FeatureQuery(sort=sort, descending=None if order is None else order == "desc", dead=dead,
                                 dense=dense, min_frequency=min_frequency, max_frequency=max_frequency,
                                 labelled=labelled, favourite=favourite, search=search, token=token, latent=latent)
    rows, total = browser.list_features(_runtime(request), analysis_id, query, page=page, limit=limit)
    return Page(data=rows, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/analyses/{analysis_id}/features/{latent}", response_model=Item[FeatureDetail])
def get_feature(request: Request, analysis_id: str, latent: Latent) -> Item[FeatureDetail]:
    """One latent: statistics, histogram, examples with per-token activations, logit lens, neighbours,
    correlations and the ablation effect when computed."""
    return Item(data=browser.feature_detail(_runtime(request), analysis_id, latent))


@router.patch("/analyses/{analysis_id}/features/{latent}", response_model=Item[FeatureOut])
def update_feature(request: Request, analysis_id: str, latent: Latent, body: FeatureUpdate) -> Item[FeatureOut]:
    """Edit a latent's label (it becomes a user label), favourite flag or notes."""
    return Item(data=browser.update_feature(_runtime(request), analysis_id, latent, body))


# --- exports, label import, your own text (features.export*, features.probe*) ------------------------------
@router.get("/analyses/{analysis_id}/export", response_class=FileResponse,
            responses={200: {"content": {media: {} for media in export.MEDIA_TYPES.values()}}})
def export_analysis(
    request: Request, analysis_id: str,
    format: Annotated[export.ExportFormat, Query(description="csv or parquet: the feature table (the list API's "
                                                 "columns); neuronpedia: a zip of Neuronpedia's import layout")],
    model_id: Annotated[str | None, Query(max_length=128, description="neuronpedia: their model id (default: the "
                                          "model's name)")] = None,
    source_set: Annotated[str | None, Query(max_length=128, description="neuronpedia: the source set name, without "
                                            "the layer")] = None,
    creator_id: Annotated[str | None, Query(max_length=128, description="neuronpedia: your Neuronpedia user id "
                                            "(the upload checks it)")] = None,
) -> FileResponse:
    """Download the analysis as CSV, Parquet or a Neuronpedia upload (features, activations, explanations)."""
    options = {name: value for name, value in (("model_id", model_id), ("source_set", source_set),
                                               ("creator_id", creator_id)) if value is not None}
    path = export.export_to_scratch(_runtime(request), analysis_id, format, **options)
    return FileResponse(path, media_type=export.MEDIA_TYPES[format], filename=path.name,
                        background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True))


@router.post("/analyses/{analysis_id}/labels/import", response_model=Item[LabelsImported])
def import_labels(request: Request, analysis_id: str,
                  file: Annotated[UploadFile, File(description="our feature-table CSV, or Neuronpedia explanations "
                                                   "(.jsonl or .jsonl.gz)")]) -> Item[LabelsImported]:
    """Set labels from a file, as `imported` labels; the whole file is checked before any label is written."""
    content = file.file.read(export_import.MAX_IMPORT_BYTES + 1)
    return Item(data=export_import.import_labels(_runtime(request), analysis_id, content))


@router.post("/analyses/{analysis_id}/probe", response_model=Item[ProbeOut])
def probe_text(request: Request, analysis_id: str, body: ProbeIn) -> Item[ProbeOut]:
    """Your own text through the model host: a latent's activation on every token and the text's top latents."""
    return Item(data=probe.probe(_runtime(request), analysis_id, body))


@router.post("/analyses/{analysis_id}/labels", status_code=202, response_model=Accepted[LabelJobAccepted])
def start_labelling(request: Request, analysis_id: str, body: LabelIn) -> Accepted[LabelJobAccepted]:
    """Queue a job that labels the top N latents (or the ones given) with an LLM and scores each label
    (detection and fuzzing, balanced accuracy); follow and cancel it as a job."""
    from mistudio.features import labels_service

    return Accepted(data=labels_service.start_labelling(_runtime(request), analysis_id, body))


# --- maps of decoder directions and the correlation heatmap (features.maps_service) -------------------------
@router.post("/analyses/{analysis_id}/maps", status_code=202, response_model=Accepted[MapAccepted])
def start_map(request: Request, analysis_id: str, body: MapIn) -> Accepted[MapAccepted]:
    """Queue a 2-D layout of the SAE's decoder directions (pca, umap or tsne); follow it as a job."""
    return Accepted(data=maps_service.start_map(_runtime(request), analysis_id, body))


@router.get("/analyses/{analysis_id}/maps/{method}", response_model=Item[MapOut])
def get_map(request: Request, analysis_id: str, method: MapMethodName) -> Item[MapOut]:
    """A computed map as columns (entry i is latent i): x, y and what to colour by; 404 until computed."""
    return Item(data=maps_service.get_map(_runtime(request), analysis_id, method))


@router.get("/analyses/{analysis_id}/correlations", response_model=Item[CorrelationsOut])
def get_correlations(
    request: Request, analysis_id: str,
    latents: Annotated[str, Query(max_length=1000, description=f"up to {MAX_HEATMAP_LATENTS} latent indices, comma-"
                                  "separated: 1,5,9")],
) -> Item[CorrelationsOut]:
    """The chosen latents' correlation matrix from the analysis' stored top correlations (null: not stored)."""
    return Item(data=maps_service.correlations(_runtime(request), analysis_id, maps_service.parse_latents(latents)))
