"""Use cases of steering directions: made from contrastive prompt pairs in the model host, or imported from a
llama.cpp control vector; listed, deleted, and exported as a control vector.

A direction is one safetensors file (`lens.steer.save_direction`) at `Storage.direction_file(id)` and a row in
`steering_directions`. The files are read and written in the model host (they need torch and gguf), never here.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mistudio.envelopes import Deleted
from mistudio.errors import InvalidInput, NotFound
from mistudio.models import generate as generation
from mistudio.models import service as models
from mistudio.models.generate_schemas import GenerateIn
from mistudio.platform.db import new_id, newest_first_page, row_or_404, session_scope
from mistudio.platform.runtime import Runtime
from mistudio.steering.schemas import (
    DIRECTION_HANDLER,
    EXPORT_HANDLER,
    IMPORT_HANDLER,
    ControlVectorImportIn,
    DirectionIn,
    DirectionOut,
)
from mistudio.steering.tables import SteeringDirection


def _scratch(runtime: Runtime) -> Path:
    """A fresh folder for files on their way in or out (named by a new id, never by user text)."""
    folder = runtime.storage.home / "steering" / "scratch" / new_id()
    folder.mkdir(parents=True)
    return folder


def _check_pairs(body: DirectionIn) -> None:
    for field in ("positive", "negative"):
        for index, prompt in enumerate(getattr(body, field)):
            if not prompt.strip():
                raise InvalidInput(f"{field} prompt {index} is empty", details={"field": field, "index": index})
    if len(body.positive) != len(body.negative):
        raise InvalidInput(f"contrastive prompts come in pairs: {len(body.positive)} positive but "
                           f"{len(body.negative)} negative", details={"field": "negative"})


def create_direction(runtime: Runtime, body: DirectionIn) -> DirectionOut:
    """mean(positive) − mean(negative) at the hook point, computed in the model host and stored."""
    _check_pairs(body)
    model = models.get_model(runtime, body.model_id)
    _, payload = generation.plan(runtime, body.model_id, GenerateIn(
        prompt=body.positive[0], use_chat_template=body.use_chat_template, format=body.format))
    direction_id = new_id()
    path = runtime.storage.direction_file(direction_id)
    try:
        result = runtime.host.call(DIRECTION_HANDLER, {
            "model": payload["model"], "hook_point": body.hook_point, "positive": body.positive,
            "negative": body.negative, "reduce": body.reduce, "use_chat_template": body.use_chat_template,
            "name": body.name, "path": str(path)}, what=f"computing direction {body.name!r} on {model.name!r}")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    details = {"method": "difference_of_means", "reduce": body.reduce, "positive": body.positive,
               "negative": body.negative, "use_chat_template": body.use_chat_template,
               "model_hint": model.model_type or model.family or ""}
    with session_scope(runtime.sessions) as session:
        row = SteeringDirection(id=direction_id, name=body.name, origin="contrastive", model_id=model.id,
                                hook_point=body.hook_point, d_model=result["d_model"], norm=result["norm"],
                                pairs=len(body.positive), details=details, size_bytes=path.stat().st_size)
        session.add(row)
        session.flush()
        return DirectionOut.model_validate(row)


def _direction(session: Any, direction_id: str) -> SteeringDirection:
    return row_or_404(session, SteeringDirection, direction_id, "direction")


def get_direction(runtime: Runtime, direction_id: str) -> DirectionOut:
    with session_scope(runtime.sessions) as session:
        return DirectionOut.model_validate(_direction(session, direction_id))


def list_directions(runtime: Runtime, *, model_id: str | None = None, page: int = 1, limit: int = 50
                    ) -> tuple[list[DirectionOut], int]:
    query = select(SteeringDirection)
    if model_id:
        query = query.where(SteeringDirection.model_id == model_id)
    with session_scope(runtime.sessions) as session:
        rows, total = newest_first_page(session, query, SteeringDirection, page, limit)
        return [DirectionOut.model_validate(row) for row in rows], total


def delete_direction(runtime: Runtime, direction_id: str) -> Deleted:
    with session_scope(runtime.sessions) as session:
        session.delete(_direction(session, direction_id))
    path = runtime.storage.direction_file(direction_id)
    freed = path.stat().st_size if path.is_file() else 0
    path.unlink(missing_ok=True)
    return Deleted(id=direction_id, bytes_freed=freed)


def export_control_vector(runtime: Runtime, direction_id: str) -> tuple[Path, str]:
    """The direction as a llama.cpp control-vector GGUF in a scratch folder (the caller deletes the folder), and
    the file name to offer. Refused (naming hook_point) where llama.cpp has no layer to add it to."""
    direction = get_direction(runtime, direction_id)
    num_layers = None
    hint = str(direction.details.get("model_hint") or "")
    if direction.model_id is not None:
        try:
            model = models.get_model(runtime, direction.model_id)
        except NotFound:
            model = None
        if model is not None:
            num_layers = model.num_layers
            hint = hint or model.model_type or model.family or ""
    if not hint:
        raise InvalidInput(f"direction {direction.name!r} does not say which model family it is for, and a control "
                           "vector must (controlvector.model_hint)", details={"field": "model_id"})
    out = _scratch(runtime) / f"{direction_id}.gguf"
    try:
        runtime.host.call(EXPORT_HANDLER, {"path": str(runtime.storage.direction_file(direction_id)),
                                           "out": str(out), "model_hint": hint, "num_layers": num_layers},
                          what=f"exporting direction {direction.name!r}")
    except BaseException:
        shutil.rmtree(out.parent, ignore_errors=True)
        raise
    return out, f"{_file_name(direction.name)}.gguf"


def _file_name(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return safe[:100] or "direction"


def import_control_vector(runtime: Runtime, body: ControlVectorImportIn) -> list[DirectionOut]:
    """Read a control-vector GGUF on this machine: one stored direction per layer it steers."""
    path = Path(body.path)
    if not path.is_absolute():
        raise InvalidInput(f"path {body.path!r} must be absolute", details={"field": "path"})
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file", details={"field": "path"})
    num_layers = d_model = None
    if body.model_id is not None:
        model = models.get_model(runtime, body.model_id)
        num_layers, d_model = model.num_layers, model.hidden_size
    name = body.name or path.stem
    staging = _scratch(runtime)
    try:
        result = runtime.host.call(IMPORT_HANDLER, {"path": str(path), "staging": str(staging), "name": name,
                                                    "num_layers": num_layers, "d_model": d_model},
                                   what=f"importing control vector {path.name}")
        imported = []
        with session_scope(runtime.sessions) as session:
            for item in result["directions"]:
                direction_id = new_id()
                target = runtime.storage.direction_file(direction_id)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(item["file"], target)
                several = len(result["directions"]) > 1
                row = SteeringDirection(id=direction_id, name=f"{name} {item['hook_point']}" if several else name,
                                        origin="control_vector", model_id=body.model_id,
                                        hook_point=item["hook_point"], d_model=item["d_model"], norm=item["norm"],
                                        pairs=None, size_bytes=target.stat().st_size,
                                        details={"source_path": str(path), "model_hint": result["model_hint"] or ""})
                session.add(row)
                session.flush()
                imported.append(DirectionOut.model_validate(row))
        return imported
    finally:
        shutil.rmtree(staging, ignore_errors=True)
