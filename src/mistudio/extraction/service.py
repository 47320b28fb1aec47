"""Use cases of the extraction domain: validate and estimate, start, follow, cancel, resume, list and delete.

The row is the truth: its status follows its job (`platform.lifecycle`), so one cut off by a restart shows as
`interrupted` and resumable.
Activations live in activations/{extraction_id}/ (see `lens.extraction_store`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mistudio.datasets import service as datasets
from mistudio.datasets import tokenizations
from mistudio.envelopes import Deleted
from mistudio.errors import Conflict, InvalidInput
from mistudio.extraction import estimate as estimates
from mistudio.extraction.schemas import EstimateOut, ExtractIn, ExtractionAccepted, ExtractionOut, HookStatistics
from mistudio.extraction.tables import Extraction
from mistudio.lens import data
from mistudio.lens.units import human_bytes
from mistudio.models import service as models
from mistudio.models.formats import resolve_device
from mistudio.platform.db import newest_first_page, row_or_404, session_scope
from mistudio.platform.jobs import resources
from mistudio.platform.lifecycle import Status, cancellable_job
from mistudio.platform.runtime import Runtime
from mistudio.platform.storage import Storage

EXTRACT_KIND = "extraction.extract"
MAX_BATCH_SIZE = 4096
# Files that define a tokenizer's vocabulary and merges: equal files mean equal token ids.
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt", "vocab.txt")


# --- validation -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """A validated extraction request, resolved against the model, the dataset and the tokenization."""

    model: Any  # models.schemas.ModelOut
    architecture: dict[str, Any]
    config: dict[str, Any]
    dataset_name: str
    tokenization: Any  # datasets.schemas.TokenizationOut
    sequences: data.TokenizedSequences
    device: str
    layers: list[int]
    hook_types: list[str]
    hook_points: list[str]
    samples: int
    seq_len: int
    tokens: int

    @property
    def layers_run(self) -> int:
        return max(self.layers) + 1


def _tokenizer_digest(storage: Storage, model_id: str) -> str | None:
    folder = storage.model_raw_dir(model_id)
    digest = hashlib.blake2b(digest_size=16)
    found = False
    for name in _TOKENIZER_FILES:
        path = folder / name
        if path.is_file():
            found = True
            digest.update(name.encode())
            content = path.read_bytes()
            if path.suffix == ".json":  # the same vocabulary saved with other formatting is the same tokenizer
                content = json.dumps(json.loads(content), sort_keys=True).encode()
            digest.update(content)
    return digest.hexdigest() if found else None


def _check_tokenizer(runtime: Runtime, model: Any, tokenization: Any) -> None:
    if tokenization.model_id == model.id:
        return
    ours = _tokenizer_digest(runtime.storage, model.id)
    if ours is not None and ours == _tokenizer_digest(runtime.storage, tokenization.model_id):
        return
    raise InvalidInput(f"tokenization {tokenization.id!r} was made with the tokenizer of {tokenization.tokenizer_name} "
                       f"(model {tokenization.model_id}), which is not {model.name}'s tokenizer: its token ids would "
                       f"mean other words to this model; tokenize the dataset with {model.name} first",
                       details={"field": "tokenization_id", "tokenizer_model_id": tokenization.model_id,
                                "model_id": model.id})


def _check_layers(layers: list[int], num_layers: int) -> list[int]:
    allowed = {"field": "layers", "min": 0, "max": num_layers - 1}
    if not layers:
        raise InvalidInput(f"choose at least one layer (0..{num_layers - 1})", details=allowed)
    for layer in layers:
        if not 0 <= layer < num_layers:
            raise InvalidInput(f"layer {layer} is out of range: this model has {num_layers} layers "
                               f"(0..{num_layers - 1})", details={**allowed, "value": layer})
    return sorted(set(layers))


def _check_hook_points(hook_types: list[str], layers: list[int], architecture: dict[str, Any]) -> list[str]:
    if not hook_types:
        raise InvalidInput("choose at least one hook point type (resid_pre, resid_post, mlp_out, attn_out)",
                           details={"field": "hook_points"})
    available = set(architecture.get("hook_points") or [])
    points = [f"blocks.{layer}.{hook}" for layer in layers for hook in dict.fromkeys(hook_types)]
    missing = [point for point in points if point not in available]
    if missing:
        family = architecture.get("family") or architecture.get("model_type")
        kinds = sorted({point.split(".")[-1] for point in available})
        raise InvalidInput(f"{family} models have no hook point {missing[0]}; hook point types here: "
                           f"{', '.join(kinds)}", details={"field": "hook_points", "allowed": kinds})
    return points


def _check_sizes(batch_size: int, max_samples: int | None, available: int) -> int:
    if batch_size < 1 or batch_size > MAX_BATCH_SIZE or batch_size & (batch_size - 1):
        raise InvalidInput(f"batch_size must be a power of 2 between 1 and {MAX_BATCH_SIZE} (1, 2, 4, … 32, …), "
                           f"got {batch_size}", details={"field": "batch_size", "min": 1, "max": MAX_BATCH_SIZE})
    if max_samples is None:
        return available
    if not 1 <= max_samples <= available:
        raise InvalidInput(f"max_samples must be between 1 and {available} (the sequences in this tokenization), "
                           f"got {max_samples}", details={"field": "max_samples", "min": 1, "max": available})
    return max_samples


def plan(runtime: Runtime, model_id: str, body: ExtractIn) -> Plan:
    """Check everything an extraction needs before any model is loaded; errors name the field and the range."""
    from mistudio.lens import quantize

    model = models.get_model(runtime, model_id)
    if not model.ready:
        raise Conflict(f"model {model_id!r} is {models.describe(model)}; only ready models can be extracted from",
                       details={"status": model.status})
    described = models.get_architecture(runtime, model_id)
    architecture, config = described.model_dump(), described.config
    device = resolve_device(body.device or runtime.settings.device)
    availability = quantize.format_availability(body.format, device)
    if not availability.available:
        raise InvalidInput(f"format {body.format} is not available on {device}: {availability.reason}",
                           details={"field": "format"})
    dataset = datasets.get_dataset(runtime, body.dataset_id)
    tokenization = tokenizations.get_tokenization(runtime, body.dataset_id, body.tokenization_id)
    if not tokenization.ready:
        raise Conflict(f"tokenization {tokenization.id!r} is {tokenization.status}; wait until it is ready",
                       details={"field": "tokenization_id", "status": tokenization.status})
    _check_tokenizer(runtime, model, tokenization)
    layers = _check_layers(body.layers, architecture["num_layers"])
    points = _check_hook_points(list(body.hook_points), layers, architecture)
    sequences = tokenizations.open_tokenized(runtime, body.dataset_id, body.tokenization_id)
    samples = _check_sizes(body.batch_size, body.max_samples, len(sequences))
    lengths = sequences.lengths()[:samples]
    return Plan(model=model, architecture=architecture, config=config, dataset_name=dataset.name,
                tokenization=tokenization, sequences=sequences, device=device, layers=layers,
                hook_types=list(dict.fromkeys(body.hook_points)), hook_points=points, samples=samples,
                seq_len=int(lengths.max()), tokens=int(lengths.sum()))


# --- estimates --------------------------------------------------------------------------------------------
def estimate(runtime: Runtime, model_id: str, body: ExtractIn, *, calibrate: bool = True) -> EstimateOut:
    """Storage, peak memory and (with a measured calibration batch) time; warnings, and whether it can start."""
    checked = plan(runtime, model_id, body)
    d_model = int(checked.architecture["hidden_size"])
    storage = estimates.storage_bytes(checked.samples, checked.seq_len, d_model, len(checked.hook_points), body.dtype)
    free_disk = runtime.storage.disk_usage().free
    peak = estimates.peak_memory_bytes(checked.config, checked.architecture, body.format, checked.device,
                                       body.batch_size, checked.seq_len, len(checked.hook_points))
    from mistudio.lens import memory  # torch: not needed to list or show extractions

    available = memory.free_memory_bytes(checked.device)
    seconds, calibration_out = None, None
    if calibrate:
        calibration, reused = estimates.calibrate(
            runtime.host, runtime.storage.model_raw_dir(model_id), model_id, body.format, checked.device,
            checked.sequences, checked.hook_points, trust_remote_code=checked.model.trust_remote_code)
        seconds = calibration.seconds_per_token_layer * checked.tokens * checked.layers_run
        calibration_out = estimates.calibration_out(calibration, reused)
    return EstimateOut(samples=checked.samples, seq_len=checked.seq_len, d_model=d_model,
                       hook_points=checked.hook_points, layers_run=checked.layers_run, storage_bytes=storage,
                       free_disk_bytes=free_disk, peak_memory_bytes=peak, available_memory_bytes=available,
                       seconds=seconds, calibration=calibration_out,
                       warnings=estimates.warnings_for(seconds=seconds, storage=storage, free_disk=free_disk,
                                                       peak_memory=peak, available_memory=available),
                       can_start=storage <= free_disk)


# --- reading ----------------------------------------------------------------------------------------------
def _load(session: Session, extraction_id: str) -> Extraction:
    return row_or_404(session, Extraction, extraction_id, "extraction")


def _out(storage: Storage, extraction: Extraction, schema: type[ExtractionOut] = ExtractionOut) -> Any:
    fields = {name: getattr(extraction, name) for name in ExtractionOut.model_fields if hasattr(extraction, name)}
    rate, left = extraction.samples_per_second, extraction.num_samples - extraction.samples_done
    running = extraction.status == Status.RUNNING.value
    return schema.model_validate({**fields, "path": str(storage.activations_dir(extraction.id)),
                                  "eta_seconds": left / rate if running and rate else None})


def get_extraction(runtime: Runtime, extraction_id: str) -> ExtractionOut:
    with session_scope(runtime.sessions) as session:
        return _out(runtime.storage, _load(session, extraction_id))


def list_extractions(runtime: Runtime, *, model_id: str | None = None, status: str | None = None, page: int = 1,
                     limit: int = 50) -> tuple[list[ExtractionOut], int]:
    query = select(Extraction)
    if model_id:
        query = query.where(Extraction.model_id == model_id)
    if status:
        query = query.where(Extraction.status == status)
    with session_scope(runtime.sessions) as session:
        rows, total = newest_first_page(session, query, Extraction, page, limit)
        return [_out(runtime.storage, row) for row in rows], total


def list_model_extractions(runtime: Runtime, model_id: str, *, page: int = 1,
                           limit: int = 50) -> tuple[list[ExtractionOut], int]:
    models.get_model(runtime, model_id)  # 404 for a model that does not exist
    return list_extractions(runtime, model_id=model_id, page=page, limit=limit)


def get_statistics(runtime: Runtime, extraction_id: str) -> dict[str, HookStatistics]:
    """Every hook point's statistics, per-dimension mean and variance included (from statistics.json)."""
    from mistudio.lens.extraction_store import open_activations

    extraction = get_extraction(runtime, extraction_id)
    if not extraction.ready:
        raise Conflict(f"extraction {extraction_id!r} is {extraction.status}; statistics are written when it "
                       "completes", details={"status": extraction.status})
    stored = open_activations(runtime.storage.activations_dir(extraction_id)).statistics
    return {point: HookStatistics.model_validate(values) for point, values in stored.items()}


