"""Request and response bodies of the templates API (and so the web client's generated types)."""

from __future__ import annotations

import datetime as dt
from copy import copy
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, create_model

from mistudio.envelopes import SAFE_INT, BoundedInt, omittable
from mistudio.extraction.schemas import HookType, StorageDtype
from mistudio.steering.schemas import PresetOut
from mistudio.training.schemas import TrainIn

EXPORT_VERSION = "1.0"


class ExtractionTemplateIn(BaseModel):
    name: str | None = Field(default=None, max_length=255,
                             description="unset: {hook}_layers{min}-{max}_{N}samples_{HHMM}")
    description: str | None = Field(default=None, max_length=500)
    layers: list[BoundedInt] = Field(examples=[[3, 15, 29]])
    hook_points: list[HookType] = Field(examples=[["resid_post"]])
    max_samples: int | None = Field(default=None, le=SAFE_INT)
    batch_size: int = Field(default=32, le=SAFE_INT)
    dtype: StorageDtype = "fp32"
    is_favorite: bool = False


class ExtractionTemplatePatch(BaseModel):
    """The fields sent change; `null` clears `description` or `max_samples` (every sequence) and nothing else."""

    name: str = omittable(max_length=255)
    description: str | None = Field(default=None, max_length=500)
    layers: list[BoundedInt] = omittable()
    hook_points: list[HookType] = omittable()
    max_samples: int | None = Field(default=None, le=SAFE_INT)
    batch_size: int = omittable(le=SAFE_INT)
    dtype: StorageDtype = omittable()
    is_favorite: bool = omittable()


class FavoriteIn(BaseModel):
    is_favorite: bool


class ExtractionTemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str | None
    layers: list[int]
    hook_points: list[str]
    max_samples: int | None
    batch_size: int
    dtype: str
    is_favorite: bool
    created_at: dt.datetime
    updated_at: dt.datetime


# --- training templates -------------------------------------------------------------------------------------
# The settings of a training run (TrainIn) that name no extraction, stream, model or device: the SAEs of a sweep
# and what they share. Their types, bounds, defaults and descriptions are TrainIn's own fields, taken as they are,
# so a template accepts exactly what a run accepts.
TRAINING_SETTINGS = ("saes", "total_tokens", "steps", "batch_tokens", "holdout_fraction", "seed", "compute_dtype",
                     "normalize_input", "b_dec_init", "dead_window_tokens", "log_every", "checkpoint_every",
                     "keep_checkpoints")


def _train_in_fields() -> dict[str, Any]:
    return {name: (TrainIn.model_fields[name].annotation, copy(TrainIn.model_fields[name]))
            for name in TRAINING_SETTINGS}


def _patch_fields() -> dict[str, Any]:
    """TrainIn's fields for a PATCH: unset by default; `null` clears a nullable one and is a 422 on any other."""
    fields = {}
    for name in TRAINING_SETTINGS:
        field = TrainIn.model_fields[name]
        nullable = type(None) in get_args(field.annotation)
        default = Field(default=None, description=field.description) if nullable else \
            omittable(description=field.description)
        annotation = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
        fields[name] = (annotation, default)
    return fields


class _TrainingTemplateAbout(BaseModel):
    name: str | None = Field(default=None, max_length=255,
                             description="unset: {architectures}_{size}_{hook_type}_layer{layer}_{HHMM}")
    description: str | None = Field(default=None, max_length=500)
    hook_type: HookType | None = Field(default=None, description="unset: chosen when the run is started")
    layer: int | None = Field(default=None, ge=0, le=SAFE_INT, description="unset: chosen when the run is started")
    is_favorite: bool = False


class _TrainingTemplatePatchAbout(BaseModel):
    name: str = omittable(max_length=255)
    description: str | None = Field(default=None, max_length=500)
    hook_type: HookType | None = None
    layer: int | None = Field(default=None, ge=0, le=SAFE_INT)
    is_favorite: bool = omittable()


class _TrainingTemplateRow(BaseModel):
    id: str
    name: str
    description: str | None
    hook_type: str | None
    layer: int | None
    is_favorite: bool
    created_at: dt.datetime
    updated_at: dt.datetime


TrainingTemplateIn = create_model(
    "TrainingTemplateIn", __base__=_TrainingTemplateAbout, __module__=__name__,
    __doc__="Saved SAE training settings: the fields of a training run that name no extraction or model.",
    **_train_in_fields())
TrainingTemplatePatch = create_model(
    "TrainingTemplatePatch", __base__=_TrainingTemplatePatchAbout, __module__=__name__,
    __doc__="The fields sent change; `null` clears description, hook_type, layer, total_tokens, steps or "
            "checkpoint_every and nothing else.",
    **_patch_fields())
TrainingTemplateOut = create_model("TrainingTemplateOut", __base__=_TrainingTemplateRow, __module__=__name__,
                                   **_train_in_fields())


class DeleteOut(BaseModel):
    id: str


# --- the export file --------------------------------------------------------------------------------------
class TemplatesFile(BaseModel):
    """The export file: `{"version": "1.0", "extraction_templates": [...], "training_templates": [...],
    "steering_presets": [...]}`; a file without a section reads as one with it empty, and later versions add
    sections."""

    model_config = ConfigDict(extra="allow")

    version: str = EXPORT_VERSION
    extraction_templates: list[dict[str, Any]] = Field(default_factory=list)
    training_templates: list[dict[str, Any]] = Field(default_factory=list)
    steering_presets: list[dict[str, Any]] = Field(default_factory=list)


class Renamed(BaseModel):
    original: str
    imported_as: str


class SkippedSection(BaseModel):
    section: str
    items: int | None = Field(description="entries in the section when it is a list")
    reason: str


class ImportOut(BaseModel):
    imported: list[ExtractionTemplateOut] = Field(description="the extraction templates added")
    renamed: list[Renamed] = Field(description="extraction templates whose name was taken")
    # Defaults only so that clients written before training templates existed still type-check.
    imported_training: list[TrainingTemplateOut] = Field(default_factory=list,
                                                         description="the training templates added")
    renamed_training: list[Renamed] = Field(default_factory=list,
                                            description="training templates whose name was taken")
    imported_presets: list[PresetOut] = Field(default_factory=list, description="the steering presets added")
    renamed_presets: list[Renamed] = Field(default_factory=list,
                                           description="steering presets whose name was taken")
    skipped_sections: list[SkippedSection]
