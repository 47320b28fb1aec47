"""Job kinds that exist only for the tests (loaded through MISTUDIO_JOB_MODULES, never by the product)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mistudio.platform.events import EventPayload, declare_channel
from mistudio.platform.jobs.context import JobContext
from mistudio.platform.jobs.registry import job_kind


class Tick(EventPayload):
    """A test job's count so far, on `test/{job_id}` (a module outside the product declares its own channel)."""

    step: int


declare_channel("test/{job_id}", {"tick": Tick})


@job_kind("test.count", queue="io")
def count(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Counts to `n`, reporting progress each step and stopping when asked."""
    steps, delay = int(params.get("n", 10)), float(params.get("delay", 0.05))
    for step in range(steps):
        if ctx.should_stop():
            return {"stopped_at": step}
        ctx.progress((step + 1) / steps, f"step {step + 1}/{steps}")
        ctx.emit(f"test/{ctx.job_id}", "tick", Tick(step=step + 1))
        time.sleep(delay)
    return {"count": steps}


@job_kind("test.heavy", queue="gpu")
def heavy(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Like test.count but in the one-at-a-time `gpu` queue."""
    return count(ctx, params)


@job_kind("test.fail", queue="io")
def fail(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.progress(0.3, "about to fail")
    raise RuntimeError(params.get("message", "boom"))


@job_kind("test.stubborn", queue="io")
def stubborn(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Ignores cancel requests, so only the hard kill can stop it."""
    ctx.progress(0.1, "not listening")
    time.sleep(float(params.get("seconds", 60)))
    return {}


@job_kind("test.secret", queue="io")
def secret(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Reports whether the secret arrived, without ever echoing it."""
    token = ctx.secrets.get("token", "")
    return {"got_token": bool(token), "token_length": len(token)}


@job_kind("test.stuck", queue="io")
def stuck(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Work that cannot be interrupted (like a model load), under a time limit."""
    with ctx.time_limit(float(params["limit"]), "took too long: raise the limit"):
        time.sleep(float(params.get("seconds", 60)))
    return {"finished": True}


@job_kind("test.follow_up", queue="io")
def follow_up(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Queues a test.count job of its own, the way a download queues its quantization."""
    return {"queued": ctx.submit("test.count", {"n": 2, "delay": 0.01})}


@job_kind("test.resumable", queue="gpu", resumable=True)
def resumable(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Counts to `n`, saving its count to `path` after each step: run again, it continues where it stopped (the way
    extraction and training continue from their checkpoints)."""
    path, steps, delay = Path(params["path"]), int(params.get("n", 10)), float(params.get("delay", 0.05))
    start = int(path.read_text()) if path.exists() else 0
    for step in range(start, steps):
        if ctx.should_stop():
            return {"stopped_at": step}
        ctx.progress((step + 1) / steps, f"step {step + 1}/{steps}")
        time.sleep(delay)
        partial = path.with_suffix(".partial")  # replaced whole, so a reader never sees it half-written
        partial.write_text(str(step + 1))
        partial.replace(path)
    return {"count": steps, "started_at": start}
