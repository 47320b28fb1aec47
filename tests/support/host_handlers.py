"""Model-host handlers for the platform tests: streaming, waiting to be stopped, resident entries, failing.

Named by the tests when they build a `ModelHost` (`host_modules=[__name__]`); the host process imports this module.
"""

from __future__ import annotations

import time
from typing import Any

from mistudio.errors import InvalidInput
from mistudio.platform.host.child import HostContext
from mistudio.platform.host.registry import host_handler


@host_handler("test.echo")
def echo(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    for index in range(payload.get("events", 0)):
        ctx.emit("item", {"index": index})
    return {"echo": payload.get("value")}


@host_handler("test.wait")
def wait_until_stopped(ctx: HostContext, payload: dict[str, Any]) -> str:
    """Says it started, then works until stopped (what a long generation looks like to the host)."""
    ctx.emit("started", {})
    deadline = time.monotonic() + payload.get("timeout", 60)
    while not ctx.should_stop():
        if time.monotonic() > deadline:
            return "timed out"
        time.sleep(0.01)
    return "stopped"


@host_handler("test.resident")
def resident(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Use (loading if absent) an entry of `size` bytes under `key` (on the `device` it names, cpu by default): what
    a model load looks like to the cache."""
    size, device = payload["size"], payload.get("device", "cpu")
    with ctx.cache.use(payload["key"], lambda: (bytearray(size), size, device), size) as (_value, warm):
        return {"warm": warm}


@host_handler("test.fail")
def fail(ctx: HostContext, payload: dict[str, Any]) -> None:
    raise InvalidInput("this request was wrong", details={"field": "x"})
