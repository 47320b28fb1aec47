"""Request and response bodies of the extraction API (and so the web client's generated types)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mistudio.envelopes import SAFE_INT, BoundedInt
from mistudio.platform.events import EventPayload, declare_channel
from mistudio.platform.lifecycle import StatusName, TrackedOut

HookType = Literal["resid_pre", "resid_post", "mlp_out", "attn_out"]
StorageDtype = Literal["fp32", "fp16", "bf16"]
ModelFormat = Literal["fp32", "fp16", "bf16", "q8", "q4", "q2"]


class ExtractIn(BaseModel):
    """What to extract. Layers × hook types give the hook points (`blocks.{layer}.{hook}`)."""

    dataset_id: str
    tokenization_id: str
    layers: list[BoundedInt] = Field(description="decoder layer indices, 0-based", examples=[[3, 15, 29]])
    hook_points: list[HookType] = Field(description="hook types, applied to every chosen layer",
                                        examples=[["resid_post"]])
    max_samples: int | None = Field(default=None, le=SAFE_INT, description="unset: every sequence of the tokenization")
    batch_size: int = Field(default=32, le=SAFE_INT, description="a power of 2; halved automatically on out-of-memory")
    dtype: StorageDtype = Field(default="fp32", description="how activations are stored on disk")
    format: ModelFormat = Field(default="fp32", description="the model variant (format) to run")
    device: str | None = Field(default=None, description="cpu, cuda or cuda:N; unset: the studio's device setting")
    name: str | None = Field(default=None, max_length=255)


class CalibrationOut(BaseModel):
    """A measured forward pass of a few real sequences, scaled to the whole extraction."""

    samples: int
    tokens: int
    layers_run: int
    seconds: float
    seconds_per_token_layer: float
    format: str
    device: str
    reused: bool = Field(description="true when an earlier measurement of this model, format and device was reused")


class EstimateOut(BaseModel):
    samples: int
    seq_len: int
    d_model: int
    hook_points: list[str]
    layers_run: int = Field(description="the forward pass stops after the deepest requested layer")
    storage_bytes: int
    free_disk_bytes: int
    peak_memory_bytes: int = Field(description="model weights in the chosen format plus one batch's working memory")
    available_memory_bytes: int | None
    seconds: float | None
    calibration: CalibrationOut | None
    warnings: list[str]
    can_start: bool = Field(description="false when the activations would not fit on the free disk")


class HookStatisticsSummary(BaseModel):
    """Streaming statistics of one hook point (per-dimension arrays: GET /extractions/{id}/statistics)."""

    tokens: int
    d: int
    mean_norm: float | None
    max_abs: float | None
    sparsity: float | None
    sparsity_eps: float
    histogram: dict[str, Any]


class HookStatistics(HookStatisticsSummary):
    dim_mean: list[float] | None
    dim_var: list[float] | None


class ExtractionOut(TrackedOut):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    model_id: str
    model_name: str
    format: str = Field(description="the model format asked for")
    device: str
    dataset_id: str
    dataset_name: str
    tokenization_id: str
    layers: list[int]
    hook_types: list[str]
    hook_points: list[str]
    max_samples: int | None
    num_samples: int
    seq_len: int | None
    d_model: int | None
    batch_size: int
    final_batch_size: int | None = Field(description="after any out-of-memory halving")
    dtype: str
    samples_done: int
    samples_per_second: float | None
    tokens_per_second: float | None
    eta_seconds: float | None = Field(description="while running: the samples left at the last measured rate")
    seconds: float | None
    size_bytes: int
    estimate_bytes: int | None
    oom_retries: list[dict[str, int]]
    statistics: dict[str, HookStatisticsSummary] | None
    path: str = Field(description="the folder holding the .npy files and metadata.json")
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None


class ExtractionAccepted(ExtractionOut):
    job_id: str  # type: ignore[assignment]


# --- live events on `extractions/{extraction_id}` ---------------------------------------------------------


class ExtractionProgress(EventPayload):
    """`progress`: batches done so far (`lens.extraction.ExtractionProgress`), a few times a second at most."""

    extraction_id: str
    samples_done: int
    samples_total: int
    samples_per_second: float
    tokens_per_second: float
    eta_seconds: float | None
    batch_size: int = Field(description="the batch size in use (smaller than asked after out-of-memory halving)")


class ExtractionStatusChanged(EventPayload):
    """`status`: the extraction's row changed status; REST has the rest."""

    extraction_id: str
    status: StatusName
    message: str | None


declare_channel("extractions/{extraction_id}", {"progress": ExtractionProgress, "status": ExtractionStatusChanged})
