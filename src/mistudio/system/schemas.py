"""API models of the system domain."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mistudio.platform.events import EventPayload, declare_channel
from mistudio.platform.jobs.schemas import JobOut

__all__ = ["JobOut", "HealthOut", "SocketChannels", "SocketError", "SocketResync"]


class DatabaseHealth(BaseModel):
    ok: bool
    dialect: str
    detail: str


class RunnerHealth(BaseModel):
    mode: Literal["local", "celery"]
    ok: bool
    detail: str
    missing_queues: list[str] = Field(default_factory=list, description="queues no worker serves (scaled mode): "
                                      "their jobs wait until one starts")


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


# --- the WebSocket's own answers, on the channel `system` ------------------------------------------------


class SocketChannels(EventPayload):
    """`subscribed` / `unsubscribed`: the channels this connection now follows."""

    channels: list[str]


class SocketError(EventPayload):
    """`error`: a command the socket could not apply, and what it expects instead."""

    message: str


class SocketResync(EventPayload):
    """`resync`: this client fell behind and lost events; reload state from the REST API."""


declare_channel("system", {"subscribed": SocketChannels, "unsubscribed": SocketChannels, "error": SocketError,
                           "resync": SocketResync})
