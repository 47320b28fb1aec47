"""Use cases of the templates domain: saved extraction settings, listed, edited, exported and imported.

A template holds no model or dataset, so the same one serves every model; whether its layers exist in a given
model is checked by the extraction form, not here. The export file is a versioned JSON document that later
versions will extend with more sections; an import reports every section it does not read instead of dropping it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, get_args

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mistudio.errors import Conflict, InvalidInput, NotFound
from mistudio.extraction.schemas import HookType, StorageDtype
from mistudio.lens.errors import InvalidArgument
from mistudio.platform.db import session_scope
from mistudio.platform.runtime import Runtime
from mistudio.templates.schemas import (
    EXPORT_VERSION,
    DeleteOut,
    ExtractionTemplateIn,
    ExtractionTemplateOut,
    ExtractionTemplatePatch,
    ImportOut,
    Renamed,
    SkippedSection,
    TemplatesFile,
)
from mistudio.templates.tables import ExtractionTemplate

HOOK_TYPES: tuple[str, ...] = get_args(HookType)
MAX_BATCH_SIZE = 4096
NAME_MAX = 255
READ_SECTIONS = ("version", "extraction_templates")
SKIP_REASON = "not supported by this version of miStudio"
# What each field accepts, sent with every validation error so a form can show the rule beside the field.
ALLOWED: dict[str, Any] = {
    "name": f"1 to {NAME_MAX} characters, unique among templates",
    "description": "up to 500 characters",
    "layers": "one or more distinct layer indices >= 0",
    "hook_points": list(HOOK_TYPES),
    "max_samples": "an integer >= 1, or null for every sequence",
    "batch_size": [2**power for power in range(MAX_BATCH_SIZE.bit_length())],
    "dtype": list(get_args(StorageDtype)),
    "is_favorite": "true or false",
}


# --- validation -------------------------------------------------------------------------------------------
def _invalid(field: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{field} {problem}", details={"field": field, "allowed": ALLOWED.get(field)})


def check_settings(layers: list[int], hook_points: list[str], batch_size: int, max_samples: int | None) -> None:
    """The rules every template obeys, however it arrives (create, edit or import); raises InvalidInput."""
    if not layers:
        raise _invalid("layers", "must name at least one layer index")
    if any(layer < 0 for layer in layers):
        raise _invalid("layers", f"must be layer indices >= 0; got {layers}")
    if len(set(layers)) != len(layers):
        raise _invalid("layers", f"must not repeat a layer; got {layers}")
    if not hook_points:
        raise _invalid("hook_points", f"must name at least one of {', '.join(HOOK_TYPES)}")
    unknown = [hook for hook in hook_points if hook not in HOOK_TYPES]
    if unknown:
        raise _invalid("hook_points", f"has unknown hook type(s) {unknown}; use {', '.join(HOOK_TYPES)}")
    if len(set(hook_points)) != len(hook_points):
        raise _invalid("hook_points", f"must not repeat a hook type; got {hook_points}")
    # bool is an int in Python; a JSON `true` is not a batch size.
    if isinstance(batch_size, bool) or not 1 <= batch_size <= MAX_BATCH_SIZE or batch_size & (batch_size - 1):
        raise _invalid("batch_size", f"must be a power of 2 from 1 to {MAX_BATCH_SIZE}; got {batch_size}")
    if max_samples is not None and max_samples < 1:
        raise _invalid("max_samples", f"must be at least 1 (or unset for every sequence); got {max_samples}")


def _clean_name(name: str | None) -> str | None:
    """The name without surrounding blanks; None when nothing is left (the template gets an automatic name)."""
    stripped = (name or "").strip()
    return stripped or None


# --- names ------------------------------------------------------------------------------------------------
def auto_name(layers: list[int], hook_points: list[str], max_samples: int | None,
              now: dt.datetime | None = None) -> str:
    """`{hooks}_layers{min}-{max}_{N}samples_{HHMM}` (`_layer{i}` for one layer), in the server's local time."""
    now = now or dt.datetime.now()
    span = f"layer{layers[0]}" if len(layers) == 1 else f"layers{min(layers)}-{max(layers)}"
    samples = "all" if max_samples is None else str(max_samples)
    return f"{'+'.join(hook_points)}_{span}_{samples}samples_{now:%H%M}"


