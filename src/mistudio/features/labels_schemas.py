"""Request and response bodies of LLM labelling: which latents, which LLM, how many examples."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from mistudio.envelopes import SAFE_INT
from mistudio.models.schemas import ModelFormat

MAX_LATENTS = 10_000


class LabelIn(BaseModel):
    """Label and score latents with an LLM: an OpenAI-compatible `endpoint` + `model`, or a studio model
    (`local_model_id`) run locally. The latents: `latents`, or the `top` live ones by `sort`."""

    model_config = ConfigDict(extra="forbid")

    top: int = Field(default=20, ge=1, le=MAX_LATENTS, description="label the top N live latents by `sort`")
    sort: Literal["frequency", "max_activation", "mean_activation", "index"] = "frequency"
    latents: list[Annotated[int, Field(ge=0, le=SAFE_INT)]] | None = Field(
        default=None, min_length=1, max_length=MAX_LATENTS, description="these latents instead of the top N")
    endpoint: str | None = Field(default=None, max_length=2000, examples=["http://localhost:8000/v1"],
                                 description="base URL of an OpenAI-compatible API (…/v1)")
    model: str | None = Field(default=None, max_length=255, description="with endpoint: the model name it serves")
    api_key: SecretStr | None = Field(default=None, max_length=1000, description="with endpoint; never stored or "
                                      "logged. Unset: MISTUDIO_LLM_API_KEY or OPENAI_API_KEY of the server")
    local_model_id: str | None = Field(default=None, description="a ready studio model that writes the labels")
    format: ModelFormat = Field(default="fp32", description="with local_model_id: the variant to run")
    explain_examples: int = Field(default=10, ge=1, le=100, description="top examples shown to the explainer "
                                  "(plus half as many interval examples)")
    score_examples: int = Field(default=10, ge=1, le=100, description="activating contexts per score (detection "
                                "adds as many where the latent is silent)")
    batch_size: int = Field(default=5, ge=1, le=50, description="contexts per scoring prompt")
    seed: int = Field(default=0, ge=0, le=SAFE_INT)


class LabelJobAccepted(BaseModel):
    analysis_id: str
    job_id: str
    latents: list[int] = Field(description="the latents the job labels, in order")
    writer: str = Field(description="the model that writes the labels, as recorded on each")
