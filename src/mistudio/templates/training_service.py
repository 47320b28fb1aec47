"""Use cases of training templates: saved SAE training settings (the SAEs of a sweep and what they share).

A training template names no extraction, stream, model or device, so one template serves any run; what depends on
the activations (k against a width given as an expansion of d_in, batch_tokens against the data) is checked when
the run is planned. Its settings are TrainIn's own fields (`schemas.TRAINING_SETTINGS`), so a template accepts what
a run accepts, plus the rules here that need no model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

from mistudio.errors import InvalidInput
from mistudio.extraction.schemas import HookType
from mistudio.platform.db import session_scope
from mistudio.platform.runtime import Runtime
from mistudio.templates import store
from mistudio.templates.schemas import (
    TRAINING_SETTINGS,
    DeleteOut,
    TrainingTemplateIn,
    TrainingTemplateOut,
    TrainingTemplatePatch,
)
from mistudio.templates.store import NAME_MAX
from mistudio.templates.tables import TrainingTemplate
from mistudio.training.schemas import MAX_SWEEP, Architecture, SAESpec

K_FAMILY = ("topk", "batchtopk", "matryoshka")  # architectures that keep the k largest latents per token
NULLABLE = ("description", "hook_type", "layer", "total_tokens", "steps", "checkpoint_every")
ALLOWED: dict[str, Any] = {
    "name": f"1 to {NAME_MAX} characters, unique among training templates",
    "description": "up to 500 characters",
    "hook_type": list(get_args(HookType)),
    "layer": "a layer index >= 0, or null to choose it when the run starts",
    "saes": f"1 to {MAX_SWEEP} SAEs, each with an architecture of {', '.join(get_args(Architecture))}",
}


# --- validation -------------------------------------------------------------------------------------------
def _check_sae(index: int, spec: SAESpec) -> None:
    field = f"saes[{index}]"
    if spec.width is None and spec.expansion_factor is None:
        raise InvalidInput(f"{field}.width: give the SAE's width or its expansion factor",
                           details={"field": f"{field}.width"})
    if spec.architecture in K_FAMILY:
        if spec.k is None:
            raise InvalidInput(f"{field}.k: a {spec.architecture} SAE needs k, the active latents per token",
                               details={"field": f"{field}.k"})
        if spec.width is not None and spec.k > spec.width:
            raise InvalidInput(f"{field}.k ({spec.k}) is larger than the width ({spec.width:,} latents); choose k "
                               f"from 1 to {spec.width:,}", details={"field": f"{field}.k", "max": spec.width})
    prefixes = spec.matryoshka_prefixes
    if spec.architecture == "matryoshka" and prefixes:
        ends = spec.width is None or prefixes[-1] == spec.width
        if any(p < 1 for p in prefixes) or any(a >= b for a, b in zip(prefixes, prefixes[1:], strict=False)) \
                or not ends:
            raise InvalidInput(f"{field}.matryoshka_prefixes must be increasing positive widths ending at the width; "
                               f"got {prefixes}", details={"field": f"{field}.matryoshka_prefixes"})


def check_settings(template: TrainingTemplateIn) -> None:
    """The rules a template obeys beyond each field's bounds, however it arrives; raises InvalidInput."""
    for index, spec in enumerate(template.saes):
        _check_sae(index, spec)


def checked(raw: dict[str, Any]) -> TrainingTemplateIn:
    """A template from a file or a merged edit, validated like a created one (pydantic errors propagate)."""
    template = TrainingTemplateIn.model_validate(raw)
    check_settings(template)
    return template


# --- rows -------------------------------------------------------------------------------------------------
def auto_name(template: TrainingTemplateIn, now: dt.datetime | None = None) -> str:
    """`{architecture}_x{expansion}|w{width}[_k{k}]` for one SAE, `sweep{n}_{architectures}` for several, then
    `_{hook_type}`, `_layer{layer}` when set, and `_{HHMM}` in the server's local time."""
    now = now or dt.datetime.now()
    saes = template.saes
    if len(saes) == 1:
        spec = saes[0]
        size = f"w{spec.width}" if spec.width is not None else f"x{spec.expansion_factor}"
        k = f"_k{spec.k}" if spec.architecture in K_FAMILY and spec.k is not None else ""
        parts = [f"{spec.architecture}_{size}{k}"]
    else:
        parts = [f"sweep{len(saes)}_{'+'.join(dict.fromkeys(spec.architecture for spec in saes))}"]
    if template.hook_type:
        parts.append(template.hook_type)
    if template.layer is not None:
        parts.append(f"layer{template.layer}")
    return "_".join([*parts, f"{now:%H%M}"])


