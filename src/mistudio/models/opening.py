"""Opening a model the way the user configured it: the one way every job and the model host open a model.

The spec is built here from the model's row (folder, trust flag, the format a ready variant really obtained) and the
settings (GPU memory cap, load time limit), and `open_model_spec` turns it into a `lens.model.ModelHandle`. The spec
is plain JSON so it can travel to the model host.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mistudio.errors import Conflict, NotFound
from mistudio.models.tables import Model
from mistudio.platform.storage import Storage


def model_open_spec(session: Session, storage: Storage, settings: Any, model_id: str, fmt: str | None,
                    device: str, *, fallback: bool = True) -> dict[str, Any]:
    """How to open `model_id` as `fmt` on `device`: NotFound / Conflict when it is missing or not ready."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"model {model_id!r} not found", details={"id": model_id})
    if not model.ready:
        reason = model.incompatible_reason or f"it is {model.status}"
        raise Conflict(f"model {model_id!r} cannot be opened: {reason}", details={"status": model.status})
    # A variant that fell back when it was built loads in the format it obtained, not the one first asked for.
    proven = next((v.format for v in model.variants if v.ready and v.requested_format == fmt and v.device == device
                   and v.format), None) if fmt else None
    cap_gb = getattr(settings, "max_gpu_memory_gb", None)
    return {"model_id": model_id, "name": model.name, "folder": str(storage.model_raw_dir(model_id)),
            "format": proven or fmt, "requested_format": fmt, "device": device,
            "trust_remote_code": bool(model.trust_remote_code), "fallback": fallback,
            "gpu_memory_cap_bytes": int(cap_gb * 1024**3) if cap_gb else None,
            "load_timeout_seconds": float(getattr(settings, "model_load_timeout_seconds", 300))}


def open_model_spec(spec: dict[str, Any], *, on_step: Any = None) -> Any:
    """Open what `model_open_spec` described (in the process that will use it): a `lens.model.ModelHandle`."""
    from mistudio.lens import memory
    from mistudio.lens.model import open_model

    device = spec["device"]
    free = None
    if spec.get("fallback"):
        free = memory.free_memory_bytes(device)
        if device.startswith("cuda") and spec.get("gpu_memory_cap_bytes"):
            free = min(free, int(spec["gpu_memory_cap_bytes"]))
    return open_model(spec["folder"], spec["format"], device, trust_remote_code=spec["trust_remote_code"],
                      fallback=bool(spec.get("fallback")), free_bytes=free, on_step=on_step)


def open_model_for_job(ctx: Any, spec: dict[str, Any], *, on_step: Any = None) -> Any:
    """`open_model_spec` inside a job, under the load time limit (a stuck load fails the job, changing nothing)."""
    timeout = spec["load_timeout_seconds"]
    with ctx.time_limit(timeout, f"loading {spec['name']} took more than {timeout:g}s "
                                 "(MISTUDIO_MODEL_LOAD_TIMEOUT_SECONDS); nothing was changed"):
        return open_model_spec(spec, on_step=on_step)
