"""Steering presets: named sets of interventions, saved, listed, deleted, and carried in the templates file.

The templates domain owns the export file (`{"version": "1.0", …, "steering_presets": [...]}`) and its all-or-none
import; it reaches presets only through the functions here (a domain never touches another's tables).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mistudio.envelopes import Deleted
from mistudio.errors import Conflict, InvalidInput, NotFound
from mistudio.platform.db import newest_first_page, row_or_404, session_scope
from mistudio.platform.runtime import Runtime
from mistudio.steering.interventions import resolve_intervention
from mistudio.steering.schemas import PresetIn, PresetOut
from mistudio.steering.tables import SteeringPreset


def _preset(session: Session, preset_id: str) -> SteeringPreset:
    return row_or_404(session, SteeringPreset, preset_id, "steering preset")


def check_preset(runtime: Runtime, body: PresetIn) -> None:
    """What a preset must satisfy without a model: finite strengths, and SAEs, features and directions that exist
    here. A missing SAE or direction is a refusal naming the intervention (not a 404: the body is what is wrong)."""
    for index, item in enumerate(body.interventions):
        try:
            resolve_intervention(runtime, item, None, index)
        except NotFound as exc:
            field = f"interventions[{index}].{'sae_id' if item.sae_id is not None else 'direction_id'}"
            raise InvalidInput(f"intervention {index}: {exc.message}; import or train it here first",
                               details={"field": field}) from exc


def create_preset(runtime: Runtime, body: PresetIn) -> PresetOut:
    """Save a named set of interventions (checked now without a model, and against the model when used)."""
    check_preset(runtime, body)
    try:
        with session_scope(runtime.sessions) as session:
            return add_presets(session, [(body.name, body)])[0]
    except IntegrityError:
        raise Conflict(f"a preset named {body.name!r} exists; choose another name or delete it first",
                       details={"field": "name"}) from None


def get_preset(runtime: Runtime, preset_id: str) -> PresetOut:
    with session_scope(runtime.sessions) as session:
        return PresetOut.model_validate(_preset(session, preset_id))


def list_presets(runtime: Runtime, *, page: int = 1, limit: int = 50) -> tuple[list[PresetOut], int]:
    with session_scope(runtime.sessions) as session:
        rows, total = newest_first_page(session, select(SteeringPreset), SteeringPreset, page, limit)
        return [PresetOut.model_validate(row) for row in rows], total


def delete_preset(runtime: Runtime, preset_id: str) -> Deleted:
    with session_scope(runtime.sessions) as session:
        session.delete(_preset(session, preset_id))
    return Deleted(id=preset_id, bytes_freed=0)


# --- the templates file -------------------------------------------------------------------------------------
def exported_presets(runtime: Runtime) -> list[dict[str, Any]]:
    """Every preset as the body that would create it again, oldest first (no ids, no timestamps)."""
    with session_scope(runtime.sessions) as session:
        rows = session.scalars(select(SteeringPreset).order_by(SteeringPreset.created_at, SteeringPreset.id))
        return [PresetIn.model_validate(row, from_attributes=True).model_dump(mode="json") for row in rows]


def preset_names(runtime: Runtime) -> set[str]:
    with session_scope(runtime.sessions) as session:
        return set(session.scalars(select(SteeringPreset.name)))


def add_presets(session: Session, named: list[tuple[str, PresetIn]]) -> list[PresetOut]:
    """Add checked presets under the given (free) names to the caller's transaction: the templates import stores a
    file's templates and presets all or none."""
    rows = [SteeringPreset(name=name, description=body.description,
                           interventions=[item.model_dump(mode="json") for item in body.interventions])
            for name, body in named]
    session.add_all(rows)
    session.flush()
    return [PresetOut.model_validate(row) for row in rows]
