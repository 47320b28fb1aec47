"""Job bodies of the models domain: download, import, GGUF conversion and quantization (variants)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mistudio.errors import MistudioError, UserError
from mistudio.lens import architecture, hub
from mistudio.lens.units import human_bytes
from mistudio.models import service
from mistudio.models.formats import resolve_device
from mistudio.models.opening import model_open_spec, open_model_for_job
from mistudio.models.schemas import ModelDownloadProgress
from mistudio.models.tables import Model, ModelVariant
from mistudio.platform.db import session_scope
from mistudio.platform.jobs.context import JobContext
from mistudio.platform.jobs.registry import job_kind
from mistudio.platform.jobs.tracked import Completed, run_tracked
from mistudio.platform.lifecycle import Status

ModelBody = Callable[[JobContext, dict[str, Any], Path], Completed]


def _run_model_job(ctx: JobContext, params: dict[str, Any], body: ModelBody, *, discard_on: tuple[Status, ...],
                   cancelled_by: tuple[type[BaseException], ...] = ()) -> dict[str, Any]:
    """Produce a model's files with `body` against its row; a stop in `discard_on` leaves no partial files behind
    (a failed download keeps the files it verified, so a retry does not fetch them again)."""
    model_id = params["model_id"]
    folder = ctx.storage.model_raw_dir(model_id)

    def on_stop(status: Status) -> dict[str, Any]:
        if status not in discard_on:
            return {}
        shutil.rmtree(folder, ignore_errors=True)
        return {"size_bytes": 0}

    result = run_tracked(ctx, Model, model_id, lambda: body(ctx, params, folder), cancelled_by=cancelled_by,
                         on_stop=on_stop)
    queue_requested_variant(ctx, model_id, params.get("format"))
    return result


@job_kind(service.DOWNLOAD_KIND, queue="io")
def run_download(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Fetch a model's files from the hub (resumable, verified), then read its architecture."""
    return _run_model_job(ctx, params, download, discard_on=(Status.CANCELLED,), cancelled_by=(hub.DownloadCancelled,))


def download(ctx: JobContext, params: dict[str, Any], folder: Path) -> Completed:
    model_id, repo_id = params["model_id"], params["repo_id"]
    channel = f"models/{model_id}/progress"

    def on_progress(progress: hub.DownloadProgress) -> None:
        eta = f", {progress.eta_seconds:.0f}s left" if progress.eta_seconds is not None else ""
        message = (f"{human_bytes(progress.bytes_done)} of {human_bytes(progress.bytes_total)} at "
                   f"{human_bytes(progress.bytes_per_second)}/s{eta}")
        ctx.progress(progress.bytes_done / progress.bytes_total if progress.bytes_total else None, message)
        ctx.emit(channel, "progress", ModelDownloadProgress(model_id=model_id, **asdict(progress)))

    # A token typed by the user arrives as a secret; otherwise the user's own HF login (HF_TOKEN / token file).
    token = ctx.secrets.get("hf_token") or hub.resolve_token(None)
    result = hub.download_repo(repo_id, folder, revision=params.get("revision"), token=token,
                               endpoint=ctx.settings.hf_endpoint if ctx.settings else None,
                               on_progress=on_progress, should_stop=ctx.should_stop)
    ctx.note(f"downloaded {len(result.files)} files ({human_bytes(result.bytes_total)}; "
             f"{human_bytes(result.bytes_transferred)} transferred this run), all verified against the hub's hashes")
    done = finalize_model(ctx, model_id, folder)
    done.fields["commit_sha"] = result.revision
    done.result["bytes_transferred"] = result.bytes_transferred
    return done


