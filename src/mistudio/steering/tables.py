"""The steering domain's tables: saved directions, presets of interventions, and the history of experiments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mistudio.platform.db import Base, UTCDateTime, new_id, utcnow


class SteeringDirection(Base):
    """A direction in one hook point's space, stored as safetensors (steering/directions/{id}.safetensors)."""

    __tablename__ = "steering_directions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    origin: Mapped[str] = mapped_column(String(16))  # contrastive | control_vector
    model_id: Mapped[str | None] = mapped_column(String(32), index=True)
    hook_point: Mapped[str] = mapped_column(String(64))
    d_model: Mapped[int] = mapped_column(Integer)
    norm: Mapped[float] = mapped_column(Float)
    pairs: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # prompts, reduce, source file …
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True, default=utcnow)


class SteeringPreset(Base):
    """A named set of interventions, reusable across prompts."""

    __tablename__ = "steering_presets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    interventions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True, default=utcnow)


class SteeringExperiment(Base):
    """One comparison or sweep as it ran: the request, the texts and the metrics."""

    __tablename__ = "steering_experiments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))  # compare | sweep
    model_id: Mapped[str] = mapped_column(String(32), index=True)
    model_name: Mapped[str] = mapped_column(String(255))
    prompt: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True, default=utcnow)
