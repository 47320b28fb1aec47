"""Use cases of the training domain: plan and start a run, follow, pause and resume it, list its metrics and
checkpoints, and keep the SAEs it produced (or that were imported).

A run's row follows its job (`platform.lifecycle`): one cut off by a restart shows `interrupted` and resumes from its
newest checkpoint (checkpoints/{training_id}/step_{n}/). SAEs live in saes/{sae_id}/ in the SAELens layout.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from sqlalchemy import select

from mistudio.envelopes import Deleted
from mistudio.errors import Conflict, InvalidInput
from mistudio.extraction import service as extractions
from mistudio.models import service as models
from mistudio.models.formats import resolve_device
from mistudio.platform.db import newest_first_page, row_or_404, session_scope
from mistudio.platform.lifecycle import Status, cancellable_job
from mistudio.platform.runtime import Runtime
from mistudio.training.schemas import (
    CheckpointOut,
    MetricPoint,
    SAEEstimate,
    SAESpec,
    TrainIn,
    TrainingAccepted,
    TrainingEstimate,
    TrainingOut,
)
from mistudio.training.tables import Training, TrainingMetric

TRAIN_KIND = "training.train"
EXTRACTION_RESOURCE = "extraction"
K_FAMILY = ("topk", "batchtopk", "matryoshka")
# Settings of the run that lens.sae.TrainConfig takes as they are.
_SHARED = ("batch_tokens", "seed", "compute_dtype", "normalize_input", "b_dec_init", "dead_window_tokens",
           "log_every", "checkpoint_every", "keep_checkpoints")


# --- planning ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    model_id: str
    model_name: str
    source: dict[str, Any]  # the row's source fields: source, extraction_id, dataset_id, tokenization_id, format
    description: str  # for the run's default name
    members: list[dict[str, Any]]
    settings: dict[str, Any]
    d_in: int
    d_out: int
    total_steps: int
    train_tokens: int  # one epoch, after the hold-out split


def reads(spec: SAESpec, body: TrainIn) -> tuple[str, str | None]:
    """The hook point an SAE of the run reads and the one it reconstructs (None: the same, an SAE)."""
    if spec.hook_point is None or spec.hook_point == body.hook_point:
        target = spec.target_hook_point or body.target_hook_point
        return body.hook_point, None if target in (None, body.hook_point) else target
    return spec.hook_point, None if spec.target_hook_point in (None, spec.hook_point) else spec.target_hook_point


def hook_points_read(body: TrainIn) -> list[str]:
    """Every hook point the run reads, the run's own first: the source's columns."""
    points = [body.hook_point] + ([body.target_hook_point] if body.target_hook_point else [])
    for spec in body.saes:
        points += [point for point in reads(spec, body) if point]
    return list(dict.fromkeys(points))


def _member(spec: SAESpec, index: int, source: Any, body: TrainIn, model_name: str) -> dict[str, Any]:
    """The lens SAE config and hyperparameters of one SAE, validated by lens (its errors name the field)."""
    from mistudio.lens.sae.config import SAEConfig, width_from_expansion
    from mistudio.lens.sae.trainer import Hyperparameters

    hook_point, target_hook_point = reads(spec, body)
    d_in, d_out = source.width_of(hook_point), source.width_of(target_hook_point or hook_point)
    width = width_from_expansion(d_in, spec.expansion_factor, spec.width)
    k_family = spec.architecture in K_FAMILY
    if k_family and spec.k is not None and spec.k > width:
        raise InvalidInput(f"saes[{index}].k ({spec.k}) is larger than the width ({width:,} latents); choose k from 1 "
                           f"to {width:,}", details={"field": f"saes[{index}].k", "max": width})
    transcoder = target_hook_point is not None
    if transcoder and spec.architecture in ("topk", "gated"):
        # Refused now rather than after training: the SAE is stored in SAELens' layout, which has no such class.
        raise InvalidInput(f"saes[{index}]: a {spec.architecture} transcoder cannot be stored in the SAELens layout "
                           "(SAELens has no such class); use standard, jumprelu, batchtopk or matryoshka for a "
                           "transcoder", details={"field": f"saes[{index}].architecture"})
    prefixes = spec.matryoshka_prefixes
    if spec.architecture == "matryoshka" and not prefixes:
        prefixes = sorted({max(1, width // 16), max(1, width // 4), width})
    config = SAEConfig(spec.architecture, d_in=d_in, d_sae=width, d_out=d_out, k=spec.k if k_family else None,
                       matryoshka_prefixes=prefixes if spec.architecture == "matryoshka" else None,
                       decoder_norm=spec.decoder_norm or ("unit" if k_family else "in_loss"),
                       apply_b_dec_to_input=not transcoder, model_name=model_name, hook_point=hook_point,
                       target_hook_point=target_hook_point)
    hyper = Hyperparameters(lr=spec.lr, optimizer=spec.optimizer, weight_decay=spec.weight_decay,
                            schedule=spec.schedule, warmup_steps=spec.warmup_steps,
                            lr_end_fraction=spec.lr_end_fraction, sparsity_coefficient=spec.sparsity_coefficient,
                            sparsity_warmup_steps=spec.sparsity_warmup_steps, aux_coefficient=spec.aux_coefficient,
                            resample_every=spec.resample_every)
    hyper.validate()
    return {"config": config.to_dict(), "hyperparameters": asdict(hyper)}


class _Origin(NamedTuple):
    model_id: str
    model_name: str
    name: str  # for the run's default name


def _extraction_source(runtime: Runtime, body: TrainIn) -> tuple[_Origin, dict[str, Any], Any]:
    from mistudio.lens.sae.buffer import ExtractionSource

    extraction = extractions.get_extraction(runtime, body.extraction_id)
    if not extraction.ready:
        raise Conflict(f"extraction {extraction.id!r} is {extraction.status}: train on a completed extraction",
                       details={"field": "extraction_id", "status": extraction.status})
    for field, point in _named_hook_points(body):
        if point not in extraction.hook_points:
            raise InvalidInput(f"extraction {extraction.id!r} has no activations for {point}; it has "
                               f"{', '.join(extraction.hook_points)}",
                               details={"field": field, "allowed": extraction.hook_points})
    source = ExtractionSource(runtime.storage.activations_dir(extraction.id), body.hook_point, body.target_hook_point,
                              other_hook_points=hook_points_read(body), holdout_fraction=body.holdout_fraction)
    fields = {"source": "extraction", "extraction_id": extraction.id, "dataset_id": extraction.dataset_id,
              "tokenization_id": extraction.tokenization_id, "format": extraction.format}
    return _Origin(extraction.model_id, extraction.model_name, extraction.name), fields, source


def _named_hook_points(body: TrainIn) -> list[tuple[str, str]]:
    """(request field, hook point) of every hook point the request names, for errors that point at the field."""
    named = [("hook_point", body.hook_point)] + ([("target_hook_point", body.target_hook_point)]
                                                 if body.target_hook_point else [])
    for index, spec in enumerate(body.saes):
        named += [(f"saes[{index}].{name}", point) for name in ("hook_point", "target_hook_point")
                  if (point := getattr(spec, name)) is not None]
    return named


class _StreamSizes:
    """What planning needs of a streamed source (its token counts and widths) without opening the model."""

    def __init__(self, lengths: Any, holdout_fraction: float, d_model: int) -> None:
        from mistudio.lens.sae.buffer import held_out_samples

        tokens = (lengths - 1).clip(min=0)  # each sequence's first position is left out, as in training
        train = len(tokens) - held_out_samples(len(tokens), holdout_fraction)
        self.train_tokens, self.d_in, self.d_out = int(tokens[:train].sum()), d_model, d_model

    def width_of(self, hook_point: str | None) -> int:
        return self.d_in  # every hook point a stream reads is in the residual stream's width


def _stream_source(runtime: Runtime, body: TrainIn) -> tuple[_Origin, dict[str, Any], Any]:
    from mistudio.extraction.schemas import ExtractIn
    from mistudio.lens.errors import InvalidArgument
    from mistudio.lens.hooks import parse_hook_point

    stream = body.stream
    assert stream is not None
    parsed = []
    for field, point in _named_hook_points(body):
        try:
            parsed.append(parse_hook_point(point))
        except InvalidArgument as error:  # the field of the request, not the lens function's argument
            raise InvalidInput(error.message, details={**(error.details or {}), "field": field}) from error
    # The extraction's own checks: model ready, format available, tokenization ready and made with its tokenizer,
    # hook points present, sizes in range.
    checked = extractions.plan(runtime, stream.model_id, ExtractIn(
        dataset_id=stream.dataset_id, tokenization_id=stream.tokenization_id,
        layers=[layer for layer, _ in parsed], hook_points=[kind for _, kind in parsed],
        max_samples=stream.max_samples, batch_size=stream.forward_batch_size, format=stream.format,
        device=body.device))
    lengths = checked.sequences.lengths()[:checked.samples].astype("int64")
    sizes = _StreamSizes(lengths, body.holdout_fraction, int(checked.architecture["hidden_size"]))
    fields = {"source": "stream", "extraction_id": None, "dataset_id": stream.dataset_id,
              "tokenization_id": stream.tokenization_id, "format": stream.format}
    return _Origin(checked.model.id, checked.model.name, f"stream_{checked.dataset_name}"), fields, sizes


def plan(runtime: Runtime, body: TrainIn) -> Plan:
    """Check the request against the activations it trains on; nothing is stored."""
    if (body.extraction_id is None) == (body.stream is None):
        raise InvalidInput("give either extraction_id (train on stored activations) or stream (run the model as "
                           "training reads)", details={"field": "extraction_id"})
    origin, fields, source = (_extraction_source if body.extraction_id else _stream_source)(runtime, body)
    if body.batch_tokens > source.train_tokens:
        raise InvalidInput(f"batch_tokens ({body.batch_tokens:,}) is larger than the training data "
                           f"({source.train_tokens:,} tokens after the hold-out split); use a batch of at most "
                           f"{source.train_tokens:,}", details={"field": "batch_tokens", "max": source.train_tokens})
    members = [_member(spec, index, source, body, origin.model_name)
               for index, spec in enumerate(body.saes)]
    total_tokens = body.total_tokens or 2 * source.train_tokens
    total_steps = body.steps or max(1, total_tokens // body.batch_tokens)
    device = resolve_device(body.device or runtime.settings.device)
    settings = {**{name: getattr(body, name) for name in _SHARED}, "steps": total_steps, "device": device,
                "holdout_fraction": body.holdout_fraction, "evaluate_in_model": body.evaluate_in_model,
                "eval_sequences": body.eval_sequences}
    if body.stream is not None:
        settings.update(max_samples=body.stream.max_samples, forward_batch_size=body.stream.forward_batch_size)
    return Plan(origin.model_id, origin.model_name, fields, origin.name, members, settings, source.d_in,
                source.d_out, total_steps, int(source.train_tokens))


# --- estimate ---------------------------------------------------------------------------------------------
_step_seconds: dict[tuple[Any, ...], float] = {}  # measured per SAE shape and device, for this process's life


def estimate(runtime: Runtime, body: TrainIn) -> TrainingEstimate:
    """Memory and disk (counted) and time (a few real steps measured in the model host) of a run."""
    from mistudio.lens.sae import estimate as costs
    from mistudio.lens.sae.config import SAEConfig
    from mistudio.training.host import CALIBRATE

    checked = plan(runtime, body)
    device = checked.settings["device"]
    train_tokens = checked.train_tokens
    saes, seconds_per_step = [], 0.0
    for member in checked.members:
        config = SAEConfig.from_dict(member["config"])
        key = (config.architecture, config.d_in, config.d_sae, config.d_out, config.k, body.batch_tokens, device)
        if key not in _step_seconds:
            _step_seconds[key] = runtime.host.call(
                CALIBRATE, {"config": member["config"], "batch_tokens": body.batch_tokens, "device": device},
                what=f"timing {config.architecture} SAE steps on {device}")["seconds_per_step"]
        seconds_per_step += _step_seconds[key]
        saes.append(SAEEstimate(parameters=costs.parameter_count(config),
                                memory_bytes=costs.memory_bytes(config, body.batch_tokens) - costs.buffer_bytes(config),
                                checkpoint_bytes=costs.checkpoint_bytes(config), seconds_per_step=_step_seconds[key]))
    first = SAEConfig.from_dict(checked.members[0]["config"])
    memory = sum(sae.memory_bytes for sae in saes) + costs.buffer_bytes(first)
    disk = sum(sae.checkpoint_bytes * (body.keep_checkpoints + 1) + sae.parameters * 4 for sae in saes)
    tokens = checked.total_steps * body.batch_tokens
    warnings = []
    if body.stream is not None:
        warnings.append("streamed: the time excludes the model's forward passes, repeated every epoch")
    if tokens > 20 * train_tokens:
        warnings.append(f"{tokens / train_tokens:.0f} epochs over the same tokens: the SAEs may overfit; extract "
                        "more samples")
    if disk > runtime.storage.disk_usage().free:
        warnings.append("the checkpoints and SAEs will not fit on the free disk")
    return TrainingEstimate(total_steps=checked.total_steps, tokens=tokens, train_tokens=train_tokens,
                            epochs=tokens / max(train_tokens, 1), saes=saes, memory_bytes=memory, disk_bytes=disk,
                            seconds=seconds_per_step * checked.total_steps, warnings=warnings)


# --- reading ----------------------------------------------------------------------------------------------
def _load(session: Any, training_id: str) -> Training:
    return row_or_404(session, Training, training_id, "training")


def _out(row: Training, schema: type[TrainingOut] = TrainingOut) -> Any:
    fields = {name: getattr(row, name) for name in TrainingOut.model_fields if hasattr(row, name)}
    running = row.status == Status.RUNNING.value
    rate, batch = row.tokens_per_second, row.settings.get("batch_tokens", 0)
    left = (row.total_steps - row.steps_done) * batch
    return schema.model_validate({**fields, "eta_seconds": left / rate if running and rate else None})


def get_training(runtime: Runtime, training_id: str) -> TrainingOut:
    with session_scope(runtime.sessions) as session:
        return _out(_load(session, training_id))


def list_trainings(runtime: Runtime, *, model_id: str | None = None, status: str | None = None, page: int = 1,
                   limit: int = 50) -> tuple[list[TrainingOut], int]:
    query = select(Training)
    if model_id:
        query = query.where(Training.model_id == model_id)
    if status:
        query = query.where(Training.status == status)
    with session_scope(runtime.sessions) as session:
        rows, total = newest_first_page(session, query, Training, page, limit)
        return [_out(row) for row in rows], total


def metrics(runtime: Runtime, training_id: str, *, member: int | None = None, after_step: int = -1,
            limit: int = 10_000) -> list[MetricPoint]:
    """The logged metrics of a run, oldest first (optionally one SAE's, after a step: what a chart lacks); at most
    `limit` points — ask again with `after_step` set to the last step received for the rest."""
    with session_scope(runtime.sessions) as session:
        _load(session, training_id)
        query = select(TrainingMetric).where(TrainingMetric.training_id == training_id,
                                             TrainingMetric.step > after_step)
        if member is not None:
            query = query.where(TrainingMetric.member == member)
        rows = session.scalars(query.order_by(TrainingMetric.step, TrainingMetric.member).limit(limit)).all()
        return [MetricPoint(member=row.member, step=row.step, values=row.values) for row in rows]


def checkpoints(runtime: Runtime, training_id: str) -> list[CheckpointOut]:
    from mistudio.lens.sae.checkpoints import CheckpointStore

    get_training(runtime, training_id)
    return [CheckpointOut(step=info.step, path=str(info.path), score=info.score, size_bytes=info.size_bytes)
            for info in CheckpointStore(runtime.storage.checkpoints_dir(training_id)).list()]


def delete_checkpoint(runtime: Runtime, training_id: str, step: int) -> Deleted:
    from mistudio.lens.sae.checkpoints import CheckpointStore

    training = get_training(runtime, training_id)
    if training.active:
        raise Conflict(f"training {training_id!r} is {training.status}: pause it before deleting its checkpoints",
                       details={"status": training.status})
    store = CheckpointStore(runtime.storage.checkpoints_dir(training_id))
    freed = models.folder_bytes(store.path(step))
    store.delete(step)  # NotFound (404) naming the step when there is none
    return Deleted(id=f"{training_id}/step_{step}", bytes_freed=freed)


# --- starting, pausing, resuming ---------------------------------------------------------------------------
def _submit(runtime: Runtime, training_id: str) -> TrainingAccepted:
    with session_scope(runtime.sessions) as session:
        row = _load(session, training_id)
        reads = [(models.MODEL_RESOURCE, row.model_id)]
        if row.extraction_id:
            reads.append((EXTRACTION_RESOURCE, row.extraction_id))
    runtime.runner.submit(TRAIN_KIND, {"training_id": training_id}, reads=reads,
                          writes=[(Training.resource, training_id)])
    with session_scope(runtime.sessions) as session:
        return _out(_load(session, training_id), TrainingAccepted)


def start_training(runtime: Runtime, body: TrainIn) -> TrainingAccepted:
    """Validate, record the run and queue its job (queue `gpu`)."""
    checked = plan(runtime, body)
    first = checked.members[0]["config"]
    sweep = f"sweep{len(checked.members)}_" if len(checked.members) > 1 else ""
    name = body.name or f"{sweep}{first['architecture']}_{first['d_sae']}_{body.hook_point}_{checked.description}"
    with session_scope(runtime.sessions) as session:
        row = Training(name=name[:255], model_id=checked.model_id, model_name=checked.model_name, **checked.source,
                       hook_point=body.hook_point,
                       target_hook_point=body.target_hook_point, d_in=checked.d_in, d_out=checked.d_out,
                       members=checked.members, settings=checked.settings, total_steps=checked.total_steps,
                       steps_done=0, sae_ids=[])
        session.add(row)
        session.flush()
        training_id = row.id
    return _submit(runtime, training_id)


def pause(runtime: Runtime, training_id: str) -> TrainingOut:
    """Stop a queued or running training after its current step; it checkpoints and can be resumed."""
    with session_scope(runtime.sessions) as session:
        job_id = cancellable_job(_load(session, training_id), f"training {training_id!r}")
    runtime.runner.cancel(job_id)
    return get_training(runtime, training_id)


def stop(runtime: Runtime, training_id: str) -> TrainingOut:
    """Finish a running training early: it ends after its current step and keeps its SAEs as they are then
    (a queued one that has not started is simply cancelled)."""
    with session_scope(runtime.sessions) as session:
        row = _load(session, training_id)
        job_id = cancellable_job(row, f"training {training_id!r}")
        if row.status == Status.RUNNING.value:
            row.stop_requested = True
            job_id = None
    if job_id is not None:
        runtime.runner.cancel(job_id)
    return get_training(runtime, training_id)


def resume(runtime: Runtime, training_id: str) -> TrainingAccepted:
    """Continue a paused, interrupted or failed run from its newest checkpoint."""
    with session_scope(runtime.sessions) as session:
        row = _load(session, training_id)
        if not row.resumable:
            raise Conflict(f"training {training_id!r} is {row.status}; only paused (cancelled), interrupted or "
                           "failed trainings can be resumed", details={"status": row.status})
        row.stop_requested = False
    return _submit(runtime, training_id)


def delete_training(runtime: Runtime, training_id: str) -> Deleted:
    """Remove a run, its metrics and checkpoints (its SAEs stay: delete them on their own)."""
    with session_scope(runtime.sessions) as session:
        row = _load(session, training_id)
        if row.active:
            raise Conflict(f"training {training_id!r} is {row.status}: pause it first", details={"status": row.status})
        session.query(TrainingMetric).filter(TrainingMetric.training_id == training_id).delete()
        session.delete(row)
    folder = runtime.storage.checkpoints_dir(training_id)
    freed = models.folder_bytes(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return Deleted(id=training_id, bytes_freed=freed)
