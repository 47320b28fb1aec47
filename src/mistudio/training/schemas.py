"""Request and response bodies of the training API, and the live events of a run."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistudio.envelopes import SAFE_INT
from mistudio.platform.events import EventPayload, declare_channel
from mistudio.platform.lifecycle import StatusName, TrackedOut

Architecture = Literal["standard", "topk", "batchtopk", "jumprelu", "gated", "matryoshka"]
MAX_SWEEP = 8


class SAESpec(BaseModel):
    """One SAE of a run: its shape, sparsity rule and optimisation. Several of them make a sweep."""

    architecture: Architecture = "topk"
    expansion_factor: int | None = Field(default=8, ge=1, le=256, description="width = expansion_factor × d_in")
    width: int | None = Field(default=None, ge=1, le=2**24, description="the number of latents (overrides expansion)")
    k: int | None = Field(default=32, ge=1, le=2**24, description="active latents per token (topk family)")
    matryoshka_prefixes: list[int] | None = Field(default=None, description="nested widths, the last = width")
    decoder_norm: Literal["unit", "in_loss"] | None = Field(
        default=None, description="unset: unit for the topk family, in_loss (SAELens' standard) for the others")
    lr: float = Field(default=4e-4, gt=0, le=1)
    optimizer: Literal["adam", "adamw"] = "adam"
    weight_decay: float = Field(default=0.0, ge=0, le=1)
    schedule: Literal["constant", "cosine", "linear"] = "constant"
    warmup_steps: int = Field(default=0, ge=0, le=SAFE_INT)
    lr_end_fraction: float = Field(default=0.0, ge=0, le=1)
    sparsity_coefficient: float = Field(default=5.0, ge=0, le=1e6, description="l1 (standard, gated), l0 (jumprelu)")
    sparsity_warmup_steps: int = Field(default=0, ge=0, le=SAFE_INT)
    aux_coefficient: float = Field(default=1 / 32, ge=0, le=1e3, description="AuxK weight (topk family)")
    resample_every: int = Field(default=0, ge=0, le=SAFE_INT, description="steps between dead-latent resamplings "
                                "(dead latents restart toward the worst-reconstructed tokens); 0: never")
    hook_point: str | None = Field(default=None, description="where this SAE reads; unset: the run's hook_point. "
                                   "SAEs on several hook points share one read of the activations (one forward "
                                   "pass when streamed)")
    target_hook_point: str | None = Field(default=None, description="a transcoder's target for this SAE; unset: "
                                          "the run's target_hook_point when it reads the run's hook_point")


ModelFormat = Literal["fp32", "fp16", "bf16", "q8", "q4", "q2"]


class StreamIn(BaseModel):
    """Train on activations the model computes as training reads them (no disk cache): every epoch re-runs the
    model over the tokens, so it costs a forward pass per token per epoch, where an extraction costs disk."""

    model_id: str
    dataset_id: str
    tokenization_id: str
    format: ModelFormat = "fp32"
    max_samples: int | None = Field(default=None, ge=1, le=SAFE_INT)
    forward_batch_size: int = Field(default=8, ge=1, le=4096, description="sequences per forward pass (a power of 2)")


class TrainIn(BaseModel):
    """What to train on and how: a stored extraction, or a stream from the model. A transcoder reads `hook_point`
    and reconstructs `target_hook_point`; an SAE of `saes` may read other hook points of the same activations."""

    extraction_id: str | None = Field(default=None, description="train on this stored extraction ...")
    stream: StreamIn | None = Field(default=None, description="... or on activations streamed from the model")
    hook_point: str = Field(examples=["blocks.6.resid_post"])
    target_hook_point: str | None = None
    name: str | None = Field(default=None, max_length=255)
    saes: list[SAESpec] = Field(default_factory=lambda: [SAESpec()], min_length=1, max_length=MAX_SWEEP)
    total_tokens: int | None = Field(default=None, ge=1, le=SAFE_INT, description="unset: 2 epochs of the data")
    steps: int | None = Field(default=None, ge=1, le=SAFE_INT, description="instead of total_tokens")
    batch_tokens: int = Field(default=4096, ge=1, le=2**22)
    holdout_fraction: float = Field(default=0.05, ge=0, lt=0.9)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    device: str | None = Field(default=None, description="cpu, cuda or cuda:N; unset: the studio's device setting")
    compute_dtype: Literal["float32", "bfloat16"] = "float32"
    normalize_input: bool = True
    b_dec_init: Literal["geometric_median", "mean", "zeros"] = "geometric_median"
    dead_window_tokens: int = Field(default=1_000_000, ge=1, le=SAFE_INT)
    log_every: int = Field(default=25, ge=1, le=SAFE_INT)
    checkpoint_every: int | None = Field(default=200, ge=1, le=SAFE_INT)
    keep_checkpoints: int = Field(default=2, ge=1, le=100)
    evaluate_in_model: bool = Field(default=True, description="CE loss recovered and KL on held-out sequences at the "
                                                              "end (loads the model)")
    eval_sequences: int = Field(default=16, ge=1, le=4096)


class TrainingOut(TrackedOut):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    model_id: str
    model_name: str
    source: Literal["extraction", "stream"]
    extraction_id: str | None
    dataset_id: str | None
    tokenization_id: str | None
    format: str | None
    hook_point: str
    target_hook_point: str | None
    d_in: int
    d_out: int
    members: list[dict] = Field(description="per SAE: the config and hyperparameters it trains with")
    settings: dict = Field(description="what the SAEs share: tokens, batch, seed, device, logging, checkpoints")
    total_steps: int
    steps_done: int
    tokens_per_second: float | None
    eta_seconds: float | None
    latest_metrics: list[dict[str, float]] | None
    final_metrics: list[dict[str, float]] | None
    sae_ids: list[str]
    stop_requested: bool = Field(description="a stop was asked: the run ends after its current step, SAEs kept")
    seconds: float | None
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None


class TrainingAccepted(TrainingOut):
    job_id: str  # type: ignore[assignment]


class SAEEstimate(BaseModel):
    parameters: int
    memory_bytes: int = Field(description="weights, gradients, Adam moments, a batch's pre-activations, the buffer")
    checkpoint_bytes: int
    seconds_per_step: float = Field(description="measured: a few real steps of an SAE of this shape on this device")


class TrainingEstimate(BaseModel):
    total_steps: int
    tokens: int = Field(description="tokens the run will train on (steps × batch)")
    train_tokens: int = Field(description="tokens available after the hold-out split (one epoch)")
    epochs: float
    saes: list[SAEEstimate]
    memory_bytes: int = Field(description="the whole run: every SAE plus one shared shuffle buffer")
    disk_bytes: int = Field(description="the kept checkpoints plus the saved SAEs")
    seconds: float = Field(description="SAE steps only; a streamed run adds the model's forward passes")
    warnings: list[str]


class MetricPoint(BaseModel):
    member: int
    step: int
    values: dict[str, float]


class CheckpointOut(BaseModel):
    step: int
    path: str
    score: float | None = Field(description="summed hold-out MSE of the run's SAEs when written (lower is better)")
    size_bytes: int


class SAEOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    origin: Literal["trained", "imported"]
    training_id: str | None
    model_id: str | None
    model_name: str | None
    hook_point: str | None
    target_hook_point: str | None
    architecture: str
    d_in: int
    d_sae: int
    k: int | None
    metrics: dict[str, float] | None
    source_path: str | None
    size_bytes: int
    path: str = Field(description="the SAELens folder: cfg.json, sae_weights.safetensors, sparsity.safetensors")
    created_at: dt.datetime


class SAEImportIn(BaseModel):
    """A SAELens or sparsify SAE folder on this machine (absolute path)."""

    path: str = Field(max_length=4096)
    name: str | None = Field(default=None, max_length=255)
    model_id: str | None = Field(default=None, description="the studio model it belongs to, if any")


# --- live events ------------------------------------------------------------------------------------------


class TrainingMetrics(EventPayload):
    """`metrics` on `trainings/{training_id}/metrics`: every `log_every` steps, one entry per SAE of the run."""

    training_id: str
    step: int
    total_steps: int
    members: list[dict[str, float]]


class TrainingStatusChanged(EventPayload):
    """`status` on `trainings/{training_id}`: the run's row changed status; REST has the rest."""

    training_id: str
    status: StatusName
    message: str | None


declare_channel("trainings/{training_id}/metrics", {"metrics": TrainingMetrics})
declare_channel("trainings/{training_id}", {"status": TrainingStatusChanged})
