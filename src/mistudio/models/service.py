"""Use cases of the models domain: preview, download, import, quantize, inspect, compare, delete.

The row is the truth. Its status follows the job producing it (`platform.lifecycle`): a job that died without
updating its model (killed, server restart) ends the model with it, so a model never claims to be downloading
when nothing is.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from mistudio.errors import Conflict, InvalidInput, NotFound, RateLimited
from mistudio.lens import architecture, hub
from mistudio.models.formats import budget_bytes, format_estimates, resolve_device
from mistudio.models.schemas import (
    ArchitectureOut,
    CompareOut,
    ConfigDifference,
    DeleteOut,
    DownloadIn,
    FormatsOut,
    HookPointComparison,
    ImportIn,
    ModelAccepted,
    ModelOut,
    ModelPatch,
    Pair,
    PreviewIn,
    PreviewOut,
    QuantizeIn,
    RepoFileOut,
    VariantAccepted,
    VariantOut,
)
from mistudio.models.tables import Model, ModelVariant
from mistudio.platform.db import session_scope, utcnow
from mistudio.platform.jobs import resources
from mistudio.platform.jobs.table import Job
from mistudio.platform.lifecycle import Resource, Status, cancellable_job
from mistudio.platform.runtime import Runtime
from mistudio.platform.storage import Storage

DOWNLOAD_KIND = "models.download"
IMPORT_KIND = "models.import"
CONVERT_GGUF_KIND = "models.convert_gguf"
QUANTIZE_KIND = "models.quantize"
MODEL_RESOURCE = Model.resource  # how other domains' jobs name a model they read
GGUF_MAGIC = b"GGUF"


# --- reading ---------------------------------------------------------------------------------------------
def _load(session: Session, model_id: str) -> Model:
    model = session.get(Model, model_id, options=[selectinload(Model.variants)])
    if model is None:
        raise NotFound(f"model {model_id!r} not found", details={"id": model_id})
    return model


def _model_out(model: Model) -> ModelOut:
    out = ModelOut.model_validate(model)
    arch = model.architecture or {}
    out.num_layers, out.hidden_size = arch.get("num_layers"), arch.get("hidden_size")
    return out


def get_model(runtime: Runtime, model_id: str) -> ModelOut:
    with session_scope(runtime.sessions) as session:
        return _model_out(_load(session, model_id))


def list_models(runtime: Runtime, *, status: str | None = None, ready: bool | None = None, family: str | None = None,
                fmt: str | None = None, search: str | None = None, page: int = 1,
                limit: int = 50) -> tuple[list[ModelOut], int]:
    """Models newest first; `ready` keeps only the usable ones (completed and compatible) or only the others."""
    query = select(Model)
    if status:
        query = query.where(Model.status == status)
    if ready is not None:
        usable = (Model.status == Status.COMPLETED.value) & Model.incompatible_reason.is_(None)
        query = query.where(usable if ready else ~usable)
    if family:
        query = query.where(Model.family == family)
    if fmt:
        loaded = select(ModelVariant.model_id).where(ModelVariant.format == fmt,
                                                     ModelVariant.status == Status.COMPLETED.value)
        query = query.where(Model.id.in_(loaded))
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Model.name).like(pattern), func.lower(Model.repo_id).like(pattern)))
    with session_scope(runtime.sessions) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(
            query.options(selectinload(Model.variants)).order_by(Model.created_at.desc(), Model.id)
            .offset((page - 1) * limit).limit(limit)
        ).all()
        return [_model_out(model) for model in rows], total


def update_model(runtime: Runtime, model_id: str, patch: ModelPatch) -> ModelOut:
    with session_scope(runtime.sessions) as session:
        model = _load(session, model_id)
        for field, value in patch.model_dump(exclude_unset=True).items():
            if field == "name" and value is None:
                raise InvalidInput("name cannot be empty")
            setattr(model, field, value)
        session.flush()
        return _model_out(model)


def get_architecture(runtime: Runtime, model_id: str) -> ArchitectureOut:
    with session_scope(runtime.sessions) as session:
        model = _load(session, model_id)
        if not model.architecture:
            raise Conflict(f"model {model_id!r} has no architecture yet (status {model.status}): "
                           "it is read when the download or import finishes")
        described = {**model.architecture, "model_id": model.id, "config": model.config or {}}
        return ArchitectureOut.model_validate(described)


def compare(runtime: Runtime, a_id: str, b_id: str) -> CompareOut:
    with session_scope(runtime.sessions) as session:
        a, b = _load(session, a_id), _load(session, b_id)
        for model in (a, b):
            if not model.architecture:
                raise Conflict(f"model {model.id!r} ({model.name}) has no architecture to compare (status "
                               f"{model.status})")
        diff = architecture.compare_architectures(a.architecture or {}, b.architecture or {})
        return CompareOut(
            a=_model_out(a), b=_model_out(b),
            config_differences=[ConfigDifference(**item) for item in diff["config_differences"]],
            parameters=Pair(**diff["parameters"]), num_layers=Pair(**diff["num_layers"]),
            size_bytes=Pair(a=a.size_bytes, b=b.size_bytes), hook_points=HookPointComparison(**diff["hook_points"]),
        )


# --- memory and formats ----------------------------------------------------------------------------------
def formats_for_model(runtime: Runtime, model_id: str, *, device: str | None = None,
                      budget_gb: float | None = None) -> FormatsOut:
    with session_scope(runtime.sessions) as session:
        model = _load(session, model_id)
        config = _usable_config(model)
    device = resolve_device(device or runtime.settings.device)
    budget = budget_bytes(runtime.settings, budget_gb)
    return FormatsOut(device=device, memory_budget_bytes=budget, formats=format_estimates(config, device, budget))


def _usable_config(model: Model) -> dict[str, Any]:
    if not model.ready or not model.config:
        raise Conflict(f"model {model.id!r} is {describe(model)}; only ready models can be loaded")
    return model.config


def describe(model: Model | ModelOut) -> str:
    """Its state in a few words for a refusal: "failed: sha256 mismatch", "incompatible: not a causal LM"."""
    if model.status == Status.COMPLETED.value and model.incompatible_reason:
        return f"incompatible: {model.incompatible_reason}"
    return f"{model.status}: {model.message}" if model.message and not model.active else model.status


# --- preview and download --------------------------------------------------------------------------------
def preview(runtime: Runtime, body: PreviewIn) -> PreviewOut:
    """Everything about a hub repo a user needs before downloading it; no weights are fetched."""
    repo_id = hub.validate_repo_id(body.repo_id)
    info = hub.preview_repo(repo_id, revision=body.revision, token=hub.resolve_token(body.token),
                            endpoint=runtime.settings.hf_endpoint)
    config = info.config or {}
    compat = architecture.check_compatibility(config) if config else None
    compatible = bool(compat and compat.compatible)
    parameter_count, source = info.parameter_count, "safetensors" if info.parameter_count is not None else None
    if parameter_count is None and compatible:
        parameter_count, source = architecture.count_parameters(config), "config"
    device = resolve_device(runtime.settings.device)
    budget = budget_bytes(runtime.settings, body.budget_gb)
    return PreviewOut(
        repo_id=repo_id, revision=info.revision, model_type=config.get("model_type"),
        family=compat.family if compat else None, compatible=compatible,
        incompatible_reason=(compat.reason if compat else "the repo has no config.json, so it is not a "
                             "transformers model") if not compatible else None,
        requires_trust_remote_code="auto_map" in config, parameter_count=parameter_count,
        parameter_source=source, files=[RepoFileOut(path=f.path, size=f.size) for f in info.files],
        total_files=info.total_files, download_bytes=info.download_bytes, gated=info.gated, private=info.private,
        license=info.license, pipeline_tag=info.pipeline_tag, device=device, memory_budget_bytes=budget,
        formats=format_estimates(config, device, budget) if compatible else [],
    )


def _check_rate_limit(runtime: Runtime, session: Session) -> None:
    limit = runtime.settings.downloads_per_hour
    since = utcnow() - dt.timedelta(hours=1)
    recent = session.scalars(
        select(Job.created_at).where(Job.kind == DOWNLOAD_KIND, Job.created_at >= since).order_by(Job.created_at)
    ).all()
    if len(recent) >= limit:
        retry_after = max(1, int((recent[0] + dt.timedelta(hours=1) - utcnow()).total_seconds()) + 1)
        raise RateLimited(
            f"at most {limit} model downloads per hour (MISTUDIO_DOWNLOADS_PER_HOUR); try again in {retry_after}s",
            details={"retry_after_seconds": retry_after}, headers={"Retry-After": str(retry_after)},
        )


def check_disk(storage: Storage, needed_bytes: int) -> None:
    """Refuse work that cannot fit on the data disk before anything is written."""
    free = storage.disk_usage().free
    if needed_bytes > free:
        raise hub.InsufficientDisk(needed_bytes, free, storage.home)


def start_download(runtime: Runtime, body: DownloadIn) -> ModelAccepted:
    """Check the repo (exists, accessible, fits on disk), record the model, queue its download."""
    repo_id = hub.validate_repo_id(body.repo_id)
    with session_scope(runtime.sessions) as session:
        _check_rate_limit(runtime, session)
    token = hub.resolve_token(body.token)
    # A preview first: a missing or gated repo fails here with its message, before anything is queued.
    info = hub.preview_repo(repo_id, revision=body.revision, token=token, endpoint=runtime.settings.hf_endpoint)
    if info.gated and info.config is None:  # the hub lists a gated repo's files but serves none without access
        raise hub.gated_repo_error(repo_id, runtime.settings.hf_endpoint, token_given=bool(token))
    check_disk(runtime.storage, info.download_bytes)
    with session_scope(runtime.sessions) as session:
        model = Model(
            name=body.name or repo_id, source="hub", repo_id=repo_id, revision=body.revision,
            commit_sha=info.revision, download_bytes=info.download_bytes,
            license=info.license, gated=info.gated, trust_remote_code=body.trust_remote_code, storage_mode="copy",
            variants=[],
        )
        session.add(model)
        session.flush()
        model_id = model.id
    return _submit_model_job(runtime, model_id, DOWNLOAD_KIND, {
        "model_id": model_id, "repo_id": repo_id, "revision": info.revision, "format": body.format,
    }, body.token)


def _submit_model_job(runtime: Runtime, model_id: str, kind: str, params: dict[str, Any],
                      token: str | None = None) -> ModelAccepted:
    # Only a token the user typed travels as a secret; one from HF_TOKEN or the login file is read by the job.
    job = runtime.runner.submit(kind, params, secrets={"hf_token": token} if token else None,
                                writes=[(Model.resource, model_id)])
    with session_scope(runtime.sessions) as session:
        return ModelAccepted.model_validate({**_model_out(_load(session, model_id)).model_dump(), "job_id": job.id})


def retry(runtime: Runtime, model_id: str, token: str | None = None) -> ModelAccepted:
    """Run a stopped download or import again; files already verified are kept and not fetched again."""
    with session_scope(runtime.sessions) as session:
        model = _load(session, model_id)
        if not model.retryable:
            raise Conflict(f"model {model_id!r} is {model.status}; only failed, interrupted or cancelled "
                           "downloads and imports can be retried", details={"status": model.status})
        source, repo_id, revision, source_path = model.source, model.repo_id, model.commit_sha, model.source_path
        mode = model.storage_mode
        if source == "hub":
            _check_rate_limit(runtime, session)
    if source == "hub":
        return _submit_model_job(runtime, model_id, DOWNLOAD_KIND,
                                 {"model_id": model_id, "repo_id": repo_id, "revision": revision, "format": None},
                                 token)
    kind = CONVERT_GGUF_KIND if source == "gguf" else IMPORT_KIND
    return _submit_model_job(runtime, model_id, kind, {"model_id": model_id, "path": source_path, "mode": mode,
                                                       "format": None})


def cancel_download(runtime: Runtime, model_id: str) -> ModelOut:
    """Stop the download or import producing this model; partial files are removed."""
    with session_scope(runtime.sessions) as session:
        job_id = cancellable_job(_load(session, model_id), f"model {model_id!r}")
    job = runtime.runner.cancel(job_id)
    if job.status == Status.CANCELLED.value:  # it had not started (its row ended with it): no job cleans up but us
        remove_model_files(runtime.storage, model_id)
        with session_scope(runtime.sessions) as session:
            _load(session, model_id).size_bytes = 0
    return get_model(runtime, model_id)


# --- import -----------------------------------------------------------------------------------------------
def classify_import_path(raw_path: str) -> tuple[Path, str]:
    """Resolve an import path and say what it is: ("folder"|"gguf"); anything else is refused."""
    path = Path(raw_path).expanduser()
    if not path.is_absolute():
        raise InvalidInput(f"import path {raw_path!r} must be absolute (a folder or .gguf file on the server)")
    path = path.resolve()
    if not path.exists():
        raise InvalidInput(f"nothing at {path}: give the path of a HF model folder or a .gguf file on the server")
    if path.is_file():
        with path.open("rb") as handle:
            if handle.read(4) == GGUF_MAGIC:
                return path, "gguf"
        raise InvalidInput(f"{path} is not a GGUF file (it does not start with the GGUF magic bytes)")
    if not (path / "config.json").is_file():
        raise InvalidInput(f"{path} is not a model folder: it has no config.json")
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise InvalidInput(f"{path} is not a model folder: it has no *.safetensors or *.bin weights")
    return path, "folder"


def start_import(runtime: Runtime, body: ImportIn) -> ModelAccepted:
    path, source = classify_import_path(body.path)
    size = path.stat().st_size if source == "gguf" else sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    # A GGUF is dequantized to fp32 safetensors: about 4 bytes per parameter, several times the GGUF size.
    needed = size * 8 if source == "gguf" else (size if body.mode == "copy" else 0)
    check_disk(runtime.storage, needed)
    with session_scope(runtime.sessions) as session:
        model = Model(name=body.name or (path.stem if source == "gguf" else path.name), source=source,
                      source_path=str(path), storage_mode=body.mode if source == "folder" else "copy",
                      trust_remote_code=body.trust_remote_code, variants=[])
        session.add(model)
        session.flush()
        model_id = model.id
    kind = CONVERT_GGUF_KIND if source == "gguf" else IMPORT_KIND
    return _submit_model_job(runtime, model_id, kind, {"model_id": model_id, "path": str(path),
                                                       "mode": model.storage_mode, "format": body.format})


# --- variants (quantization) ------------------------------------------------------------------------------
def create_variant(session: Session, model: Model, fmt: str, device: str) -> ModelVariant:
    """A variant row to quantize into; an existing one of the same format and device is reused only if it stopped.

    Submitting its job (`submit_variant`) queues it."""
    for variant in model.variants:
        if variant.requested_format == fmt and variant.device == device:
            if not variant.retryable:
                raise Conflict(f"model {model.id!r} already has a {fmt} variant on {device} "
                               f"({variant.status}, id {variant.id})", details={"variant_id": variant.id})
            variant.steps = []
            return variant
    variant = ModelVariant(model_id=model.id, requested_format=fmt, device=device, steps=[])
    model.variants.append(variant)
    session.flush()
    return variant


def start_quantize(runtime: Runtime, model_id: str, body: QuantizeIn) -> VariantAccepted:
    from mistudio.lens import quantize

    device = resolve_device(body.device or runtime.settings.device)
    availability = quantize.format_availability(body.format, device)
    if not availability.available:
        raise InvalidInput(f"format {body.format} is not available on {device}: {availability.reason}")
    with session_scope(runtime.sessions) as session:
        model = _load(session, model_id)
        _usable_config(model)
        variant_id = create_variant(session, model, body.format, device).id
    params, declared = variant_job(model_id, variant_id)
    job_id = runtime.runner.submit(QUANTIZE_KIND, params, **declared).id
    with session_scope(runtime.sessions) as session:
        variant = session.get(ModelVariant, variant_id)
        if variant is None:
            raise NotFound(f"variant {variant_id!r} was deleted as its job was queued", details={"id": variant_id})
        return VariantAccepted.model_validate({**VariantOut.model_validate(variant).model_dump(), "job_id": job_id})


def variant_job(model_id: str, variant_id: str) -> tuple[dict[str, Any], dict[str, list[Resource]]]:
    """Params and resources of the quantize job that builds a variant (it reads the model's files)."""
    return ({"model_id": model_id, "variant_id": variant_id},
            {"reads": [(Model.resource, model_id)], "writes": [(ModelVariant.resource, variant_id)]})


# --- delete -----------------------------------------------------------------------------------------------
def delete_model(runtime: Runtime, model_id: str) -> DeleteOut:
    """Remove a model, its variants and its files; refused while a job reads or writes any of them."""
    with session_scope(runtime.sessions) as session:
        model = _load(session, model_id)
        resources.refuse_if_used(session, f"model {model_id!r}", [(Model.resource, model_id),
                                                        *((ModelVariant.resource, v.id) for v in model.variants)])
        variants = len(model.variants)
        session.delete(model)
    return DeleteOut(id=model_id, bytes_freed=remove_model_files(runtime.storage, model_id),
                     variants_removed=variants)


def delete_variant(runtime: Runtime, model_id: str, variant_id: str) -> DeleteOut:
    with session_scope(runtime.sessions) as session:
        variant = session.get(ModelVariant, variant_id)
        if variant is None or variant.model_id != model_id:
            raise NotFound(f"variant {variant_id!r} of model {model_id!r} not found", details={"id": variant_id})
        resources.refuse_if_used(session, f"variant {variant_id!r}", [(ModelVariant.resource, variant_id)])
        session.delete(variant)
    # Variants are load recipes over the raw files: deleting one frees no disk.
    return DeleteOut(id=variant_id, bytes_freed=0, variants_removed=1)


def folder_bytes(folder: Path) -> int:
    """Bytes a folder really holds on disk (links to a user's own files count as nothing)."""
    if not folder.exists():
        return 0
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def remove_model_files(storage: Storage, model_id: str) -> int:
    """Delete everything stored for a model; returns the bytes freed."""
    folders = [storage.model_raw_dir(model_id), *storage.model_quantized_dirs(model_id)]
    freed = 0
    for folder in folders:
        freed += folder_bytes(folder)
        shutil.rmtree(folder, ignore_errors=True)
    return freed
