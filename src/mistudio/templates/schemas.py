"""Request and response bodies of the templates API (and so the web client's generated types)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mistudio.extraction.schemas import HookType, StorageDtype

EXPORT_VERSION = "1.0"


class ExtractionTemplateIn(BaseModel):
    name: str | None = Field(default=None, max_length=255,
                             description="unset: {hook}_layers{min}-{max}_{N}samples_{HHMM}")
    description: str | None = Field(default=None, max_length=500)
    layers: list[int] = Field(examples=[[3, 15, 29]])
    hook_points: list[HookType] = Field(examples=[["resid_post"]])
    max_samples: int | None = None
    batch_size: int = 32
    dtype: StorageDtype = "fp32"
    is_favorite: bool = False


class ExtractionTemplatePatch(BaseModel):
    name: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=500)
    layers: list[int] | None = None
    hook_points: list[HookType] | None = None
    max_samples: int | None = None
    batch_size: int | None = None
    dtype: StorageDtype | None = None
    is_favorite: bool | None = None


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
