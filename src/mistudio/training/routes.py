"""HTTP routes of the training domain: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from mistudio.envelopes import ERROR_RESPONSES, SAFE_INT, Accepted, Deleted, Item, Page, Pagination
from mistudio.platform.lifecycle import StatusName
from mistudio.platform.runtime import Runtime
from mistudio.training import saes, service
from mistudio.training.schemas import (
    CheckpointOut,
    MetricPoint,
    SAEImportIn,
    SAEOut,
    TrainIn,
    TrainingAccepted,
    TrainingEstimate,
    TrainingOut,
)

router = APIRouter(tags=["training"], responses=ERROR_RESPONSES)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.post("/trainings", status_code=202, response_model=Accepted[TrainingAccepted])
def start_training(request: Request, body: TrainIn) -> Accepted[TrainingAccepted]:
    """Queue a training of one SAE, or of several over one read of the activations (a sweep)."""
    return Accepted(data=service.start_training(_runtime(request), body))


@router.post("/trainings/estimate", response_model=Item[TrainingEstimate])
def estimate_training(request: Request, body: TrainIn) -> Item[TrainingEstimate]:
    """Memory and disk of the run (counted) and its time (a few real SAE steps timed in the model host)."""
    return Item(data=service.estimate(_runtime(request), body))


@router.get("/trainings", response_model=Page[TrainingOut])
def list_trainings(
    request: Request, model_id: str | None = None, status: StatusName | None = None,
    page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TrainingOut]:
    rows, total = service.list_trainings(_runtime(request), model_id=model_id, status=status, page=page, limit=limit)
    return Page(data=rows, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/trainings/{training_id}", response_model=Item[TrainingOut])
def get_training(request: Request, training_id: str) -> Item[TrainingOut]:
    return Item(data=service.get_training(_runtime(request), training_id))


@router.get("/trainings/{training_id}/metrics", response_model=Item[list[MetricPoint]])
def get_metrics(
    request: Request, training_id: str,
    member: Annotated[int | None, Query(ge=0, le=64, description="one SAE of a sweep")] = None,
    after_step: Annotated[int, Query(ge=-1, le=SAFE_INT, description="only steps after this one")] = -1,
    limit: Annotated[int, Query(ge=1, le=100_000, description="at most this many points, oldest first")] = 10_000,
) -> Item[list[MetricPoint]]:
    """Logged steps (loss and its parts, MSE, FVU, L0, dead and dense fractions, lr, tokens/s, memory), oldest first;
    the last step's also carry the hold-out evaluation. Page with `after_step`."""
    return Item(data=service.metrics(_runtime(request), training_id, member=member, after_step=after_step,
                                     limit=limit))


@router.get("/trainings/{training_id}/checkpoints", response_model=Item[list[CheckpointOut]])
def list_checkpoints(request: Request, training_id: str) -> Item[list[CheckpointOut]]:
    return Item(data=service.checkpoints(_runtime(request), training_id))


@router.delete("/trainings/{training_id}/checkpoints/{step}", response_model=Item[Deleted])
def delete_checkpoint(request: Request, training_id: str, step: Annotated[int, Path(ge=0, le=SAFE_INT)]) \
        -> Item[Deleted]:
    return Item(data=service.delete_checkpoint(_runtime(request), training_id, step))


@router.post("/trainings/{training_id}/pause", response_model=Item[TrainingOut])
def pause_training(request: Request, training_id: str) -> Item[TrainingOut]:
    """Stop after the current step with a checkpoint; resume continues exactly from there."""
    return Item(data=service.pause(_runtime(request), training_id))


@router.post("/trainings/{training_id}/stop", response_model=Item[TrainingOut])
def stop_training(request: Request, training_id: str) -> Item[TrainingOut]:
    """Finish early: the run ends after its current step and its SAEs are saved as they are then."""
    return Item(data=service.stop(_runtime(request), training_id))


@router.post("/trainings/{training_id}/resume", status_code=202, response_model=Accepted[TrainingAccepted])
def resume_training(request: Request, training_id: str) -> Accepted[TrainingAccepted]:
    """Continue a paused, interrupted or failed run from its newest checkpoint (409 for a completed one)."""
    return Accepted(data=service.resume(_runtime(request), training_id))


@router.delete("/trainings/{training_id}", response_model=Item[Deleted])
def delete_training(request: Request, training_id: str) -> Item[Deleted]:
    """Delete the run, its metrics and checkpoints (409 while it runs); its SAEs stay."""
    return Item(data=service.delete_training(_runtime(request), training_id))


@router.get("/saes", response_model=Page[SAEOut])
def list_saes(
    request: Request, model_id: str | None = None, training_id: str | None = None,
    page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[SAEOut]:
    rows, total = saes.list_saes(_runtime(request), model_id=model_id, training_id=training_id, page=page,
                                    limit=limit)
    return Page(data=rows, pagination=Pagination(page=page, limit=limit, total=total))


@router.post("/saes/import", status_code=201, response_model=Item[SAEOut])
def import_sae(request: Request, body: SAEImportIn) -> Item[SAEOut]:
    """Copy a SAELens or sparsify SAE folder into the studio (kept in the SAELens layout)."""
    return Item(data=saes.import_sae(_runtime(request), body))


@router.get("/saes/{sae_id}", response_model=Item[SAEOut])
def get_sae(request: Request, sae_id: str) -> Item[SAEOut]:
    return Item(data=saes.get_sae(_runtime(request), sae_id))


@router.delete("/saes/{sae_id}", response_model=Item[Deleted])
def delete_sae(request: Request, sae_id: str) -> Item[Deleted]:
    return Item(data=saes.delete_sae(_runtime(request), sae_id))
