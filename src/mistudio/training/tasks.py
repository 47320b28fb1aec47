"""Job body of the training domain: train the run's SAEs on its extraction, then store and evaluate them.

The same body starts and resumes a run: `lens.sae.train` continues from the newest checkpoint in the run's
checkpoints folder. Every `log_every` steps the metrics go to the `trainings/{id}/metrics` channel, the metrics
table and the row. A pause is a cancel: the loop checkpoints the last completed step before it ends.
"""

from __future__ import annotations

import time
from typing import Any

from mistudio.errors import MistudioError
from mistudio.models.opening import model_open_spec, open_model_for_job
from mistudio.platform.db import session_scope, utcnow
from mistudio.platform.jobs.context import JobContext
from mistudio.platform.jobs.registry import job_kind
from mistudio.platform.jobs.tracked import Completed, run_tracked
from mistudio.platform.lifecycle import Status
from mistudio.training import saes as stored_saes
from mistudio.training import service
from mistudio.training.schemas import TrainingMetrics, TrainingStatusChanged
from mistudio.training.tables import Training, TrainingMetric


def metrics_channel(training_id: str) -> str:
    return f"trainings/{training_id}/metrics"


def _read(ctx: JobContext, training_id: str) -> dict[str, Any]:
    with session_scope(ctx.sessions) as session:
        row = session.get(Training, training_id)
        if row is None:
            raise MistudioError(f"training {training_id!r} was deleted before its job ran")
        return {name: getattr(row, name) for name in (
            "name", "model_id", "model_name", "source", "extraction_id", "dataset_id", "tokenization_id", "format",
            "hook_point", "target_hook_point", "members", "settings", "total_steps")}


