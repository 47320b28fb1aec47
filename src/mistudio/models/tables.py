"""The `models` and `model_variants` tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mistudio.platform.db import Base, UTCDateTime, new_id, utcnow
from mistudio.platform.lifecycle import TrackedRow


class Model(TrackedRow, Base):
    """A model's files and what was read from them; its download or import is tracked by the lifecycle columns."""

    __tablename__ = "models"
    resource = "model"
    restart = "retry"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), index=True)
    source: Mapped[str] = mapped_column(String(16))  # "hub", "folder" or "gguf"
    repo_id: Mapped[str | None] = mapped_column(String(255), index=True)
    revision: Mapped[str | None] = mapped_column(String(255))  # what the user asked for
    commit_sha: Mapped[str | None] = mapped_column(String(64))  # what the hub resolved it to
    source_path: Mapped[str | None] = mapped_column(Text)  # where an import came from (for display only)
    storage_mode: Mapped[str] = mapped_column(String(8), default="copy")  # "copy" or "link" (imports)
    # Set when the files arrived but are not a causal LM of a family we support: kept, shown, never loaded.
    incompatible_reason: Mapped[str | None] = mapped_column(Text)
    model_type: Mapped[str | None] = mapped_column(String(64))
    family: Mapped[str | None] = mapped_column(String(64), index=True)
    parameter_count: Mapped[int | None] = mapped_column(BigInteger)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    architecture: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # lens.architecture.describe_architecture
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # on disk, raw files
    download_bytes: Mapped[int | None] = mapped_column(BigInteger)  # what the hub said it would send
    license: Mapped[str | None] = mapped_column(String(255))
    gated: Mapped[bool] = mapped_column(Boolean, default=False)
    trust_remote_code: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    variants: Mapped[list[ModelVariant]] = relationship(
        back_populates="model", cascade="all, delete-orphan", order_by="ModelVariant.created_at"
    )

    @property
    def ready(self) -> bool:
        """Downloaded or imported, and compatible: it can be loaded, tokenized with and extracted from."""
        return super().ready and self.incompatible_reason is None


class ModelVariant(TrackedRow, Base):
    """One format of a model on one device: a verified way to load it, with the memory it really took.

    Variants are built from the model's raw files at load time (no second copy of the weights); the row
    records what the load produced: the format it really got after any fallback, and where layers live.
    """

    __tablename__ = "model_variants"
    resource = "model_variant"
    restart = "retry"  # quantizing the same format on the same device again reuses a stopped variant
    __table_args__ = (UniqueConstraint("model_id", "requested_format", "device", name="uq_variant_format_device"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    requested_format: Mapped[str] = mapped_column(String(8))
    format: Mapped[str | None] = mapped_column(String(8))  # what it got (fallbacks can change it)
    device: Mapped[str] = mapped_column(String(16))
    placement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    estimate_bytes: Mapped[int | None] = mapped_column(BigInteger)
    footprint_bytes: Mapped[int | None] = mapped_column(BigInteger)  # measured after loading
    steps: Mapped[list[str]] = mapped_column(JSON, default=list)  # what the load did, fallbacks included
    sample_output: Mapped[str | None] = mapped_column(Text)  # a short generation proving it works
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    model: Mapped[Model] = relationship(back_populates="variants")