# --- starting, cancelling, resuming -----------------------------------------------------------------------
def _running_on_model(session: Session, model_id: str) -> Extraction | None:
    active = [s.value for s in Status if s.active]
    return session.scalars(select(Extraction).where(Extraction.model_id == model_id,
                                                    Extraction.status.in_(active)).limit(1)).first()


def _refuse_second(session: Session, model_id: str) -> None:
    running = _running_on_model(session, model_id)
    if running is not None:
        raise Conflict(f"extraction {running.id} ({running.name}) is already {running.status} on this model; wait "
                       "for it, or cancel it first", details={"extraction_id": running.id})


def _auto_name(checked: Plan) -> str:
    layers = checked.layers
    span = f"layer{layers[0]}" if len(layers) == 1 else f"layers{layers[0]}-{layers[-1]}"
    return f"{'+'.join(checked.hook_types)}_{span}_{checked.samples}samples_{checked.dataset_name}"[:255]


def _submit(runtime: Runtime, extraction_id: str) -> ExtractionAccepted:
    with session_scope(runtime.sessions) as session:
        row = _load(session, extraction_id)
        params = {"extraction_id": row.id, "model_id": row.model_id, "dataset_id": row.dataset_id,
                  "tokenization_id": row.tokenization_id}
        reads = [(models.MODEL_RESOURCE, row.model_id), (datasets.DATASET_RESOURCE, row.dataset_id),
                 (datasets.TOKENIZATION_RESOURCE, row.tokenization_id)]
    runtime.runner.submit(EXTRACT_KIND, params, reads=reads, writes=[(Extraction.resource, extraction_id)])
    with session_scope(runtime.sessions) as session:
        return _out(runtime.storage, _load(session, extraction_id), ExtractionAccepted)


