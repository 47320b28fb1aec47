"""HTTP routes of the extraction domain: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mistudio.envelopes import ERROR_RESPONSES, SAFE_INT, Accepted, Deleted, Item, Page, Pagination
from mistudio.extraction import service
from mistudio.extraction.schemas import (
    EstimateOut,
    ExtractIn,
    ExtractionAccepted,
    ExtractionOut,
    HookStatistics,
)
from mistudio.platform.lifecycle import StatusName
from mistudio.platform.runtime import Runtime

router = APIRouter(tags=["extraction"], responses=ERROR_RESPONSES)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.post("/models/{model_id}/extract/estimate", response_model=Item[EstimateOut])
def estimate_extraction(
    request: Request, model_id: str, body: ExtractIn,
    calibrate: Annotated[bool, Query(description="measure a calibration batch for the time estimate")] = True,
) -> Item[EstimateOut]:
    """Storage, peak memory and time (from a measured calibration batch, cached per model/format/device)."""
    return Item(data=service.estimate(_runtime(request), model_id, body, calibrate=calibrate))


@router.post("/models/{model_id}/extract", status_code=202, response_model=Accepted[ExtractionAccepted])
def start_extraction(request: Request, model_id: str, body: ExtractIn) -> Accepted[ExtractionAccepted]:
    """Queue an extraction (409 while another one runs on this model; 400 when it cannot fit on disk)."""
    return Accepted(data=service.start_extraction(_runtime(request), model_id, body))


@router.get("/models/{model_id}/extractions", response_model=Page[ExtractionOut])
def list_model_extractions(
    request: Request, model_id: str,
    page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ExtractionOut]:
    """The model's extraction history, newest first."""
    rows, total = service.list_model_extractions(_runtime(request), model_id, page=page, limit=limit)
    return Page(data=rows, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/extractions", response_model=Page[ExtractionOut])
def list_extractions(
    request: Request,
    model_id: str | None = None,
    status: StatusName | None = None,
    page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ExtractionOut]:
    rows, total = service.list_extractions(_runtime(request), model_id=model_id, status=status, page=page,
                                           limit=limit)
    return Page(data=rows, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/extractions/{extraction_id}", response_model=Item[ExtractionOut])
def get_extraction(request: Request, extraction_id: str) -> Item[ExtractionOut]:
    return Item(data=service.get_extraction(_runtime(request), extraction_id))


@router.get("/extractions/{extraction_id}/statistics", response_model=Item[dict[str, HookStatistics]])
def get_statistics(request: Request, extraction_id: str) -> Item[dict[str, HookStatistics]]:
    """Per hook point: mean norm, max |x|, sparsity, histogram and per-dimension mean and variance."""
    return Item(data=service.get_statistics(_runtime(request), extraction_id))


@router.post("/extractions/{extraction_id}/cancel", response_model=Item[ExtractionOut])
def cancel_extraction(request: Request, extraction_id: str) -> Item[ExtractionOut]:
    """Stop it; completed batches are kept and it can be resumed."""
    return Item(data=service.cancel(_runtime(request), extraction_id))


@router.post("/extractions/{extraction_id}/resume", status_code=202, response_model=Accepted[ExtractionAccepted])
def resume_extraction(request: Request, extraction_id: str) -> Accepted[ExtractionAccepted]:
    """Continue a cancelled, interrupted or failed extraction from its last completed batch."""
    return Accepted(data=service.resume(_runtime(request), extraction_id))


@router.delete("/extractions/{extraction_id}", response_model=Item[Deleted])
def delete_extraction(request: Request, extraction_id: str) -> Item[Deleted]:
    """Delete the activations and the record (409 while it runs or a training uses it); says the bytes freed."""
    return Item(data=service.delete_extraction(_runtime(request), extraction_id))
