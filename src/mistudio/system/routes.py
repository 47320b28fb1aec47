"""HTTP and WebSocket routes of the system domain: parse, call the service, return a schema."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from mistudio.envelopes import ERROR_RESPONSES, SAFE_INT, Item, Page, Pagination
from mistudio.platform.events import RESYNC, Subscription, event_data
from mistudio.platform.runtime import Runtime
from mistudio.system import service
from mistudio.system.schemas import HealthOut, JobOut, SocketChannels, SocketError, SocketResync

router = APIRouter(responses=ERROR_RESPONSES)

MAX_CHANNELS_PER_SOCKET = 200


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.get("/health", response_model=Item[HealthOut], tags=["system"])
async def get_health(request: Request) -> Item[HealthOut]:
    return Item(data=await run_in_threadpool(service.health, _runtime(request)))


@router.get("/jobs", response_model=Page[JobOut], tags=["jobs"])
def list_jobs(
    request: Request,
    status: Annotated[list[str], Query(description="filter by status; repeat for several")] = [],  # noqa: B006
    active: Annotated[bool | None, Query(description="true: queued or running; false: finished")] = None,
    kind: str | None = None,
    page: Annotated[int, Query(ge=1, le=SAFE_INT)] = 1,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[JobOut]:
    jobs, total = service.list_jobs(_runtime(request), statuses=status, active=active, kind=kind, page=page,
                                    limit=limit)
    return Page(data=jobs, pagination=Pagination(page=page, limit=limit, total=total))


@router.get("/jobs/{job_id}", response_model=Item[JobOut], tags=["jobs"])
def get_job(request: Request, job_id: str) -> Item[JobOut]:
    return Item(data=service.get_job(_runtime(request), job_id))


@router.post("/jobs/{job_id}/cancel", response_model=Item[JobOut], tags=["jobs"])
def cancel_job(request: Request, job_id: str) -> Item[JobOut]:
    return Item(data=service.cancel_job(_runtime(request), job_id))


@router.websocket("/ws")
async def events_socket(websocket: WebSocket) -> None:
    """Live events. Send `{"type": "subscribe"|"unsubscribe", "channels": [...]}`; receive
    `{"channel", "event", "data"}`. Events are a live view: resync from REST after (re)connecting."""
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    subscription = runtime.bus.subscribe()
    sender = asyncio.create_task(_send_events(websocket, subscription))
    try:
        while True:
            reply = _apply_command(subscription, await websocket.receive_text())
            await websocket.send_json(reply)
    except WebSocketDisconnect:
        pass
    finally:
        runtime.bus.unsubscribe(subscription)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


def _apply_command(subscription: Subscription, raw: str) -> dict[str, Any]:
    try:
        command = json.loads(raw)
        kind, channels = command["type"], command.get("channels", [])
        if kind not in ("subscribe", "unsubscribe") or not isinstance(channels, list):
            raise ValueError
        channels = [str(channel) for channel in channels]
    except (ValueError, KeyError, TypeError):
        message = 'expected {"type": "subscribe"|"unsubscribe", "channels": ["jobs", ...]}'
        return _system("error", SocketError(message=message))
    if kind == "subscribe":
        if len(subscription.channels | set(channels)) > MAX_CHANNELS_PER_SOCKET:
            limit_message = f"at most {MAX_CHANNELS_PER_SOCKET} channels per connection"
            return _system("error", SocketError(message=limit_message))
        subscription.channels.update(channels)
    else:
        subscription.channels.difference_update(channels)
    return _system(f"{kind}d", SocketChannels(channels=sorted(subscription.channels)))


def _system(event: str, payload: BaseModel) -> dict[str, Any]:
    """A message of the socket itself, built from the payload model `system` declares for `event`."""
    return {"channel": "system", "event": event, "data": event_data("system", event, payload)}


async def _send_events(websocket: WebSocket, subscription: Subscription) -> None:
    while True:
        event = await subscription.queue.get()
        if subscription.overflowed:
            # The client fell behind, or the relay lost Redis, and events were lost: it reloads state from REST.
            subscription.overflowed = False
            await websocket.send_json(_system("resync", SocketResync()))
        if event is not RESYNC:
            await websocket.send_json(event.as_message())