def _unused(base: str, taken: Collection[str]) -> str:
    """`base`, else `base_2`, `base_3`, …, each cut to fit the name column."""
    candidate, number = base[:NAME_MAX], 1
    while candidate in taken:
        number += 1
        suffix = f"_{number}"
        candidate = base[:NAME_MAX - len(suffix)] + suffix
    return candidate


def _taken_names(session: Session) -> set[str]:
    return set(session.scalars(select(ExtractionTemplate.name)))


def _refuse_duplicate(session: Session, name: str, template_id: str | None = None) -> None:
    existing = session.scalar(select(ExtractionTemplate).where(ExtractionTemplate.name == name))
    if existing is not None and existing.id != template_id:
        raise Conflict(f"an extraction template named {name!r} already exists (id {existing.id}); "
                       "choose another name or edit that template",
                       details={"field": "name", "id": existing.id, "name": name})


def _flush(session: Session, name: str) -> None:
    """Flush; a unique-name race with another writer becomes the same 409 as a checked duplicate."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"an extraction template named {name!r} already exists; choose another name",
                       details={"field": "name", "name": name}) from exc


# --- reading ----------------------------------------------------------------------------------------------
def _load(session: Session, template_id: str) -> ExtractionTemplate:
    template = session.get(ExtractionTemplate, template_id)
    if template is None:
        raise NotFound(f"extraction template {template_id!r} not found", details={"id": template_id})
    return template


def get_template(runtime: Runtime, template_id: str) -> ExtractionTemplateOut:
    with session_scope(runtime.sessions) as session:
        return ExtractionTemplateOut.model_validate(_load(session, template_id))


def list_templates(runtime: Runtime, *, page: int = 1, limit: int = 50) -> tuple[list[ExtractionTemplateOut], int]:
    """Favourites first, then the most recently changed."""
    query = (select(ExtractionTemplate)
             .order_by(ExtractionTemplate.is_favorite.desc(), ExtractionTemplate.updated_at.desc(),
                       ExtractionTemplate.id)
             .offset((page - 1) * limit).limit(limit))
    with session_scope(runtime.sessions) as session:
        total = session.scalar(select(func.count()).select_from(ExtractionTemplate)) or 0
        return [ExtractionTemplateOut.model_validate(t) for t in session.scalars(query)], total


# --- writing ----------------------------------------------------------------------------------------------
def create_template(runtime: Runtime, body: ExtractionTemplateIn) -> ExtractionTemplateOut:
    """Save a template; without a name it is named after its settings (`_2`, `_3`… if that name is taken)."""
    check_settings(body.layers, list(body.hook_points), body.batch_size, body.max_samples)
    with session_scope(runtime.sessions) as session:
        name = _clean_name(body.name)
        if name is None:
            name = _unused(auto_name(body.layers, list(body.hook_points), body.max_samples), _taken_names(session))
        else:
            _refuse_duplicate(session, name)
        template = ExtractionTemplate(**body.model_dump(exclude={"name"}), name=name)
        session.add(template)
        _flush(session, name)
        return ExtractionTemplateOut.model_validate(template)


def update_template(runtime: Runtime, template_id: str, patch: ExtractionTemplatePatch) -> ExtractionTemplateOut:
    """Change the fields sent; `null` clears description or max_samples and leaves any other field as it is."""
    changes = {field: value for field, value in patch.model_dump(exclude_unset=True).items()
               if value is not None or field in ("description", "max_samples")}
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"])
        if changes["name"] is None:
            raise _invalid("name", "must not be empty")
    with session_scope(runtime.sessions) as session:
        template = _load(session, template_id)
        merged = {field: changes.get(field, getattr(template, field))
                  for field in ("layers", "hook_points", "batch_size", "max_samples")}
        check_settings(**merged)
        if "name" in changes:
            _refuse_duplicate(session, changes["name"], template.id)
        for field, value in changes.items():
            setattr(template, field, value)
        _flush(session, template.name)
        return ExtractionTemplateOut.model_validate(template)


def set_favorite(runtime: Runtime, template_id: str, is_favorite: bool) -> ExtractionTemplateOut:
    with session_scope(runtime.sessions) as session:
        template = _load(session, template_id)
        template.is_favorite = is_favorite
        session.flush()
        return ExtractionTemplateOut.model_validate(template)


def delete_template(runtime: Runtime, template_id: str) -> DeleteOut:
    """Delete a template; extractions started from it keep their own copy of the settings."""
    with session_scope(runtime.sessions) as session:
        session.delete(_load(session, template_id))
    return DeleteOut(id=template_id)


# --- export and import ------------------------------------------------------------------------------------
def export_filename(today: dt.date | None = None) -> str:
    return f"mistudio-templates-{(today or dt.date.today()):%Y%m%d}.json"


def export_file(runtime: Runtime) -> dict[str, Any]:
    """Every template as `{"version", "extraction_templates": [...]}`, oldest first, without ids or timestamps."""
    query = select(ExtractionTemplate).order_by(ExtractionTemplate.created_at, ExtractionTemplate.id)
    with session_scope(runtime.sessions) as session:
        templates = [ExtractionTemplateIn.model_validate(t, from_attributes=True).model_dump(mode="json")
                     for t in session.scalars(query)]
    return {"version": EXPORT_VERSION, "extraction_templates": templates}


def _parse_file(body: TemplatesFile | dict[str, Any]) -> TemplatesFile:
    if isinstance(body, TemplatesFile):
        return body
    try:
        return TemplatesFile.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the file"
        raise InvalidInput(f"not a miStudio templates file: {where}: {problem['msg']}",
                           details={"field": where}) from exc


def _check_version(file: TemplatesFile) -> None:
    if file.version != EXPORT_VERSION:
        raise InvalidInput(f"templates file version {file.version!r} is not supported; this version of miStudio "
                           f"reads version {EXPORT_VERSION!r} files",
                           details={"field": "version", "found": file.version, "allowed": [EXPORT_VERSION]})


def _skipped(file: TemplatesFile) -> list[SkippedSection]:
    return [SkippedSection(section=section, items=len(value) if isinstance(value, list) else None,
                           reason=SKIP_REASON)
            for section, value in (file.model_extra or {}).items() if section not in READ_SECTIONS]


def _validated(index: int, raw: dict[str, Any]) -> ExtractionTemplateIn:
    """One template of the file, checked like a created one; the error names its index, its name and the field."""
    label = f"extraction_templates[{index}] ({raw.get('name')!r})" if raw.get("name") else \
        f"extraction_templates[{index}]"
    try:
        template = ExtractionTemplateIn.model_validate(raw)
        check_settings(template.layers, list(template.hook_points), template.batch_size, template.max_samples)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else "template"
        path = field + "".join(f"[{part}]" for part in problem["loc"][1:])
        raise InvalidInput(f"{label}: {path}: {problem['msg']}; nothing was imported",
                           details={"index": index, "name": raw.get("name"), "field": field,
                                    "allowed": ALLOWED.get(field)}) from exc
    except (InvalidInput, InvalidArgument) as exc:
        raise InvalidInput(f"{label}: {exc.message}; nothing was imported",
                           details={"index": index, "name": raw.get("name"), **exc.details}) from exc
    return template


def import_file(runtime: Runtime, body: TemplatesFile | dict[str, Any],
                now: dt.datetime | None = None) -> ImportOut:
    """Add a file's templates, all or none; a taken name becomes `{name}_imported_{YYYYMMDDHHMMSS}`."""
    file = _parse_file(body)
    _check_version(file)
    templates = [_validated(index, raw) for index, raw in enumerate(file.extraction_templates)]
    stamp = f"{(now or dt.datetime.now()):%Y%m%d%H%M%S}"
    renamed: list[Renamed] = []
    with session_scope(runtime.sessions) as session:
        taken = _taken_names(session)
        rows = []
        for template in templates:
            wanted = _clean_name(template.name)
            if wanted is None:
                name = _unused(auto_name(template.layers, list(template.hook_points), template.max_samples), taken)
            elif wanted in taken:
                suffix = f"_imported_{stamp}"
                name = _unused(wanted[:NAME_MAX - len(suffix)] + suffix, taken)
                renamed.append(Renamed(original=wanted, imported_as=name))
            else:
                name = wanted
            taken.add(name)
            rows.append(ExtractionTemplate(**template.model_dump(exclude={"name"}), name=name))
        session.add_all(rows)
        _flush(session, ", ".join(row.name for row in rows))
        imported = [ExtractionTemplateOut.model_validate(row) for row in rows]
    return ImportOut(imported=imported, renamed=renamed, skipped_sections=_skipped(file))
