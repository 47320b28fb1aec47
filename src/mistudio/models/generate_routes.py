"""HTTP routes of generation: start one (202, tokens on the WebSocket), stop one. No logic here."""

from __future__ import annotations

from fastapi import APIRouter, Request

from mistudio.envelopes import ERROR_RESPONSES, Accepted, Item
from mistudio.models import generate
from mistudio.models.generate_schemas import GenerateAccepted, GenerateIn, GenerateStopOut
from mistudio.platform.runtime import Runtime

router = APIRouter(prefix="/models", tags=["models"], responses=ERROR_RESPONSES)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.post("/{model_id}/generate", status_code=202, response_model=Accepted[GenerateAccepted])
def generate_text(request: Request, model_id: str, body: GenerateIn) -> Accepted[GenerateAccepted]:
    """Generate with a ready model in the model host. Subscribe to the returned `channel` (or to one made from your
    own `request_id`, before sending) for `token` events as they are produced, then `done` or `error`."""
    return Accepted(data=generate.start_generation(_runtime(request), model_id, body))


@router.delete("/{model_id}/generate/{request_id}", response_model=Item[GenerateStopOut])
def stop_generation(request: Request, model_id: str, request_id: str) -> Item[GenerateStopOut]:
    """Stop a running generation at its next token; its `done` event says `finish_reason: stopped`."""
    stopping = generate.stop_generation(_runtime(request), request_id)
    return Item(data=GenerateStopOut(request_id=request_id, stopping=stopping))
