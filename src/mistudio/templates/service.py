"""Use cases of the templates domain: saved extraction settings, listed, edited, exported and imported, and the
one export file that carries every kind of template (training templates' own use cases: `training_service`).

A template holds no model or dataset, so the same one serves every model; whether its layers exist in a given
model is checked by the extraction form, not here. The export file is a versioned JSON document that later
versions will extend with more sections; an import reports every section it does not read instead of dropping it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar, get_args

from pydantic import ValidationError

from mistudio.errors import InvalidInput
from mistudio.extraction.schemas import HookType, StorageDtype
from mistudio.lens.errors import InvalidArgument
from mistudio.platform.db import session_scope
from mistudio.platform.runtime import Runtime
from mistudio.steering import presets as steering_presets
from mistudio.steering.schemas import PresetIn
from mistudio.templates import store, training_service
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
from mistudio.templates.store import NAME_MAX
from mistudio.templates.tables import ExtractionTemplate, TrainingTemplate

HOOK_TYPES: tuple[str, ...] = get_args(HookType)
MAX_BATCH_SIZE = 4096
READ_SECTIONS = ("version", "extraction_templates", "training_templates", "steering_presets")
SKIP_REASON = "not supported by this version of miStudio"
PRESET_ALLOWED: dict[str, Any] = {
    "name": "1 to 255 characters (a taken one is renamed on import)",
    "interventions": "1 to 32 interventions, each an SAE feature (sae_id, feature) or a direction (direction_id) "
                     "that exists in this studio",
}
# What each field accepts, sent with every validation error so a form can show the rule beside the field.
ALLOWED: dict[str, Any] = {
    "name": f"1 to {NAME_MAX} characters, unique among extraction templates",
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


# --- names ------------------------------------------------------------------------------------------------
def auto_name(layers: list[int], hook_points: list[str], max_samples: int | None,
              now: dt.datetime | None = None) -> str:
    """`{hooks}_layers{min}-{max}_{N}samples_{HHMM}` (`_layer{i}` for one layer), in the server's local time."""
    now = now or dt.datetime.now()
    span = f"layer{layers[0]}" if len(layers) == 1 else f"layers{min(layers)}-{max(layers)}"
    samples = "all" if max_samples is None else str(max_samples)
    return f"{'+'.join(hook_points)}_{span}_{samples}samples_{now:%H%M}"


# --- reading ----------------------------------------------------------------------------------------------
def get_template(runtime: Runtime, template_id: str) -> ExtractionTemplateOut:
    with session_scope(runtime.sessions) as session:
        return ExtractionTemplateOut.model_validate(store.load(session, ExtractionTemplate, template_id))


def list_templates(runtime: Runtime, *, page: int = 1, limit: int = 50) -> tuple[list[ExtractionTemplateOut], int]:
    """Favourites first, then the most recently changed."""
    with session_scope(runtime.sessions) as session:
        templates, total = store.page_of(session, ExtractionTemplate, page, limit)
        return [ExtractionTemplateOut.model_validate(t) for t in templates], total


# --- writing ----------------------------------------------------------------------------------------------
def create_template(runtime: Runtime, body: ExtractionTemplateIn) -> ExtractionTemplateOut:
    """Save a template; without a name it is named after its settings (`_2`, `_3`… if that name is taken)."""
    check_settings(body.layers, list(body.hook_points), body.batch_size, body.max_samples)
    with session_scope(runtime.sessions) as session:
        name = store.clean_name(body.name)
        if name is None:
            name = store.unused(auto_name(body.layers, list(body.hook_points), body.max_samples),
                                store.taken_names(session, ExtractionTemplate))
        else:
            store.refuse_duplicate(session, ExtractionTemplate, name)
        template = ExtractionTemplate(**body.model_dump(exclude={"name"}), name=name)
        session.add(template)
        store.flush(session, name, "extraction template")
        return ExtractionTemplateOut.model_validate(template)


def update_template(runtime: Runtime, template_id: str, patch: ExtractionTemplatePatch) -> ExtractionTemplateOut:
    """Change the fields sent; `null` clears description or max_samples and leaves any other field as it is."""
    changes = {field: value for field, value in patch.model_dump(exclude_unset=True).items()
               if value is not None or field in ("description", "max_samples")}
    store.changed_name(changes, ALLOWED["name"])
    with session_scope(runtime.sessions) as session:
        template = store.load(session, ExtractionTemplate, template_id)
        merged = {field: changes.get(field, getattr(template, field))
                  for field in ("layers", "hook_points", "batch_size", "max_samples")}
        check_settings(**merged)
        if "name" in changes:
            store.refuse_duplicate(session, ExtractionTemplate, changes["name"], template.id)
        for field, value in changes.items():
            setattr(template, field, value)
        store.flush(session, template.name, "extraction template")
        return ExtractionTemplateOut.model_validate(template)


def set_favorite(runtime: Runtime, template_id: str, is_favorite: bool) -> ExtractionTemplateOut:
    with session_scope(runtime.sessions) as session:
        template = store.load(session, ExtractionTemplate, template_id)
        template.is_favorite = is_favorite
        session.flush()
        return ExtractionTemplateOut.model_validate(template)