@job_kind(service.TRAIN_KIND, queue="gpu", resumable=True)
def run_training(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Train (or continue) the run's SAEs, save them in the SAELens layout, evaluate them on held-out tokens."""
    from mistudio.lens.sae.trainer import TrainingStopped

    training_id = params["training_id"]
    row = _read(ctx, training_id)

    def on_change(status: Status, message: str | None) -> None:
        ctx.emit(f"trainings/{training_id}", "status",
                 TrainingStatusChanged(training_id=training_id, status=status.value, message=message))

    def on_stop(status: Status) -> dict[str, Any]:
        from mistudio.lens.sae.checkpoints import CheckpointStore

        kept = CheckpointStore(ctx.storage.checkpoints_dir(training_id)).latest_step()
        if status == Status.CANCELLED:
            where = f"at step {kept:,}" if kept else "before its first checkpoint"
            return {"message": f"paused {where} of {row['total_steps']:,}; resume it to continue from there"}
        return {}

    return run_tracked(ctx, Training, training_id, lambda: _train(ctx, training_id, row), on_stop=on_stop,
                       on_change=on_change, cancelled_by=(TrainingStopped,))


def _source(ctx: JobContext, row: dict[str, Any], opened: _Opened) -> Any:
    """The run's activations: its stored extraction, or the model streamed over its tokenization."""
    from mistudio.lens.sae.buffer import ExtractionSource, ModelStreamSource

    settings = row["settings"]
    # the hook points the run's SAEs read besides the run's own: one read serves them all
    others = [point for member in row["members"]
              for point in (member["config"]["hook_point"], member["config"]["target_hook_point"]) if point]
    if row["source"] == "stream":
        return ModelStreamSource(opened.model(), opened.sequences(), row["hook_point"], row["target_hook_point"],
                                 other_hook_points=others, batch_size=settings["forward_batch_size"],
                                 max_samples=settings["max_samples"], holdout_fraction=settings["holdout_fraction"],
                                 seed=settings["seed"], pad_token_id=opened.pad_token_id())
    return ExtractionSource(ctx.storage.activations_dir(row["extraction_id"]), row["hook_point"],
                            row["target_hook_point"], other_hook_points=others,
                            holdout_fraction=settings["holdout_fraction"], seed=settings["seed"])


def _reporter(ctx: JobContext, training_id: str, total: int) -> Any:
    """on_metrics: the job's progress line, the metrics table, the row and the live channel."""
    def on_metrics(step: int, members: list[dict[str, float]]) -> None:
        first = members[0]
        rate = first.get("tokens_per_second")
        ctx.progress(min(step / total, 0.99), f"step {step:,} of {total:,}" +
                     (f" at {rate:,.0f} tokens/s" if rate else "") +
                     f", FVU {first.get('fvu', float('nan')):.3f}, L0 {first.get('l0', float('nan')):.1f}")
        with session_scope(ctx.sessions) as session:
            for index, values in enumerate(members):
                session.add(TrainingMetric(training_id=training_id, member=index, step=step, values=values))
        ctx.update_row(Training, training_id, steps_done=step, latest_metrics=members, tokens_per_second=rate)
        ctx.emit(metrics_channel(training_id), "metrics",
                 TrainingMetrics(training_id=training_id, step=step, total_steps=total, members=members))

    return on_metrics


def _train(ctx: JobContext, training_id: str, row: dict[str, Any]) -> Completed:
    from mistudio.lens.sae.architectures import SparseAutoencoder
    from mistudio.lens.sae.checkpoints import CheckpointStore
    from mistudio.lens.sae.config import SAEConfig
    from mistudio.lens.sae.trainer import Hyperparameters, TrainConfig, TrainingStopped, holdout_metrics, train

    settings, total = row["settings"], row["total_steps"]
    opened = _Opened(ctx, row)
    source = _source(ctx, row, opened)
    saes = [SparseAutoencoder(SAEConfig.from_dict(member["config"]), seed=settings["seed"] + index)
            for index, member in enumerate(row["members"])]
    hyper = [Hyperparameters(**{**member["hyperparameters"], "betas": tuple(member["hyperparameters"]["betas"])})
             for member in row["members"]]
    config = TrainConfig(**{name: settings[name] for name in service._SHARED}, steps=settings["steps"],
                         device=settings["device"])
    kept = CheckpointStore(ctx.storage.checkpoints_dir(training_id)).latest_step()
    with session_scope(ctx.sessions) as session:  # steps after the checkpoint are trained (and logged) again
        session.query(TrainingMetric).filter(TrainingMetric.training_id == training_id,
                                             TrainingMetric.step > (kept or 0)).delete()
    ctx.note(f"resuming from the checkpoint of step {kept:,} of {total:,}" if kept else
             f"training {len(saes)} SAE(s) for {total:,} steps of {config.batch_tokens:,} tokens on "
             f"{source.train_tokens:,} training tokens ({source.holdout_tokens:,} held out) of {source.description}")
    stop = _StopRequest(ctx, training_id)
    started = time.perf_counter()
    try:
        result = train(saes, source, config, hyperparameters=hyper, on_metrics=_reporter(ctx, training_id, total),
                       should_stop=stop, checkpoints=ctx.storage.checkpoints_dir(training_id),
                       on_checkpoint=lambda step, path: ctx.note(f"checkpoint at step {step:,} saved"))
        steps, final = result.steps, [dict(values) for values in result.final]
        message = f"trained {len(saes)} SAE(s) for {steps:,} steps"
    except TrainingStopped as stopped:
        if not stop.by_user_stop:
            raise  # a pause: cancelled, resumable
        steps, latest = stopped.step, stop.latest() or [{} for _ in saes]  # none yet if stopped before a log step
        final = [{**last, **holdout_metrics(sae, source)} for last, sae in zip(latest, saes, strict=True)]
        message = f"stopped early at step {steps:,} of {total:,}; the SAEs are kept as they were then"
    if settings.get("evaluate_in_model"):
        _evaluate_in_model(ctx, row, opened, source, saes, final)
    sae_ids = _store(ctx, training_id, row, source, saes, final)
    return Completed(result={"training_id": training_id, "sae_ids": sae_ids, "steps": steps},
                     fields={"steps_done": steps, "final_metrics": final, "sae_ids": sae_ids,
                             "seconds": time.perf_counter() - started, "completed_at": utcnow()},
                     message=message)


class _StopRequest:
    """`should_stop` for the loop: a pause (the job's cancel) or a stop asked through the row (read each second)."""

    def __init__(self, ctx: JobContext, training_id: str) -> None:
        self.ctx, self.training_id = ctx, training_id
        self.by_user_stop, self.checked = False, 0.0

    def __call__(self) -> bool:
        if self.ctx.should_stop():
            return True
        now = time.monotonic()
        if now - self.checked >= 1.0:
            self.checked = now
            with session_scope(self.ctx.sessions) as session:
                row = session.get(Training, self.training_id)
                self.by_user_stop = bool(row is not None and row.stop_requested)
        return self.by_user_stop

    def latest(self) -> list[dict[str, float]]:
        with session_scope(self.ctx.sessions) as session:
            row = session.get(Training, self.training_id)
            return list(row.latest_metrics or []) if row is not None else []


class _Opened:
    """The run's model and tokenized sequences, opened on first use (a stream needs them from the start, an
    extraction only for the in-model evaluation) and once."""

    def __init__(self, ctx: JobContext, row: dict[str, Any]) -> None:
        self.ctx, self.row = ctx, row
        self.handle: Any = None
        self.tokenized: Any = None

    def model(self) -> Any:
        if self.handle is None:
            with session_scope(self.ctx.sessions) as session:
                spec = model_open_spec(session, self.ctx.storage, self.ctx.settings, self.row["model_id"],
                                       self.row["format"], self.row["settings"]["device"], fallback=False)
            self.ctx.progress(0.0, f"loading {self.row['model_name']} as {self.row['format']}")
            self.handle = open_model_for_job(self.ctx, spec, on_step=self.ctx.note)
        return self.handle.model

    def pad_token_id(self) -> int:
        self.model()
        tokenizer = self.handle.tokenizer
        pad = getattr(tokenizer, "pad_token_id", None) if tokenizer is not None else None
        return int(pad if pad is not None else getattr(tokenizer, "eos_token_id", None) or 0)

    def sequences(self) -> Any:
        from mistudio.lens import data

        if self.tokenized is None:
            self.tokenized = data.TokenizedSequences.open(
                self.ctx.storage.tokenization_dir(self.row["dataset_id"], self.row["tokenization_id"]))
        return self.tokenized


def _evaluate_in_model(ctx: JobContext, row: dict[str, Any], opened: _Opened, source: Any, saes: list[Any],
                       final: list[dict[str, float]]) -> None:
    """CE loss recovered and KL of each SAE on held-out sequences of the run's tokenization."""
    import torch

    from mistudio.lens.sae.evaluate import evaluate_spliced

    settings = row["settings"]
    held = list(range(source.train_samples, min(len(source.tokens_per_sample),
                                                source.train_samples + settings["eval_sequences"])))
    if not held:
        ctx.note("nothing is held out (holdout_fraction 0): the in-model evaluation is skipped", level="warning")
        return
    if row["source"] == "extraction" and not ctx.storage.activations_dir(row["extraction_id"]).is_dir():
        ctx.note("the extraction was deleted: the in-model evaluation is skipped", level="warning")
        return
    sequences = opened.sequences()
    rows = [torch.as_tensor(sequences[index], dtype=torch.long) for index in held]
    width = max(len(ids) for ids in rows)
    input_ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for index, ids in enumerate(rows):
        input_ids[index, :len(ids)], mask[index, :len(ids)] = ids, 1
    ctx.progress(0.99, f"evaluating in {row['model_name']} on {len(rows)} held-out sequences")
    model = opened.model()
    for sae, values in zip(saes, final, strict=True):
        result = evaluate_spliced(model, sae, input_ids, mask, should_stop=ctx.should_stop)
        values.update({f"model_{key}": value for key, value in result.as_dict().items()})


def _store(ctx: JobContext, training_id: str, row: dict[str, Any], source: Any, saes: list[Any],
           final: list[dict[str, float]]) -> list[str]:
    """Each SAE saved in the SAELens layout with its feature density (log10 frequency on held-out tokens)."""
    from mistudio.lens.sae.evaluate import firing_frequency

    holdout = source.holdout(row["settings"].get("eval_tokens", 16_384)) or source.sample(16_384)
    ids = []
    with session_scope(ctx.sessions) as session:
        for index, (sae, values) in enumerate(zip(saes, final, strict=True)):
            frequency = firing_frequency(sae, holdout.select(sae.config.hook_point, sae.config.target_hook_point).x)
            name = row["name"] if len(saes) == 1 else f"{row['name']}_{index}"
            stored = stored_saes.record_sae(session, ctx.storage, sae, name=name, origin="trained",
                                        training_id=training_id, model_id=row["model_id"],
                                        model_name=row["model_name"], metrics=values,
                                        log10_sparsity=(frequency + 1e-10).log10().float())
            ids.append(stored.id)
    return ids
