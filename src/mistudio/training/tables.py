"""The training domain's tables: a run (`trainings`), its logged metrics, and the SAEs it (or an import) produced."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mistudio.platform.db import Base, UTCDateTime, new_id, utcnow
from mistudio.platform.lifecycle import TrackedRow


class Training(TrackedRow, Base):
    """One run: one or several SAEs (a sweep) trained on the same activations. Other domains by id only."""

    __tablename__ = "trainings"
    resource = "training"
    restart = "resume"  # the newest checkpoint holds everything an exact continuation needs

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    model_id: Mapped[str] = mapped_column(String(32), index=True)
    model_name: Mapped[str] = mapped_column(String(255))
    # Where the activations come from: a stored extraction, or the model run over a tokenization as it trains.
    source: Mapped[str] = mapped_column(String(16), default="extraction")  # extraction | stream
    extraction_id: Mapped[str | None] = mapped_column(String(32), index=True)
    dataset_id: Mapped[str | None] = mapped_column(String(32))
    tokenization_id: Mapped[str | None] = mapped_column(String(32))
    format: Mapped[str | None] = mapped_column(String(8))  # the model variant a stream (and evaluation) runs
    hook_point: Mapped[str] = mapped_column(String(64))
    target_hook_point: Mapped[str | None] = mapped_column(String(64))
    d_in: Mapped[int] = mapped_column(Integer)
    d_out: Mapped[int] = mapped_column(Integer)
    # Per SAE of the run: its SAE config and hyperparameters, as the request gave them (validated).
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the SAEs share (lens.sae.TrainConfig fields)
    total_steps: Mapped[int] = mapped_column(BigInteger)
    steps_done: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_per_second: Mapped[float | None] = mapped_column(Float)
    latest_metrics: Mapped[list[dict[str, float]] | None] = mapped_column(JSON)  # per SAE, the last logged
    final_metrics: Mapped[list[dict[str, float]] | None] = mapped_column(JSON)  # per SAE, hold-out + in-model
    sae_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "stop" asked: the job ends after its current step, keeping the SAEs as they are (a pause keeps none).
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class TrainingMetric(Base):
    """One logged step of one SAE of a run (the dashboard's curves)."""

    __tablename__ = "training_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    training_id: Mapped[str] = mapped_column(String(32), ForeignKey("trainings.id", ondelete="CASCADE"), index=True)
    member: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(BigInteger)
    values: Mapped[dict[str, float]] = mapped_column(JSON)


class StoredSAE(Base):
    """An SAE on disk in the SAELens layout (saes/{id}/), trained here or imported."""

    __tablename__ = "saes"
    resource = "sae"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    origin: Mapped[str] = mapped_column(String(16))  # trained | imported
    training_id: Mapped[str | None] = mapped_column(String(32), index=True)
    model_id: Mapped[str | None] = mapped_column(String(32), index=True)
    model_name: Mapped[str | None] = mapped_column(String(255))
    hook_point: Mapped[str | None] = mapped_column(String(64))
    target_hook_point: Mapped[str | None] = mapped_column(String(64))
    architecture: Mapped[str] = mapped_column(String(32))
    d_in: Mapped[int] = mapped_column(Integer)
    d_sae: Mapped[int] = mapped_column(Integer)
    k: Mapped[int | None] = mapped_column(Integer)
    metrics: Mapped[dict[str, float] | None] = mapped_column(JSON)
    source_path: Mapped[str | None] = mapped_column(Text)  # where an import was read from
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True, default=utcnow)
