"""The `extractions` table: one run of a tokenized dataset through a model, and where its activations are."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mistudio.platform.db import Base, UTCDateTime, new_id, utcnow
from mistudio.platform.lifecycle import TrackedRow


class Extraction(TrackedRow, Base):
    """Model and dataset are referenced by id only (other domains' tables); names are kept for the history."""

    __tablename__ = "extractions"
    resource = "extraction"
    restart = "resume"  # the completed batches are on disk and the same job continues from them

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    model_id: Mapped[str] = mapped_column(String(32), index=True)
    model_name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))  # the model format asked for
    device: Mapped[str] = mapped_column(String(16))
    dataset_id: Mapped[str] = mapped_column(String(32), index=True)
    dataset_name: Mapped[str] = mapped_column(String(255))
    tokenization_id: Mapped[str] = mapped_column(String(32), index=True)
    layers: Mapped[list[int]] = mapped_column(JSON)
    hook_types: Mapped[list[str]] = mapped_column(JSON)
    hook_points: Mapped[list[str]] = mapped_column(JSON)
    max_samples: Mapped[int | None] = mapped_column(BigInteger)  # as asked; None = all
    num_samples: Mapped[int] = mapped_column(BigInteger)  # resolved when the extraction was created
    seq_len: Mapped[int | None] = mapped_column(Integer)
    d_model: Mapped[int | None] = mapped_column(Integer)
    batch_size: Mapped[int] = mapped_column(Integer)
    final_batch_size: Mapped[int | None] = mapped_column(Integer)
    dtype: Mapped[str] = mapped_column(String(8))
    samples_done: Mapped[int] = mapped_column(BigInteger, default=0)
    samples_per_second: Mapped[float | None] = mapped_column(Float)
    tokens_per_second: Mapped[float | None] = mapped_column(Float)
    seconds: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    estimate_bytes: Mapped[int | None] = mapped_column(BigInteger)
    oom_retries: Mapped[list[dict[str, int]]] = mapped_column(JSON, default=list)
    statistics: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # per hook point, without per-dim arrays
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
