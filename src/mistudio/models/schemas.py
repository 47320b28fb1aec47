"""Request and response bodies of the models API (and so the web client's generated types)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mistudio.envelopes import omittable
from mistudio.platform.events import EventPayload, declare_channel
from mistudio.platform.lifecycle import TrackedOut

ModelFormat = Literal["fp32", "fp16", "bf16", "q8", "q4", "q2"]
FitLevel = Literal["green", "yellow", "red"]
MAX_BUDGET_GB = 1_000_000.0  # a petabyte: above any machine, and bounds the input (no inf, no overflow)


class PreviewIn(BaseModel):
    repo_id: str = Field(examples=["HuggingFaceTB/SmolLM2-135M-Instruct"])
    revision: str | None = None
    token: str | None = Field(default=None, description="used for this request only; never stored")
    budget_gb: float | None = Field(default=None, gt=0, le=MAX_BUDGET_GB, allow_inf_nan=False,
                                    description="memory budget for the fit colours")


class FormatEstimate(BaseModel):
    format: ModelFormat
    spec_bytes: int = Field(description="parameters × bytes per parameter × 1.2, as the spec defines it")
    estimate_bytes: int = Field(description="refined: embeddings, lm_head and norms stay unquantized")
    fit: FitLevel
    available: bool
    backend: str
    unavailable_reason: str | None = None


class FormatsOut(BaseModel):
    device: str
    memory_budget_bytes: int
    formats: list[FormatEstimate]


class RepoFileOut(BaseModel):
    path: str
    size: int


class PreviewOut(BaseModel):
    repo_id: str
    revision: str
    model_type: str | None
    family: str | None
    compatible: bool
    incompatible_reason: str | None
    requires_trust_remote_code: bool
    parameter_count: int | None
    parameter_source: Literal["safetensors", "config"] | None
    files: list[RepoFileOut]
    total_files: int
    download_bytes: int
    gated: bool
    private: bool
    license: str | None
    pipeline_tag: str | None
    device: str
    memory_budget_bytes: int
    formats: list[FormatEstimate]


class DownloadIn(BaseModel):
    repo_id: str = Field(examples=["HuggingFaceTB/SmolLM2-135M-Instruct"])
    revision: str | None = None
    token: str | None = Field(default=None, description="handed to the job in memory only; never stored")
    format: ModelFormat | None = Field(default=None, description="load and verify this format after download")
    name: str | None = Field(default=None, max_length=255)
    trust_remote_code: bool = Field(default=False, description="runs code from the repo: only for repos you trust")


class ImportIn(BaseModel):
    path: str = Field(description="a HF model folder or a .gguf file on the server's disk")
    mode: Literal["copy", "link"] = Field(default="copy", description="folders only: copy the files or link to them")
    format: ModelFormat | None = None
    name: str | None = Field(default=None, max_length=255)
    trust_remote_code: bool = False


class RetryIn(BaseModel):
    token: str | None = Field(default=None, description="handed to the job in memory only; never stored")


class QuantizeIn(BaseModel):
    format: ModelFormat
    device: str | None = Field(default=None, description="cpu, cuda or cuda:N; default: the studio's device")


class ModelPatch(BaseModel):
    name: str = omittable(min_length=1, max_length=255)  # leave it out to keep the name; null is no name
    notes: str | None = Field(default=None, max_length=10_000)


class VariantOut(TrackedOut):
    """A format of a model on a device; while its job runs the message says which loading step it is at."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    model_id: str
    requested_format: ModelFormat
    format: ModelFormat | None
    device: str
    placement: dict[str, Any] | None
    estimate_bytes: int | None
    footprint_bytes: int | None
    steps: list[str]
    sample_output: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ModelOut(TrackedOut):
    """A model; its status is its download or import's (`source` says which), its usability is `ready`."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    source: Literal["hub", "folder", "gguf"]
    repo_id: str | None
    revision: str | None
    commit_sha: str | None
    source_path: str | None
    storage_mode: Literal["copy", "link"]
    incompatible_reason: str | None = Field(description="set when the files arrived but cannot be loaded: why")
    model_type: str | None
    family: str | None
    parameter_count: int | None
    num_layers: int | None = None
    hidden_size: int | None = None
    size_bytes: int
    download_bytes: int | None
    license: str | None
    gated: bool
    trust_remote_code: bool
    notes: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    variants: list[VariantOut]


class ModelAccepted(ModelOut):
    """202 body: the model plus the job producing it."""

    job_id: str  # type: ignore[assignment]


class VariantAccepted(VariantOut):
    job_id: str  # type: ignore[assignment]


class ParameterBreakdown(BaseModel):
    total: int
    embedding: int
    lm_head: int
    final_norm: int
    other: int = Field(default=0, description="outside the text model, e.g. a vision tower")
    per_block: list[int]


class AttentionOut(BaseModel):
    type: str
    num_heads: int | None
    num_kv_heads: int | None
    head_dim: int | None
    sliding_window: int | None = None
    parameters: int


class MlpOut(BaseModel):
    type: Literal["dense", "moe"]
    intermediate_size: int | None
    num_experts: int | None
    experts_per_token: int | None
    parameters: int


class LayerOut(BaseModel):
    index: int
    parameters: int
    attention: AttentionOut
    mlp: MlpOut
    norms: list[str]
    hook_points: list[str]


class ArchitectureOut(BaseModel):
    model_id: str
    model_type: str
    family: str | None
    hidden_size: int | None
    num_layers: int
    num_attention_heads: int | None
    num_key_value_heads: int | None
    head_dim: int | None
    intermediate_size: int | None
    vocab_size: int | None
    context_length: int | None
    num_experts: int | None
    num_experts_per_token: int | None
    tie_word_embeddings: bool | None
    torch_dtype: str | None
    parameters: ParameterBreakdown
    layers: list[LayerOut]
    hook_points: list[str]
    hook_point_meanings: dict[str, str] = Field(default_factory=dict, description="what each hook type reads here")
    sliding_window: int | None = None
    config: dict[str, Any]


class ConfigDifference(BaseModel):
    key: str
    a: Any = None
    b: Any = None


class Pair(BaseModel):
    a: int | None
    b: int | None


class HookPointComparison(BaseModel):
    only_a: list[str]
    only_b: list[str]
    common: int


class CompareOut(BaseModel):
    a: ModelOut
    b: ModelOut
    config_differences: list[ConfigDifference]
    parameters: Pair
    num_layers: Pair
    size_bytes: Pair
    hook_points: HookPointComparison


class DeleteOut(BaseModel):
    id: str
    bytes_freed: int
    variants_removed: int


# --- live events ---------------------------------------------------------------------------------------


class HubDownloadFigures(EventPayload):
    """The figures of a hub download (`lens.hub.DownloadProgress`), shared by model and dataset downloads."""

    bytes_done: int
    bytes_total: int
    bytes_per_second: float
    eta_seconds: float | None
    current_file: str | None
    files_done: int
    files_total: int


class ModelDownloadProgress(HubDownloadFigures):
    """Data of the `progress` events on the WebSocket channel `models/{model_id}/progress`."""

    model_id: str


declare_channel("models/{model_id}/progress", {"progress": ModelDownloadProgress})
