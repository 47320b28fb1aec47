"""Request and response bodies of the templates API (and so the web client's generated types)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mistudio.envelopes import SAFE_INT, BoundedInt, omittable
from mistudio.extraction.schemas import HookType, StorageDtype

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


class DeleteOut(BaseModel):
    id: str


class TemplatesFile(BaseModel):
    """The export file: `{"version": "1.0", "extraction_templates": [...]}`; later versions add sections."""

    model_config = ConfigDict(extra="allow")

    version: str = EXPORT_VERSION
    extraction_templates: list[dict[str, Any]] = Field(default_factory=list)


class Renamed(BaseModel):
    original: str
    imported_as: str


class SkippedSection(BaseModel):
    section: str
    items: int | None = Field(description="entries in the section when it is a list")
    reason: str


class ImportOut(BaseModel):
    imported: list[ExtractionTemplateOut]
    renamed: list[Renamed]
    skipped_sections: list[SkippedSection]