@job_kind(service.IMPORT_KIND, queue="io")
def run_import(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Copy (or link) a local HF model folder's model files into the data directory; a stop keeps nothing."""
    return _run_model_job(ctx, params, import_folder, discard_on=(Status.CANCELLED, Status.FAILED))


def import_folder(ctx: JobContext, params: dict[str, Any], folder: Path) -> Completed:
    model_id, source = params["model_id"], Path(params["path"])
    relative = hub.select_model_files([p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()])
    total = sum((source / name).stat().st_size for name in relative) or 1
    done = 0
    try:
        for name in relative:
            ctx.raise_if_cancelled()
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            if params["mode"] == "link":
                os.symlink(source / name, target)
            else:
                shutil.copyfile(source / name, target)
            done += (source / name).stat().st_size
            ctx.progress(done / total, f"{'linked' if params['mode'] == 'link' else 'copied'} {name}")
    except OSError as exc:
        raise MistudioError(f"importing {source} failed: {exc.strerror or exc}; nothing was kept") from exc
    ctx.note(f"{params['mode']} of {len(relative)} files from {source}")
    return finalize_model(ctx, model_id, folder)


@job_kind(service.CONVERT_GGUF_KIND, queue="gpu")
def run_convert_gguf(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Dequantize a GGUF file once into safetensors, so later loads take seconds instead of a GGUF parse."""
    return _run_model_job(ctx, params, convert_gguf, discard_on=(Status.CANCELLED, Status.FAILED))


def convert_gguf(ctx: JobContext, params: dict[str, Any], folder: Path) -> Completed:
    from mistudio.lens import gguf

    model_id, source = params["model_id"], Path(params["path"])
    started = time.monotonic()
    gguf.convert_gguf(source, folder, on_progress=lambda fraction, message: ctx.progress(fraction, message))
    ctx.raise_if_cancelled()
    ctx.note(f"converted {source.name} to safetensors in {time.monotonic() - started:.0f}s")
    return finalize_model(ctx, model_id, folder)


def finalize_model(ctx: JobContext, model_id: str, folder: Path) -> Completed:
    """Read config and safetensors headers (no weights): the row completes ready, or incompatible with the reason."""
    ctx.progress(None, "reading the architecture")
    config = json.loads((folder / "config.json").read_text())
    compat = architecture.check_compatibility(config)
    shapes = architecture.read_safetensors_shapes(folder)
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    fields: dict[str, Any] = {"config": config, "model_type": config.get("model_type"), "size_bytes": size,
                              "family": compat.family, "incompatible_reason": None}
    if compat.compatible:
        described = architecture.describe_architecture(config, shapes or None)
        fields |= {"architecture": described, "parameter_count": described["parameters"]["total"]}
    else:
        counted = sum(_numel(shape) for shape, _dtype in shapes.values()) if shapes else None
        fields |= {"parameter_count": counted, "incompatible_reason": compat.reason}
        ctx.note(f"stored as incompatible: {compat.reason}", level="warning")
    return Completed(result={"model_id": model_id, "compatible": compat.compatible, "size_bytes": size,
                             "parameter_count": fields["parameter_count"]}, fields=fields)


def _numel(shape: list[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


def queue_requested_variant(ctx: JobContext, model_id: str, fmt: str | None) -> None:
    """The format chosen at download/import time becomes a quantize job of its own (queue `gpu`)."""
    if not fmt:
        return
    device = resolve_device(ctx.settings.device if ctx.settings else "auto")
    with session_scope(ctx.sessions) as session:
        model = session.get(Model, model_id)
        if model is None or not model.ready:
            return  # incompatible models are not loaded
        variant_id = service.create_variant(session, model, fmt, device).id
    params, declared = service.variant_job(model_id, variant_id)
    job_id = ctx.submit(service.QUANTIZE_KIND, params, **declared)
    ctx.note(f"queued loading as {fmt} on {device} (job {job_id})")


@job_kind(service.QUANTIZE_KIND, queue="gpu")
def run_quantize(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Load the model in a format (falling back when memory runs out), prove it generates, measure it."""
    return run_tracked(ctx, ModelVariant, params["variant_id"], lambda: quantize_variant(ctx, params))


def quantize_variant(ctx: JobContext, params: dict[str, Any]) -> Completed:
    from mistudio.lens import memory, quantize

    model_id, variant_id = params["model_id"], params["variant_id"]
    with session_scope(ctx.sessions) as session:
        variant = session.get(ModelVariant, variant_id)
        model = session.get(Model, model_id)
        if variant is None or model is None:
            raise MistudioError(f"model {model_id!r} or its variant {variant_id!r} no longer exists")
        fmt, device, config = variant.requested_format, variant.device, model.config
        spec = model_open_spec(session, ctx.storage, ctx.settings, model_id, fmt, device)
    split = memory.split_parameters(config or {})
    steps: list[str] = []

    def on_step(step: str) -> None:
        steps.append(step)
        ctx.note(step)
        ctx.progress(None, step)

    try:
        loaded = open_model_for_job(ctx, spec, on_step=on_step)
        ctx.raise_if_cancelled()
        ctx.progress(0.9, "generating a few tokens to check the loaded model")
        sample = quantize.generate_check(loaded, loaded.tokenizer)
    except UserError:
        ctx.update_row(ModelVariant, variant_id, steps=steps)  # what the load tried is shown with the failure
        raise
    fields = {"format": loaded.format, "placement": loaded.placement, "footprint_bytes": loaded.footprint_bytes,
              "estimate_bytes": memory.estimate_memory(split, loaded.format, device), "steps": loaded.steps,
              "sample_output": sample}
    return Completed(result={"variant_id": variant_id, "format": loaded.format,
                             "footprint_bytes": loaded.footprint_bytes, "placement": loaded.placement},
                     fields=fields, message=None if loaded.format == fmt else f"{fmt} did not fit; loaded as "
                                                                              f"{loaded.format}")