def delete_template(runtime: Runtime, template_id: str) -> DeleteOut:
    """Delete a template; extractions started from it keep their own copy of the settings."""
    with session_scope(runtime.sessions) as session:
        session.delete(store.load(session, ExtractionTemplate, template_id))
    return DeleteOut(id=template_id)


# --- export and import ------------------------------------------------------------------------------------
def export_filename(today: dt.date | None = None) -> str:
    return f"mistudio-templates-{(today or dt.date.today()):%Y%m%d}.json"


def export_file(runtime: Runtime) -> dict[str, Any]:
    """Every template as `{"version", "extraction_templates": [...], "training_templates": [...],
    "steering_presets": [...]}`, each kind oldest first, without ids or timestamps."""
    with session_scope(runtime.sessions) as session:
        extraction = [ExtractionTemplateIn.model_validate(t, from_attributes=True).model_dump(mode="json")
                      for t in store.oldest_first(session, ExtractionTemplate)]
        training = [training_service.as_in(t).model_dump(mode="json")
                    for t in store.oldest_first(session, TrainingTemplate)]
    return {"version": EXPORT_VERSION, "extraction_templates": extraction, "training_templates": training,
            "steering_presets": steering_presets.exported_presets(runtime)}


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


Template = TypeVar("Template")


def _validated(section: str, index: int, raw: dict[str, Any], validate: Callable[[dict[str, Any]], Template],
               allowed: dict[str, Any]) -> Template:
    """One template of the file, checked like a created one; the error names its section, index, name and field."""
    label = f"{section}[{index}] ({raw.get('name')!r})" if raw.get("name") else f"{section}[{index}]"
    where = {"section": section, "index": index, "name": raw.get("name")}
    try:
        return validate(raw)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else "template"
        path = field + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"][1:])
        raise InvalidInput(f"{label}: {path}: {problem['msg']}; nothing was imported",
                           details={**where, "field": field, "path": path, "allowed": allowed.get(field)}) from exc
    except (InvalidInput, InvalidArgument) as exc:
        raise InvalidInput(f"{label}: {exc.message}; nothing was imported",
                           details={**where, **exc.details}) from exc


def _extraction_entry(raw: dict[str, Any]) -> ExtractionTemplateIn:
    template = ExtractionTemplateIn.model_validate(raw)
    check_settings(template.layers, list(template.hook_points), template.batch_size, template.max_samples)
    return template


def _preset_entry(runtime: Runtime) -> Callable[[dict[str, Any]], PresetIn]:
    def validate(raw: dict[str, Any]) -> PresetIn:
        preset = PresetIn.model_validate(raw)
        steering_presets.check_preset(runtime, preset)  # its SAEs and directions must exist here
        return preset
    return validate


def import_file(runtime: Runtime, body: TemplatesFile | dict[str, Any],
                now: dt.datetime | None = None) -> ImportOut:
    """Add a file's templates and steering presets, all or none; a taken name becomes
    `{name}_imported_{YYYYMMDDHHMMSS}`."""
    file = _parse_file(body)
    _check_version(file)
    extraction = [_validated("extraction_templates", index, raw, _extraction_entry, ALLOWED)
                  for index, raw in enumerate(file.extraction_templates)]
    training = [_validated("training_templates", index, raw, training_service.checked, training_service.ALLOWED)
                for index, raw in enumerate(file.training_templates)]
    presets = [_validated("steering_presets", index, raw, _preset_entry(runtime), PRESET_ALLOWED)
               for index, raw in enumerate(file.steering_presets)]
    stamp = f"{(now or dt.datetime.now()):%Y%m%d%H%M%S}"
    taken_presets = steering_presets.preset_names(runtime)
    renamed: list[Renamed] = []
    renamed_training: list[Renamed] = []
    with session_scope(runtime.sessions) as session:
        taken = store.taken_names(session, ExtractionTemplate)
        rows = []
        for template in extraction:
            name, rename = store.import_name(
                template.name, lambda t=template: auto_name(t.layers, list(t.hook_points), t.max_samples), taken, stamp)
            renamed += [rename] if rename else []
            rows.append(ExtractionTemplate(**template.model_dump(exclude={"name"}), name=name))
        taken = store.taken_names(session, TrainingTemplate)
        training_rows = []
        for template in training:
            name, rename = store.import_name(template.name, lambda t=template: training_service.auto_name(t),
                                             taken, stamp)
            renamed_training += [rename] if rename else []
            training_rows.append(training_service.new_row(template, name))
        named_presets, renamed_presets = [], []
        for preset in presets:
            name, rename = store.import_name(preset.name, lambda: "preset", taken_presets, stamp)
            renamed_presets += [rename] if rename else []
            named_presets.append((name, preset))
        session.add_all([*rows, *training_rows])
        imported_presets = steering_presets.add_presets(session, named_presets)
        store.flush(session, ", ".join([*(row.name for row in [*rows, *training_rows]),
                                        *(name for name, _ in named_presets)]))
        imported = [ExtractionTemplateOut.model_validate(row) for row in rows]
        imported_training = [training_service.out(row) for row in training_rows]
    return ImportOut(imported=imported, renamed=renamed, imported_training=imported_training,
                     renamed_training=renamed_training, imported_presets=imported_presets,
                     renamed_presets=renamed_presets, skipped_sections=_skipped(file))