def start_extraction(runtime: Runtime, model_id: str, body: ExtractIn) -> ExtractionAccepted:
    """Validate, refuse what cannot fit on disk, record the extraction and queue its job (queue `gpu`)."""
    checked = plan(runtime, model_id, body)
    d_model = int(checked.architecture["hidden_size"])
    needed = estimates.storage_bytes(checked.samples, checked.seq_len, d_model, len(checked.hook_points), body.dtype)
    free = runtime.storage.disk_usage().free
    if needed > free:
        raise InvalidInput(f"the activations need {human_bytes(needed, 'GB')} but {human_bytes(free, 'GB')} is free on "
                           "the data disk; free some space, extract fewer samples, layers or hook points, or store "
                           "fp16/bf16", details={"needed_bytes": needed, "free_bytes": free})
    with session_scope(runtime.sessions) as session:
        _refuse_second(session, model_id)
        row = Extraction(name=body.name or _auto_name(checked), model_id=model_id, model_name=checked.model.name,
                         format=body.format, device=checked.device, dataset_id=body.dataset_id,
                         dataset_name=checked.dataset_name, tokenization_id=body.tokenization_id,
                         layers=checked.layers, hook_types=checked.hook_types, hook_points=checked.hook_points,
                         max_samples=body.max_samples, num_samples=checked.samples, seq_len=checked.seq_len,
                         d_model=d_model, batch_size=body.batch_size, dtype=body.dtype,
                         samples_done=0, size_bytes=0, estimate_bytes=needed,
                         oom_retries=[])
        session.add(row)
        session.flush()
        extraction_id = row.id
    return _submit(runtime, extraction_id)


