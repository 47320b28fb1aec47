"""Bodies, answers and live events of the steering API (`/api/v1/steering…`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mistudio.models.generate_schemas import MAX_SEED
from mistudio.models.schemas import ModelFormat
from mistudio.platform.events import EventPayload, declare_channel

STEERING_CHANNEL = "steering/{request_id}"
# The model host's handlers (`mistudio.steering.host`), named here so the server never imports that module.
COMPARE_HANDLER = "steering.compare"
SWEEP_HANDLER = "steering.sweep"
DIRECTION_HANDLER = "steering.direction"
EXPORT_HANDLER = "steering.export_control_vector"
IMPORT_HANDLER = "steering.import_control_vector"
Mode = Literal["add", "clamp", "ablate"]
Scope = Literal["all", "prompt", "generated"]
Reduce = Literal["last", "mean"]


class InterventionIn(BaseModel):
    """One intervention: an SAE feature (`sae_id` + `feature`, at the SAE's hook point) or a saved direction."""

    sae_id: str | None = Field(default=None, max_length=32)
    feature: int | None = Field(default=None, ge=0, description="the latent's index in the SAE")
    direction_id: str | None = Field(default=None, max_length=32, description="a saved direction (mode add only)")
    mode: Mode = "add"
    strength: float = Field(default=0.0, description="add: units of the feature (or × the direction); clamp: the "
                                                      "latent's value; ablate: ignored (0)")
    positions: Scope | int = Field(default="all", description="all, prompt, generated, or p: every position from "
                                                               "p on")
    unit: Literal["absolute", "max_activation"] = Field(
        default="absolute", description="max_activation: strength × the feature's max activation in `analysis_id`")
    analysis_id: str | None = Field(default=None, max_length=32,
                                    description="a completed feature analysis of the SAE (with unit max_activation)")


class GenerationIn(BaseModel):
    prompt: str = Field(min_length=1, max_length=20_000)
    max_new_tokens: int = Field(default=48, ge=1, le=2048)
    temperature: float = Field(default=0.0, ge=0, le=5, description="0: greedy")
    top_p: float = Field(default=1.0, gt=0, le=1)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="default: a random one, returned")
    use_chat_template: bool | None = Field(default=None, description="default: when the model has one")
    tokens: list[str] = Field(default_factory=list, max_length=32,
                              description="tokens whose probability shift is reported")
    format: ModelFormat | None = None
    request_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$",
                                   description="chosen by the client so it can subscribe to the channel first")


class CompareIn(GenerationIn):
    model_id: str = Field(max_length=32)
    interventions: list[InterventionIn] = Field(default_factory=list, max_length=32)
    preset_id: str | None = Field(default=None, max_length=32,
                                  description="use this preset's interventions (when `interventions` is empty)")


class SweepIn(GenerationIn):
    model_id: str = Field(max_length=32)
    intervention: InterventionIn
    strengths: list[float] = Field(min_length=1, max_length=64)
    random_baseline: bool = Field(default=True, description="also run a random direction of the same norm")


class TokenShiftOut(BaseModel):
    token: str
    token_id: int
    baseline_next: float
    steered_next: float
    mean_shift: float


class FeatureActivationOut(BaseModel):
    hook_point: str
    feature: int
    baseline_mean: float | None
    baseline_max: float | None
    steered_mean: float | None
    steered_max: float | None


class MetricsOut(BaseModel):
    """`lens.steer.measure`: KL on the baseline text (teacher-forced), perplexities under the unsteered model…
    (null where a value is not finite)."""

    kl_per_position: list[float | None]
    kl_mean: float | None
    perplexity_baseline: float | None
    perplexity_steered: float | None
    token_shifts: list[TokenShiftOut]
    feature_activations: list[FeatureActivationOut]
    word_overlap: float


class RunOut(BaseModel):
    text: str
    tokens: int
    finish_reason: str
    prompt_tokens: int | None = Field(default=None, description="the prompt's length in tokens (positions `p` count "
                                                                 "from the prompt's first token); null in records "
                                                                 "made before it was kept")


class CompareOut(BaseModel):
    experiment_id: str
    request_id: str
    channel: str
    model_id: str
    seed: int
    baseline: RunOut
    steered: RunOut
    metrics: MetricsOut
    interventions: list[str] = Field(description="what was applied, in words")
    format: str
    device: str
    seconds: float


class SweepPointOut(BaseModel):
    strength: float
    kind: Literal["intervention", "random"]
    run: RunOut
    metrics: MetricsOut


class SweepOut(BaseModel):
    experiment_id: str
    request_id: str
    channel: str
    model_id: str
    seed: int
    baseline: RunOut
    points: list[SweepPointOut]
    intervention: str
    random_direction: str | None
    format: str
    device: str
    seconds: float


class ExperimentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: Literal["compare", "sweep"]
    model_id: str
    model_name: str
    prompt: str
    seed: int
    request: dict[str, Any]
    result: dict[str, Any] = Field(description="the CompareOut or SweepOut it answered")
    seconds: float
    created_at: dt.datetime


class DirectionIn(BaseModel):
    """A difference-of-means direction from contrastive prompt pairs (positive[i] against negative[i])."""

    model_id: str = Field(max_length=32)
    name: str = Field(min_length=1, max_length=255)
    hook_point: str = Field(max_length=64, examples=["blocks.6.resid_post"])
    positive: list[str] = Field(min_length=1, max_length=512)
    negative: list[str] = Field(min_length=1, max_length=512)
    reduce: Reduce = Field(default="last", description="each prompt's last token, or the mean over its tokens")
    use_chat_template: bool = False
    format: ModelFormat | None = None


class ControlVectorImportIn(BaseModel):
    """A llama.cpp control-vector GGUF on this machine: one direction per layer it holds."""

    path: str = Field(max_length=4096)
    name: str | None = Field(default=None, max_length=255)
    model_id: str | None = Field(default=None, max_length=32, description="checked against its width and layers")


class DirectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    origin: Literal["contrastive", "control_vector"]
    model_id: str | None
    hook_point: str
    d_model: int
    norm: float
    pairs: int | None
    details: dict[str, Any]
    size_bytes: int
    created_at: dt.datetime


class PresetIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=4000)
    interventions: list[InterventionIn] = Field(min_length=1, max_length=32)


class PresetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str | None
    interventions: list[InterventionIn]
    created_at: dt.datetime


class StopOut(BaseModel):
    request_id: str
    stopping: bool = Field(description="false: the request had already finished (or was never here)")


# --- live events ------------------------------------------------------------------------------------------
class SteeringToken(EventPayload):
    request_id: str
    run: str = Field(description="baseline, steered, or in a sweep intervention@<strength> / random@<strength>")
    index: int = Field(description="0-based index of the run's newest token")
    text: str = Field(description="the text this token adds (empty while a character is incomplete)")


class SteeringDone(EventPayload):
    request_id: str
    experiment_id: str


class SteeringError(EventPayload):
    request_id: str
    code: str
    message: str


declare_channel(STEERING_CHANNEL, {"token": SteeringToken, "done": SteeringDone, "error": SteeringError})


def steering_channel(request_id: str) -> str:
    return STEERING_CHANNEL.format(request_id=request_id)
