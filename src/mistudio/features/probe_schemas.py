"""Request and response bodies of "your own text": a latent's activation per token and the SAE's top latents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistudio.envelopes import SAFE_INT

PROBE_HANDLER = "features.probe"
MAX_PROBE_CHARS = 100_000  # the context length is checked in tokens by the model host


class ProbeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_PROBE_CHARS, description="the text to run through the model (plain text, with "
                      "the tokenizer's special tokens, as the analysis' tokenization)")
    latent: int | None = Field(default=None, ge=0, le=SAFE_INT, description="the latent shown per token; unset: the "
                               "text's top latent")
    top: int = Field(default=20, ge=0, le=1000, description="how many of the text's top latents to list")


class ProbeToken(BaseModel):
    position: int
    token: int
    text: str
    activation: float | None = Field(description="the chosen latent's activation here (null: nothing fired)")
    counted: bool = Field(description="false for the analysis' ignored tokens (e.g. BOS): left out of the ranking")


class ProbeLatent(BaseModel):
    latent: int
    max_activation: float = Field(description="max over the counted tokens (what the ranking sorts by)")
    sum_activation: float = Field(description="sum over the counted tokens")
    peak_position: int
    label: str | None = None


class ProbeOut(BaseModel):
    analysis_id: str
    sae_id: str
    model_id: str
    latent: int | None = Field(description="the latent in `tokens[].activation`: the one asked for, else the top one")
    label: str | None = Field(default=None, description="that latent's label in the analysis")
    tokens: list[ProbeToken]
    top_latents: list[ProbeLatent]
    ranked_by: Literal["max"] = Field(default="max", description="top latents are ranked by their max activation "
                                      "over the counted tokens (the sum is given too)")
    format: str
    device: str
    seconds: float
