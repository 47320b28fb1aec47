"""HTTP routes of steering: compare, sweep, directions (and control vectors), presets, history. No logic here."""

from __future__ import annotations

import shutil
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from mistudio.envelopes import ERROR_RESPONSES, SAFE_INT, Deleted, Item, Page, Pagination
from mistudio.platform.runtime import Runtime
from mistudio.steering import directions, presets, service
from mistudio.steering.schemas import (
    CompareIn,
    CompareOut,
    ControlVectorImportIn,
    DirectionIn,
    DirectionOut,
    ExperimentOut,
    PresetIn,
    PresetOut,
    StopOut,
    SweepIn,
    SweepOut,
)

router = APIRouter(prefix="/steering", tags=["steering"], responses=ERROR_RESPONSES)
PageNumber = Annotated[int, Query(ge=1, le=SAFE_INT)]
Limit = Annotated[int, Query(ge=1, le=200)]


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.post("/compare", response_model=Item[CompareOut])
def compare(request: Request, body: CompareIn) -> Item[CompareOut]:
    """Generate without and with the interventions (same prompt, same seed) in the model host and measure the
    difference. Tokens of both runs stream on `steering/{request_id}` (pick `request_id` and subscribe first);
    the answer comes when both are done, and the experiment is kept in the history."""
    return Item(data=service.compare(_runtime(request), body))


@router.post("/sweep", response_model=Item[SweepOut])
def sweep(request: Request, body: SweepIn) -> Item[SweepOut]:
    """One intervention at each strength of a grid, with a random direction of the same norm as the control."""
    return Item(data=service.sweep(_runtime(request), body))


@router.delete("/requests/{request_id}", response_model=Item[StopOut])
def stop_request(request: Request, request_id: str) -> Item[StopOut]:
    """Stop a running comparison or sweep at its next token; it answers with the texts so far
    (`finish_reason: stopped`), measured and kept like any other."""
    return Item(data=StopOut(request_id=request_id, stopping=service.stop_request(_runtime(request), request_id)))


@router.get("/experiments", response_model=Page[ExperimentOut])
def list_experiments(request: Request, model_id: str | None = None,
                     kind: Literal["compare", "sweep"] | None = None, page: PageNumber = 1,
                     limit: Limit = 50) -> Page[ExperimentOut]:
    rows, total = service.list_experiments(_runtime(request), model_id=model_id, kind=kind, page=page, limit=limit)
    return Page(data=rows, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/experiments/{experiment_id}", response_model=Item[ExperimentOut])
def get_experiment(request: Request, experiment_id: str) -> Item[ExperimentOut]:
    return Item(data=service.get_experiment(_runtime(request), experiment_id))


@router.delete("/experiments/{experiment_id}", response_model=Item[Deleted])
def delete_experiment(request: Request, experiment_id: str) -> Item[Deleted]:
    return Item(data=service.delete_experiment(_runtime(request), experiment_id))


@router.post("/directions", status_code=201, response_model=Item[DirectionOut])
def create_direction(request: Request, body: DirectionIn) -> Item[DirectionOut]:
    """A difference-of-means direction from contrastive prompt pairs, computed in the model host and stored."""
    return Item(data=directions.create_direction(_runtime(request), body))


@router.post("/directions/import", status_code=201, response_model=Item[list[DirectionOut]])
def import_control_vector(request: Request, body: ControlVectorImportIn) -> Item[list[DirectionOut]]:
    """Import a llama.cpp control-vector GGUF: one direction per layer (`blocks.N.resid_post`)."""
    return Item(data=directions.import_control_vector(_runtime(request), body))


@router.get("/directions", response_model=Page[DirectionOut])
def list_directions(request: Request, model_id: str | None = None, page: PageNumber = 1,
                    limit: Limit = 50) -> Page[DirectionOut]:
    rows, total = directions.list_directions(_runtime(request), model_id=model_id, page=page, limit=limit)
    return Page(data=rows, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/directions/{direction_id}", response_model=Item[DirectionOut])
def get_direction(request: Request, direction_id: str) -> Item[DirectionOut]:
    return Item(data=directions.get_direction(_runtime(request), direction_id))


@router.delete("/directions/{direction_id}", response_model=Item[Deleted])
def delete_direction(request: Request, direction_id: str) -> Item[Deleted]:
    return Item(data=directions.delete_direction(_runtime(request), direction_id))


@router.get("/directions/{direction_id}/control-vector", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}}})
def export_control_vector(request: Request, direction_id: str) -> FileResponse:
    """The direction as a llama.cpp control-vector GGUF (`--control-vector-scaled FILE SCALE`)."""
    path, filename = directions.export_control_vector(_runtime(request), direction_id)
    return FileResponse(path, media_type="application/octet-stream", filename=filename,
                        background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True))


@router.post("/presets", status_code=201, response_model=Item[PresetOut])
def create_preset(request: Request, body: PresetIn) -> Item[PresetOut]:
    return Item(data=presets.create_preset(_runtime(request), body))


@router.get("/presets", response_model=Page[PresetOut])
def list_presets(request: Request, page: PageNumber = 1, limit: Limit = 50) -> Page[PresetOut]:
    rows, total = presets.list_presets(_runtime(request), page=page, limit=limit)
    return Page(data=rows, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/presets/{preset_id}", response_model=Item[PresetOut])
def get_preset(request: Request, preset_id: str) -> Item[PresetOut]:
    return Item(data=presets.get_preset(_runtime(request), preset_id))


@router.delete("/presets/{preset_id}", response_model=Item[Deleted])
def delete_preset(request: Request, preset_id: str) -> Item[Deleted]:
    return Item(data=presets.delete_preset(_runtime(request), preset_id))
