"""The `extraction_templates` table: saved extraction settings, reusable with any model."""

from __future__ import annotations

import datetime as dt

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
