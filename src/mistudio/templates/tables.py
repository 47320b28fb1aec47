"""The `extraction_templates` and `training_templates` tables: saved settings, reusable with any model."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mistudio.platform.db import Base, UTCDateTime, new_id, utcnow


class ExtractionTemplate(Base):
    """Layers × hook types and batch settings; no model or dataset, so one template fits every model."""

    __tablename__ = "extraction_templates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    layers: Mapped[list[int]] = mapped_column(JSON)
    hook_points: Mapped[list[str]] = mapped_column(JSON)  # hook types: resid_pre, resid_post, mlp_out, attn_out
    max_samples: Mapped[int | None] = mapped_column(Integer)  # None: every sequence of the tokenization
    batch_size: Mapped[int] = mapped_column(Integer)
    dtype: Mapped[str] = mapped_column(String(8))
    is_favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class TrainingTemplate(Base):
    """The SAEs of a run and the settings they share; no extraction or model, so one template fits every run."""

    __tablename__ = "training_templates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    hook_type: Mapped[str | None] = mapped_column(String(16))  # None: the run form picks one
    layer: Mapped[int | None] = mapped_column(Integer)
    saes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # one SAESpec each: a sweep when several
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)  # the run's shared settings (TRAINING_SETTINGS)
    is_favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
