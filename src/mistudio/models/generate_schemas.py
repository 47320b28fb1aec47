"""Bodies and live events of generation (`POST /models/{id}/generate`), answered by the model host.

Kept apart from `schemas.py`: these are interactive requests, not rows a job tracks — nothing here is stored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mistudio.models.schemas import ModelFormat
from mistudio.platform.events import EventPayload, declare_channel

MAX_SEED = 2**31 - 1
GENERATE_CHANNEL = "models/{model_id}/generate/{request_id}"
# The model host's handlers (`mistudio.models.host`), named here so the server never imports that module.
OPEN_HANDLER = "models.open"
GENERATE_HANDLER = "models.generate"
FinishReason = Literal["eos", "length", "stopped"]


class GenerateIn(BaseModel):
    prompt: str = Field(min_length=1, max_length=20_000)
    use_chat_template: bool | None = Field(default=None, description="default: when the model's tokenizer has one")
    max_new_tokens: int = Field(default=64, ge=1, le=2048)
    temperature: float = Field(default=0.0, ge=0, le=5, description="0: greedy (the same text every time)")
    top_p: float = Field(default=1.0, gt=0, le=1, description="nucleus sampling; used when temperature > 0")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="default: a random one, returned")
    format: ModelFormat | None = Field(default=None, description="default: the model's ready variant on the "
                                                                 "studio's device, else fp32 (bf16 on CUDA)")
    variant_id: str | None = Field(default=None, max_length=32, description="a ready variant to generate with")
    request_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$",
                                   description="chosen by the client so it can subscribe to the channel first")


class GenerateAccepted(BaseModel):
    """202 body: where the tokens will stream, and the choices made for the request."""

    request_id: str
    model_id: str
    channel: str = Field(description="the WebSocket channel of this request's token, done and error events")
    format: ModelFormat | None = Field(description="null: the host's default for the device (fp32 on CPU, bf16 on "
                                                   "CUDA); the done event says what was used")
    device: str = Field(description="as configured (auto is resolved by the host)")
    use_chat_template: bool
    seed: int


class GenerateStopOut(BaseModel):
    request_id: str
    stopping: bool = Field(description="false: the request had already finished (or was never here)")


class GenerateToken(EventPayload):
    request_id: str
    index: int = Field(description="0-based index of the newest generated token")
    text: str = Field(description="the text this token adds (empty while a character is incomplete)")


class GenerateDone(EventPayload):
    request_id: str
    text: str = Field(description="the whole generated text (the tokens' texts joined)")
    tokens: int
    prompt_tokens: int
    seed: int
    finish_reason: FinishReason
    warm: bool = Field(description="the model was already loaded in the host")
    format: ModelFormat
    device: str
    load_seconds: float
    seconds: float
    first_token_seconds: float | None


class GenerateError(EventPayload):
    request_id: str
    code: str
    message: str


declare_channel(GENERATE_CHANNEL, {"token": GenerateToken, "done": GenerateDone, "error": GenerateError})


def generate_channel(model_id: str, request_id: str) -> str:
    return GENERATE_CHANNEL.format(model_id=model_id, request_id=request_id)
