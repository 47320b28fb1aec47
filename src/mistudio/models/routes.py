"""HTTP routes of the models domain: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from mistudio.envelopes import ERROR_RESPONSES, SAFE_INT, Accepted, Item, Page, Pagination
from mistudio.models import service
from mistudio.models.schemas import (
    MAX_BUDGET_GB,
    ArchitectureOut,
    CompareOut,
    DeleteOut,
    DownloadIn,
    FormatsOut,
    ImportIn,
    ModelAccepted,
    ModelFormat,
    ModelOut,
    ModelPatch,
    PreviewIn,
    PreviewOut,
    QuantizeIn,
    RetryIn,
    VariantAccepted,
)
from mistudio.platform.lifecycle import StatusName
from mistudio.platform.runtime import Runtime

router = APIRouter(prefix="/models", tags=["models"], responses=ERROR_RESPONSES)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.post("/preview", response_model=Item[PreviewOut])
async def preview_model(request: Request, body: PreviewIn) -> Item[PreviewOut]:
    """What a hub repo holds and what it would need, before anything is downloaded."""
    return Item(data=await run_in_threadpool(service.preview, _runtime(request), body))


@router.post("/download", status_code=202, response_model=Accepted[ModelAccepted])
def download_model(request: Request, body: DownloadIn) -> Accepted[ModelAccepted]:
    return Accepted(data=service.start_download(_runtime(request), body))


@router.post("/import", status_code=202, response_model=Accepted[ModelAccepted])
def import_model(request: Request, body: ImportIn) -> Accepted[ModelAccepted]:
    return Accepted(data=service.start_import(_runtime(request), body))


@router.get("", response_model=Page[ModelOut])
def list_models(
    request: Request,
    status: StatusName | None = None,
    ready: Annotated[bool | None, Query(description="true: only usable models (completed and compatible)")] = None,
    family: str | None = None,
    format: Annotated[ModelFormat | None, Query(description="models with a ready variant of this format")] = None,
    search: Annotated[str | None, Query(max_length=200, description="in name and repo id")] = None,
    page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ModelOut]:
    models, total = service.list_models(
        _runtime(request), status=status, ready=ready, family=family, fmt=format, search=search, page=page,
        limit=limit,
    )
    return Page(data=models, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/compare", response_model=Item[CompareOut])
def compare_models(request: Request, a: str, b: str) -> Item[CompareOut]:
    return Item(data=service.compare(_runtime(request), a, b))


@router.get("/{model_id}", response_model=Item[ModelOut])
def get_model(request: Request, model_id: str) -> Item[ModelOut]:
    return Item(data=service.get_model(_runtime(request), model_id))


@router.patch("/{model_id}", response_model=Item[ModelOut])
def update_model(request: Request, model_id: str, body: ModelPatch) -> Item[ModelOut]:
    return Item(data=service.update_model(_runtime(request), model_id, body))


@router.delete("/{model_id}", response_model=Item[DeleteOut])
def delete_model(request: Request, model_id: str) -> Item[DeleteOut]:
    return Item(data=service.delete_model(_runtime(request), model_id))


@router.delete("/{model_id}/download", response_model=Item[ModelOut])
def cancel_download(request: Request, model_id: str) -> Item[ModelOut]:
    """Stop a download (or import); its partial files are removed."""
    return Item(data=service.cancel_download(_runtime(request), model_id))


@router.post("/{model_id}/retry", status_code=202, response_model=Accepted[ModelAccepted])
def retry_model(request: Request, model_id: str, body: RetryIn | None = None) -> Accepted[ModelAccepted]:
    """Start an interrupted, failed or cancelled download again; verified files are kept, not re-fetched."""
    return Accepted(data=service.retry(_runtime(request), model_id, token=body.token if body else None))


@router.get("/{model_id}/architecture", response_model=Item[ArchitectureOut])
def get_architecture(request: Request, model_id: str) -> Item[ArchitectureOut]:
    """Served from stored metadata; no weights are loaded."""
    return Item(data=service.get_architecture(_runtime(request), model_id))


@router.get("/{model_id}/formats", response_model=Item[FormatsOut])
def get_formats(request: Request, model_id: str, device: str | None = None,
                budget_gb: Annotated[float | None, Query(gt=0, le=MAX_BUDGET_GB, allow_inf_nan=False)] = None
                ) -> Item[FormatsOut]:
    """Memory per format for this model, with availability on the device and the fit for the budget."""
    return Item(data=service.formats_for_model(_runtime(request), model_id, device=device, budget_gb=budget_gb))


@router.post("/{model_id}/variants", status_code=202, response_model=Accepted[VariantAccepted])
def quantize_model(request: Request, model_id: str, body: QuantizeIn) -> Accepted[VariantAccepted]:
    """Load (quantize) the model in another format as a variant of the same model; raw files are reused."""
    return Accepted(data=service.start_quantize(_runtime(request), model_id, body))


@router.delete("/{model_id}/variants/{variant_id}", response_model=Item[DeleteOut])
def delete_variant(request: Request, model_id: str, variant_id: str) -> Item[DeleteOut]:
    return Item(data=service.delete_variant(_runtime(request), model_id, variant_id))