def new_row(template: TrainingTemplateIn, name: str) -> TrainingTemplate:
    values = template.model_dump(mode="json")
    return TrainingTemplate(name=name, description=values["description"], hook_type=values["hook_type"],
                            layer=values["layer"], saes=values["saes"], is_favorite=values["is_favorite"],
                            settings={field: values[field] for field in TRAINING_SETTINGS if field != "saes"})


def _values(row: TrainingTemplate) -> dict[str, Any]:
    return {"name": row.name, "description": row.description, "hook_type": row.hook_type, "layer": row.layer,
            "is_favorite": row.is_favorite, "saes": row.saes, **row.settings}


def as_in(row: TrainingTemplate) -> TrainingTemplateIn:
    """The row as the body that would create it again (what the export file holds)."""
    return TrainingTemplateIn.model_validate(_values(row))


def out(row: TrainingTemplate) -> TrainingTemplateOut:
    return TrainingTemplateOut.model_validate({**_values(row), "id": row.id, "created_at": row.created_at,
                                               "updated_at": row.updated_at})


# --- use cases --------------------------------------------------------------------------------------------
def get_template(runtime: Runtime, template_id: str) -> TrainingTemplateOut:
    with session_scope(runtime.sessions) as session:
        return out(store.load(session, TrainingTemplate, template_id))


def list_templates(runtime: Runtime, *, page: int = 1, limit: int = 50) -> tuple[list[TrainingTemplateOut], int]:
    """Favourites first, then the most recently changed."""
    with session_scope(runtime.sessions) as session:
        templates, total = store.page_of(session, TrainingTemplate, page, limit)
        return [out(t) for t in templates], total


def create_template(runtime: Runtime, body: TrainingTemplateIn) -> TrainingTemplateOut:
    """Save a template; without a name it is named after its SAEs (`_2`, `_3`… if that name is taken)."""
    check_settings(body)
    with session_scope(runtime.sessions) as session:
        name = store.clean_name(body.name)
        if name is None:
            name = store.unused(auto_name(body), store.taken_names(session, TrainingTemplate))
        else:
            store.refuse_duplicate(session, TrainingTemplate, name)
        template = new_row(body, name)
        session.add(template)
        store.flush(session, name, "training template")
        return out(template)


def update_template(runtime: Runtime, template_id: str, patch: TrainingTemplatePatch) -> TrainingTemplateOut:
    """Change the fields sent; `null` clears a nullable field (NULLABLE) and leaves any other as it is."""
    changes = {field: value for field, value in patch.model_dump(exclude_unset=True).items()
               if value is not None or field in NULLABLE}
    store.changed_name(changes, ALLOWED["name"])
    with session_scope(runtime.sessions) as session:
        row = store.load(session, TrainingTemplate, template_id)
        template = checked({**as_in(row).model_dump(), **changes})
        if "name" in changes:
            store.refuse_duplicate(session, TrainingTemplate, changes["name"], row.id)
        updated = new_row(template, template.name)
        for column in ("name", "description", "hook_type", "layer", "saes", "settings", "is_favorite"):
            setattr(row, column, getattr(updated, column))
        store.flush(session, row.name, "training template")
        return out(row)


def set_favorite(runtime: Runtime, template_id: str, is_favorite: bool) -> TrainingTemplateOut:
    with session_scope(runtime.sessions) as session:
        template = store.load(session, TrainingTemplate, template_id)
        template.is_favorite = is_favorite
        session.flush()
        return out(template)


def delete_template(runtime: Runtime, template_id: str) -> DeleteOut:
    """Delete a template; runs started from it keep their own copy of the settings."""
    with session_scope(runtime.sessions) as session:
        session.delete(store.load(session, TrainingTemplate, template_id))
    return DeleteOut(id=template_id)
