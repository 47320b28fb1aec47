"""Training SAEs: one loop, a plain config, several SAEs (a sweep, or SAEs on several hook points) over one read of
the activations.

    saes = [SparseAutoencoder(SAEConfig("topk", d_in=576, d_sae=4608, k=32))]
    result = train(saes, TensorSource(acts), TrainConfig(total_tokens=2_000_000))

Each step reads one batch and gives every SAE of the run the columns it reads (its `config.hook_point`, and
`target_hook_point` for a transcoder, when the source names its columns); each SAE has its own optimizer and its own
hyperparameters (`Hyperparameters`: lr, schedule, sparsity coefficient...). Checkpoints hold the weights, the
optimizers, the dead-latent counters and the batch number, so a resumed run ends byte-identical to one that never
stopped (on CPU). Long work reports through `on_metrics` and stops through `should_stop`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from mistudio.lens.errors import InvalidArgument, LensError
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.buffer import ActivationSource, Batch
from mistudio.lens.sae.checkpoints import CheckpointStore
from mistudio.lens.sae.init import geometric_median, input_scale
from mistudio.lens.sae.losses import StepInput, training_step
from mistudio.lens.sae.metrics import LatentActivity, Metrics, reconstruction_metrics

Schedule = Literal["constant", "cosine", "linear"]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


class TrainingStopped(LensError):
    """`should_stop` returned True: the run stopped after its last completed step (checkpointed if it can).

    The SAEs passed to `train` hold the weights of that step; `step` says which it is."""

    code = "cancelled"

    def __init__(self, message: str, *, step: int) -> None:
        super().__init__(message, details={"step": step})
        self.step = step


class TrainingDiverged(LensError):
    """The loss became NaN or infinite: the run stopped; its last good checkpoint (if any) is kept."""

    code = "training_diverged"


@dataclass
class Hyperparameters:
    """What may differ between the SAEs of one run."""

    lr: float = 4e-4
    optimizer: Literal["adam", "adamw"] = "adam"
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    schedule: Schedule = "constant"
    warmup_steps: int = 0
    lr_end_fraction: float = 0.0  # the lr at the last step of a decaying schedule, as a fraction of lr
    sparsity_coefficient: float = 5.0  # l1 (standard, gated) or l0 (jumprelu); unused by the k architectures
    sparsity_warmup_steps: int = 0  # the coefficient rises linearly from 0 over these steps
    aux_coefficient: float = 1 / 32  # AuxK for the k architectures
    resample_every: int = 0  # steps between dead-latent resamplings (lens.sae.resample); 0: never

    def validate(self) -> None:
        checks = [("lr", self.lr > 0 and math.isfinite(self.lr), "a finite number above 0"),
                  ("weight_decay", self.weight_decay >= 0, "0 or more"),
                  ("warmup_steps", self.warmup_steps >= 0, "0 or more"),
                  ("resample_every", self.resample_every >= 0, "0 (never) or more"),
                  ("sparsity_coefficient", self.sparsity_coefficient >= 0 and math.isfinite(self.sparsity_coefficient),
                   "a finite number, 0 or more"),
                  ("lr_end_fraction", 0 <= self.lr_end_fraction <= 1, "between 0 and 1"),
                  ("schedule", self.schedule in ("constant", "cosine", "linear"), "constant, cosine or linear"),
                  ("optimizer", self.optimizer in ("adam", "adamw"), "adam or adamw")]
        for name, ok, allowed in checks:
            if not ok:
                raise InvalidArgument(f"{name} must be {allowed}; got {getattr(self, name)!r}",
                                      details={"field": name})

    def lr_at(self, step: int, total_steps: int) -> float:
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.schedule == "constant":
            return self.lr
        progress = (step - self.warmup_steps) / max(1, total_steps - self.warmup_steps)
        end = self.lr * self.lr_end_fraction
        if self.schedule == "linear":
            return end + (self.lr - end) * (1 - progress)
        return end + (self.lr - end) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    def sparsity_at(self, step: int) -> float:
        if step < self.sparsity_warmup_steps:
            return self.sparsity_coefficient * (step + 1) / self.sparsity_warmup_steps
        return self.sparsity_coefficient


@dataclass
class TrainConfig:
    """What the SAEs of one run share: how much data, how it is batched, logged, evaluated and checkpointed."""

    total_tokens: int | None = None
    steps: int | None = None  # instead of total_tokens
    batch_tokens: int = 4096
    seed: int = 0
    device: str = "cpu"
    compute_dtype: Literal["float32", "bfloat16"] = "float32"  # the encoder product's dtype (weights stay fp32)
    normalize_input: bool = True  # scale inputs (and targets) to mean norm √d; the SAE keeps the factor
    b_dec_init: Literal["geometric_median", "mean", "zeros"] = "geometric_median"
    init_tokens: int = 16_384
    dead_window_tokens: int = 1_000_000  # a latent silent for this many tokens counts as dead (and feeds AuxK)
    dense_threshold: float = 0.1  # a latent active on more than this fraction of tokens counts as dense
    log_every: int = 50
    eval_every: int | None = None  # steps between hold-out evaluations (None: at the end only)
    eval_tokens: int = 8192
    checkpoint_every: int | None = None
    keep_checkpoints: int = 2

    @property
    def total_steps(self) -> int:
        if self.steps is not None:
            return self.steps
        if self.total_tokens is None:
            raise InvalidArgument("give total_tokens or steps", details={"field": "total_tokens"})
        return max(1, self.total_tokens // self.batch_tokens)

    def validate(self) -> None:
        if self.batch_tokens < 1:
            raise InvalidArgument(f"batch_tokens must be at least 1; got {self.batch_tokens}",
                                  details={"field": "batch_tokens"})
        if self.total_steps < 1:
            raise InvalidArgument("the run needs at least one step", details={"field": "steps"})
        if self.compute_dtype not in DTYPES:
            raise InvalidArgument(f"compute_dtype must be one of {', '.join(DTYPES)}", details={"field": "dtype"})


@dataclass
class Member:
    """One SAE of a run, with its hyperparameters and its training state."""

    sae: SparseAutoencoder
    hyper: Hyperparameters
    optimizer: torch.optim.Optimizer | None = None
    activity: LatentActivity | None = None


@dataclass
class TrainResult:
    steps: int
    tokens: int
    seconds: float
    final: list[dict[str, float]]  # per SAE: the last logged metrics plus the hold-out evaluation
    history: list[list[dict[str, float]]] = field(default_factory=list)


MetricsCallback = Callable[[int, list[dict[str, float]]], None]


def _optimizer(sae: SparseAutoencoder, hyper: Hyperparameters) -> torch.optim.Optimizer:
    # Fused Adam is one pass over all parameters on CPU and GPU alike; it exists from torch 2.4 on.
    kind = torch.optim.AdamW if hyper.optimizer == "adamw" else torch.optim.Adam
    options: dict[str, Any] = {"lr": hyper.lr, "betas": hyper.betas, "weight_decay": hyper.weight_decay}
    try:
        return kind(sae.parameters(), fused=True, **options)
    except (RuntimeError, TypeError):  # a device or dtype fused Adam does not cover
        return kind(sae.parameters(), foreach=True, **options)


@torch.no_grad()
def _initialize(members: list[Member], source: ActivationSource, config: TrainConfig) -> None:
    """Input scale and b_dec from a sample of the training tokens, in the scaled space the SAE trains in."""
    sample = source.sample(config.init_tokens)
    initial: dict[tuple[str | None, str | None], tuple[float, float, torch.Tensor]] = {}  # once per pair read
    for member in members:
        reads = (member.sae.config.hook_point, member.sae.config.target_hook_point)
        if reads not in initial:
            initial[reads] = _initial_values(sample.select(*reads), config)
        scale_in, scale_out, center = initial[reads]
        member.sae.config.input_scale, member.sae.config.output_scale = scale_in, scale_out
        member.sae.b_dec.copy_(center)


def _initial_values(sample: Batch, config: TrainConfig) -> tuple[float, float, torch.Tensor]:
    scale_in = input_scale(sample.x) if config.normalize_input else 1.0
    scale_out = scale_in if sample.target is sample.x else (input_scale(sample.target) if config.normalize_input
                                                            else 1.0)
    target = sample.target.to(config.device) * scale_out
    if config.b_dec_init == "geometric_median":
        center = geometric_median(target)
    elif config.b_dec_init == "mean":
        center = target.mean(dim=0)
    else:
        center = torch.zeros(target.shape[1], device=target.device)
    return scale_in, scale_out, center


def _check(members: list[Member], source: ActivationSource, config: TrainConfig) -> None:
    config.validate()
    for member in members:
        member.hyper.validate()
        sae_config = member.sae.config
        d_in, d_out = _widths(source, sae_config.hook_point, sae_config.target_hook_point)
        if sae_config.d_in != d_in or sae_config.d_out != d_out:
            raise InvalidArgument(f"the SAE reads d_in={sae_config.d_in} and writes d_out={sae_config.d_out} but the "
                                  f"activations have d_in={d_in}, d_out={d_out}", details={"field": "d_in"})
    if config.batch_tokens > source.train_tokens:
        raise InvalidArgument(f"batch_tokens ({config.batch_tokens:,}) is larger than the training data "
                              f"({source.train_tokens:,} tokens after the hold-out split)",
                              details={"field": "batch_tokens"})


def _widths(source: ActivationSource, hook_point: str | None, target_hook_point: str | None) -> tuple[int, int]:
    """The input and target widths an SAE reading (hook_point → target_hook_point) gets from this source."""
    if not source.names or hook_point is None:
        return source.d_in, source.d_out
    return source.width_of(hook_point), source.width_of(target_hook_point or hook_point)


def train(saes: Sequence[SparseAutoencoder], source: ActivationSource, config: TrainConfig, *,
          hyperparameters: Sequence[Hyperparameters] | Hyperparameters | None = None,
          checkpoints: Path | str | None = None, on_metrics: MetricsCallback | None = None,
          on_checkpoint: Callable[[int, Path], None] | None = None,
          should_stop: Callable[[], bool] | None = None, initialize: bool = True) -> TrainResult:
    """Train every SAE in `saes` on the same batches; resume from the newest checkpoint in `checkpoints` if any.

    A fresh run sets each SAE's input scale and b_dec from a sample of the data first; `initialize=False` keeps the
    weights, scales and b_dec the SAEs come with (to continue training a loaded or imported SAE).

    `on_metrics(step, [metrics per SAE])` is called every `log_every` steps and at the last step, once per step;
    the last step's (and every `eval_every`th) entries add the hold-out evaluation under `holdout_*` keys. Raises
    TrainingStopped when `should_stop()` turns true (after a checkpoint of the last completed step) and
    TrainingDiverged on a NaN/Inf loss.
    """
    if isinstance(hyperparameters, Hyperparameters) or hyperparameters is None:
        hyperparameters = [hyperparameters or Hyperparameters() for _ in saes]
    members = [Member(sae.to(config.device), hyper) for sae, hyper in zip(saes, hyperparameters, strict=True)]
    _check(members, source, config)
    store = CheckpointStore(Path(checkpoints), keep=config.keep_checkpoints) if checkpoints is not None else None
    for member in members:
        member.optimizer = _optimizer(member.sae, member.hyper)
        member.activity = LatentActivity(member.sae.width, config.dead_window_tokens, device=config.device)
    start_step = store.restore_latest(members) if store is not None else 0
    if start_step == 0 and initialize:
        _initialize(members, source, config)
    return _Loop(members, source, config, store, on_metrics, on_checkpoint, should_stop).run(start_step)


class _Loop:
    def __init__(self, members: list[Member], source: ActivationSource, config: TrainConfig,
                 store: CheckpointStore | None, on_metrics: MetricsCallback | None,
                 on_checkpoint: Callable[[int, Path], None] | None, should_stop: Callable[[], bool] | None) -> None:
        self.members, self.source, self.config, self.store = members, source, config, store
        self.on_metrics, self.on_checkpoint, self.should_stop = on_metrics, on_checkpoint, should_stop
        self.dtype = DTYPES[config.compute_dtype]
        self.history: list[list[dict[str, float]]] = []
        self.last: list[dict[str, float]] = [{} for _ in members]

    def run(self, start_step: int) -> TrainResult:
        config, total = self.config, self.config.total_steps
        started, window_start, window_tokens = time.perf_counter(), time.perf_counter(), 0
        step = start_step
        batches = self.source.batches(config.batch_tokens, start_batch=start_step)
        while step < total:
            if self.should_stop is not None and self.should_stop():
                self._checkpoint(step)
                raise TrainingStopped(f"stopped at step {step:,} of {total:,}", step=step)
            batch = next(batches).map(lambda column: column.to(config.device, non_blocking=True))
            reads = [batch.select(member.sae.config.hook_point, member.sae.config.target_hook_point)
                     for member in self.members]
            outputs = [self._step(member, pair.x, pair.target, step, total)
                       for member, pair in zip(self.members, reads, strict=True)]
            for index, (member, pair, output) in enumerate(zip(self.members, reads, outputs, strict=True)):
                self._resample(index, member, pair, output, step + 1)
            step += 1
            window_tokens += batch.tokens
            if step % config.log_every == 0 or step == total:
                elapsed = time.perf_counter() - window_start
                metrics = [self._metrics(member, output, pair.x, pair.target, step, total,
                                         window_tokens / max(elapsed, 1e-9))
                           for member, output, pair in zip(self.members, outputs, reads, strict=True)]
                # The last step's entry carries the hold-out evaluation: one entry per step, the final one complete.
                if step == total or (config.eval_every and step % config.eval_every == 0):
                    for entry, member in zip(metrics, self.members, strict=True):
                        entry.update(self._holdout(member))
                self._publish(step, metrics)
                window_start, window_tokens = time.perf_counter(), 0  # publishing is not training time
            if config.checkpoint_every and step % config.checkpoint_every == 0 and step != total:
                self._checkpoint(step)
        if start_step >= total:  # resumed from the final checkpoint: nothing trained, evaluate what is there
            self._publish(step, [{"step": float(step), **self._holdout(member)} for member in self.members])
        final = self.last
        if self.store is not None:
            self._checkpoint(step)
        return TrainResult(step, step * config.batch_tokens, time.perf_counter() - started, final, self.history)

    def _step(self, member: Member, x: torch.Tensor, target: torch.Tensor, step: int, total: int) -> Any:
        sae, hyper, optimizer = member.sae, member.hyper, member.optimizer
        assert optimizer is not None and member.activity is not None
        lr = hyper.lr_at(step, total)
        for group in optimizer.param_groups:
            group["lr"] = lr
        scaled_x = x * sae.config.input_scale
        scaled_target = scaled_x if target is x else target * sae.config.output_scale
        output = training_step(sae, StepInput(scaled_x, scaled_target, hyper.sparsity_at(step), hyper.aux_coefficient,
                                              member.activity.dead(), self.dtype))
        if not torch.isfinite(output.loss):
            kept = self.store.latest_step() if self.store is not None else None
            where = f"; the last good checkpoint (step {kept:,}) is kept" if kept else ""
            loss = float(output.loss.detach())
            raise TrainingDiverged(f"the loss became {loss} at step {step:,} (lr {lr:g} may be too high for this "
                                   f"data){where}", details={"step": step})
        optimizer.zero_grad(set_to_none=True)  # backward then writes fresh gradients: no fill, no accumulate
        output.loss.backward()
        if sae.config.decoder_norm == "unit":
            sae.remove_parallel_gradient()
        optimizer.step()
        if sae.config.decoder_norm == "unit":
            sae.normalize_decoder()
        member.activity.update(output.fired, x.shape[0])
        output.lr = lr
        return output

    def _resample(self, index: int, member: Member, pair: Batch, output: Any, steps_done: int) -> None:
        every = member.hyper.resample_every
        if not every or steps_done % every or member.activity is None:
            return
        from mistudio.lens.sae.resample import resample_dead_latents

        dead = member.activity.dead()
        scale_in, scale_out = member.sae.config.input_scale, member.sae.config.output_scale
        target = pair.x * scale_in if pair.target is pair.x else pair.target * scale_out
        seed = int(np.random.SeedSequence([self.config.seed, steps_done, index]).generate_state(1)[0])
        count = resample_dead_latents(member.sae, member.optimizer, dead, pair.x * scale_in, target, seed=seed)
        member.activity.since_fired[dead] = 0  # a fresh start gets a full window before it counts as dead again
        output.extra["resampled"] = float(count)

    def _metrics(self, member: Member, output: Any, x: torch.Tensor, target: torch.Tensor, step: int, total: int,
                 tokens_per_second: float) -> dict[str, float]:
        assert member.activity is not None
        scale = member.sae.config.output_scale
        values: Metrics = reconstruction_metrics(output.reconstruction / scale, target, output.active)
        entry = {"step": float(step), "tokens": float(step * self.config.batch_tokens),
                 "loss": float(output.loss.detach()), **{f"loss_{name}": value for name, value in output.parts.items()},
                 **values, **member.activity.fractions(self.config.dense_threshold), "lr": output.lr,
                 "tokens_per_second": tokens_per_second, "memory_bytes": float(_memory_bytes(x.device)),
                 **output.extra}
        return entry

    def _publish(self, step: int, metrics: list[dict[str, float]]) -> None:
        self.last = metrics
        self.history.append(metrics)
        if self.on_metrics is not None:
            self.on_metrics(step, metrics)

    def _holdout(self, member: Member) -> dict[str, float]:
        return holdout_metrics(member.sae, self.source, self.config.eval_tokens)

    def _checkpoint(self, step: int) -> None:
        if self.store is None or step == 0:
            return
        score = sum(self._holdout(member).get("holdout_mse", 0.0) for member in self.members)
        path = self.store.save(step, self.members, score)
        if self.on_checkpoint is not None:
            self.on_checkpoint(step, path)


@torch.no_grad()
def holdout_metrics(sae: SparseAutoencoder, source: ActivationSource, max_tokens: int = 8192) -> dict[str, float]:
    """MSE, FVU, explained variance and L0 of `sae` on the source's hold-out tokens, under `holdout_*` keys."""
    batch: Batch | None = source.holdout(max_tokens)
    if batch is None:
        return {}
    device = sae.W_enc.device
    pair = batch.select(sae.config.hook_point, sae.config.target_hook_point)
    x, target = pair.x.to(device), pair.target.to(device)
    latents = sae.encode(x)
    values = reconstruction_metrics(sae.decode(latents), target, int((latents > 0).sum()))
    return {f"holdout_{name}": value for name, value in values.items()}


def _memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    import psutil

    return int(psutil.Process().memory_info().rss)
