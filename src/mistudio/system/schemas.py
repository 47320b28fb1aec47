"""API models of the system domain."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from mistudio.platform.jobs.schemas import JobOut

__all__ = ["JobOut", "HealthOut"]


class DatabaseHealth(BaseModel):
    ok: bool
    dialect: str
    detail: str


class RunnerHealth(BaseModel):
    mode: Literal["local", "celery"]
    ok: bool
    detail: str


class RedisHealth(BaseModel):
    configured: bool
    ok: bool | None
    detail: str


class DiskHealth(BaseModel):
    path: str
    free_bytes: int
    total_bytes: int


class DeviceHealth(BaseModel):
    kind: Literal["cpu", "cuda"]
    name: str
    memory_total_bytes: int | None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: DatabaseHealth
    runner: RunnerHealth
    redis: RedisHealth
    disk: DiskHealth
    device: DeviceHealth
