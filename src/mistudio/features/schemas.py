"""Request and response bodies of the features API, and the live events of an analysis."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistudio.envelopes import SAFE_INT, omittable
from mistudio.models.schemas import ModelFormat
from mistudio.platform.events import EventPayload, declare_channel
from mistudio.platform.lifecycle import StatusName, TrackedOut

SortField = Literal["index", "frequency", "max_activation", "mean_activation", "label_score"]
MAX_LABEL_CHARS = 200
MAX_NOTES_CHARS = 10_000


class AnalyzeIn(BaseModel):
    """What to analyse an SAE over and how much of each latent's evidence to keep.

    Sequences: by default the hold-out sequences of the training that produced the SAE (text it was not trained
    on); otherwise, or to choose, `dataset_id` + `tokenization_id` (made with the SAE's model's tokenizer), from
    its first sequence."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str | None = Field(default=None, description="with tokenization_id: analyse over this tokenization")
    tokenization_id: str | None = None
    model_id: str | None = Field(default=None, description="the model to run; unset: the SAE's own model")
    format: ModelFormat = Field(default="fp32", description="the model variant (format) to run")
    device: str | None = Field(default=None, description="unset: the studio's device setting")
    max_sequences: int | None = Field(default=None, ge=1, le=SAFE_INT, description="at most this many sequences")
    top_k: int = Field(default=20, ge=1, le=10_000, description="max-activating examples kept per latent")
    context: int = Field(default=16, ge=0, le=4096, description="tokens either side of each example's peak")
    histogram_bins: int = Field(default=60, ge=1, le=10_000)
    intervals: int = Field(default=10, ge=1, le=1000, description="equal-width activation intervals sampled")
    per_interval: int = Field(default=2, ge=0, le=1000, description="examples sampled per interval (0: none)")
    correlations: int = Field(default=10, ge=0, le=10_000, description="most co-activating latents kept (0: none)")
    neighbours: int = Field(default=10, ge=0, le=1000, description="nearest latents by decoder cosine (0: none)")
    logit_lens: int = Field(default=10, ge=0, le=1000, description="promoted and suppressed tokens kept (0: none)")
    ablation_top: int = Field(default=0, ge=0, le=100, description="ablate each latent's first N top examples and "
                              "measure the change in next-token loss (two forward passes per example; 0: skip)")
    batch_size: int = Field(default=8, ge=1, le=4096, description="sequences per forward pass")
    checkpoint_every: int = Field(default=64, ge=1, le=SAFE_INT,
                                  description="save the resumable state every this many batches")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class AnalysisOut(TrackedOut):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sae_id: str
    sae_name: str
    model_id: str
    model_name: str
    format: str
    device: str
    dataset_id: str
    tokenization_id: str
    source: Literal["holdout", "tokenization"] = Field(description="the training's hold-out, or a tokenization")
    first_sequence: int
    num_sequences: int
    width: int
    settings: dict = Field(description="the analysis config (lens AnalysisConfig) and the extras asked for")
    phase: str | None = Field(description="activations (first pass), samples (second pass), complete")
    sequences_done: int = Field(description="of the current pass")
    tokens_per_second: float | None
    tokens: int | None
    dead_count: int | None
    seconds: float | None
    path: str
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None


class AnalysisAccepted(AnalysisOut):
    job_id: str  # type: ignore[assignment]


class FeatureOut(BaseModel):
    """One latent's row in the browser."""

    model_config = ConfigDict(from_attributes=True)

    latent: int
    frequency: float = Field(description="fraction of the counted tokens where it fires")
    max_activation: float
    mean_activation: float = Field(description="over all counted tokens, zeros included")
    dead: bool
    label: str | None
    label_kind: str | None = Field(description="automatic (from the top tokens, offline), llm or user")
    label_model: str | None = Field(default=None, description="llm labels: the model that wrote it")
    label_prompt_version: str | None = Field(default=None, description="llm labels: explainer/scorer prompts")
    detection_score: float | None = Field(default=None, description="balanced accuracy of detection (0.5: chance)")
    fuzzing_score: float | None = Field(default=None, description="balanced accuracy of fuzzing (0.5: chance)")
    label_score: float | None = Field(description="mean of the label's detection and fuzzing scores; null: unscored")
    favourite: bool
    notes: str | None


class FeatureUpdate(BaseModel):
    """PATCH: any of the three; a label given here becomes a `user` label."""

    model_config = ConfigDict(extra="forbid")

    label: str = omittable(max_length=MAX_LABEL_CHARS)
    favourite: bool = omittable()
    notes: str = omittable(max_length=MAX_NOTES_CHARS)


class TokenValue(BaseModel):
    token: int
    text: str
    value: float


class ExampleOut(BaseModel):
    """An example window: the tokens around the peak (column `context`) and the latent's activation on each."""

    kind: Literal["top", "interval"]
    rank: int
    interval: int = Field(description="-1 for top examples; else the equal-width interval (j·max/n, (j+1)·max/n]")
    activation: float
    sequence: int = Field(description="row of the tokenization")
    position: int
    tokens: list[int] = Field(description="-1 outside the sequence or on padding")
    texts: list[str]
    activations: list[float]
    delta_loss: list[float | None] | None = Field(default=None, description="ablation: Δ next-token loss per "
                                                  "position when the latent is zeroed (null: no next token)")


class Histogram(BaseModel):
    counts: list[int]
    log10_edges: list[float] = Field(description="bins + 1 edges of log10(activation); outside values in end bins")


class Related(BaseModel):
    latent: int
    value: float
    label: str | None = None


class FeatureDetail(FeatureOut):
    active_count: int
    mean_when_active: float | None
    histogram: Histogram
    examples: list[ExampleOut]
    promoted: list[TokenValue] = Field(description="logit lens: most promoted tokens and their logit change")
    suppressed: list[TokenValue]
    neighbours: list[Related] = Field(description="nearest latents by decoder cosine")
    correlations: list[Related] = Field(description="most correlated latents over the analysed tokens")
    ablation_mean_delta_loss: float | None = Field(description="mean Δ loss of the token after each ablated peak")
    interval_kind: str
    label_evidence: dict | None = Field(default=None, description="llm labels: the explainer's answer and each "
                                       "scored context with its truth and the LLM's verdict (null: unparsed)")


class AnalysisProgressEvent(EventPayload):
    """`progress` on `feature-analyses/{analysis_id}`: the pass, sequences done of it and the speed."""

    analysis_id: str
    phase: str
    pass_number: int
    passes: int
    sequences_done: int
    sequences_total: int
    tokens_per_second: float


class AnalysisStatusChanged(EventPayload):
    """`status` on `feature-analyses/{analysis_id}`: the row changed status; REST has the rest."""

    analysis_id: str
    status: StatusName
    message: str | None


declare_channel("feature-analyses/{analysis_id}", {"progress": AnalysisProgressEvent,
                                                   "status": AnalysisStatusChanged})