def cancel(runtime: Runtime, extraction_id: str) -> ExtractionOut:
    """Stop a queued or running extraction; completed batches stay on disk and it can be resumed."""
    with session_scope(runtime.sessions) as session:
        job_id = cancellable_job(_load(session, extraction_id), f"extraction {extraction_id!r}")
    runtime.runner.cancel(job_id)  # one that had not started ended with its job
    return get_extraction(runtime, extraction_id)


def resume(runtime: Runtime, extraction_id: str) -> ExtractionAccepted:
    """Continue a cancelled, interrupted or failed extraction from its last completed batch."""
    with session_scope(runtime.sessions) as session:
        row = _load(session, extraction_id)
        if not row.resumable:
            raise Conflict(f"extraction {extraction_id!r} is {row.status}; only cancelled, interrupted or failed "
                           "extractions can be resumed", details={"status": row.status})
        _refuse_second(session, row.model_id)
    return _submit(runtime, extraction_id)


# --- delete -----------------------------------------------------------------------------------------------
def delete_extraction(runtime: Runtime, extraction_id: str) -> Deleted:
    """Remove an extraction and its activations; refused while a job writes it (its own) or reads it (a training)."""
    with session_scope(runtime.sessions) as session:
        row = _load(session, extraction_id)
        users = resources.users(session, [(Extraction.resource, extraction_id)])
        if users:
            job = users[0]
            what = "it is still running" if job.id == row.job_id else f"job {job.id} ({job.kind}) uses it"
            raise Conflict(f"extraction {extraction_id!r} cannot be deleted: {what}; cancel that job first or wait "
                           "for it to finish", details={"job_id": job.id, "kind": job.kind})
        session.delete(row)
    folder = runtime.storage.activations_dir(extraction_id)
    freed = models.folder_bytes(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return Deleted(id=extraction_id, bytes_freed=freed)
