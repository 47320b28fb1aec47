"""Use cases of generation: check the request against the model, hand it to the model host, stream the tokens.

Nothing here imports torch or loads a model: the model host does both (`mistudio.models.host`). The API starts a
generation and answers 202 at once; the tokens go out on the WebSocket channel `models/{id}/generate/{request}`.
The CLI waits for the same request and prints the tokens as they arrive.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mistudio.errors import Conflict, InvalidInput, MistudioError, NotFound
from mistudio.models.generate_schemas import (
    GENERATE_HANDLER,
    MAX_SEED,
    GenerateAccepted,
    GenerateDone,
    GenerateError,
    GenerateIn,
    GenerateToken,
    generate_channel,
)
from mistudio.models.opening import model_open_spec
from mistudio.models.tables import Model
from mistudio.platform.db import session_scope
from mistudio.platform.events import event_data
from mistudio.platform.runtime import Runtime

OnToken = Callable[[GenerateToken], None]


def has_chat_template(folder: Path) -> bool:
    """Whether the saved tokenizer has a chat template, read from its files (no tokenizer is loaded here)."""
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    config = folder / "tokenizer_config.json"
    try:
        return bool(config.is_file() and json.loads(config.read_text()).get("chat_template"))
    except ValueError:
        return False


def _choose_variant(model: Model, body: GenerateIn, device: str) -> tuple[str | None, str]:
    """(format, device) to generate with: the variant asked for, the format asked for on the studio's device, or
    the newest ready variant there; None lets the host pick its default for the device."""
    if body.variant_id:
        variant = next((v for v in model.variants if v.id == body.variant_id), None)
        if variant is None:
            raise NotFound(f"model {model.id!r} has no variant {body.variant_id!r}", details={"id": body.variant_id})
        if not variant.ready:
            raise Conflict(f"variant {variant.id!r} is {variant.status}; generate with a ready variant",
                           details={"status": variant.status})
        return variant.format or variant.requested_format, variant.device
    if body.format:
        return body.format, device
    ready = [v for v in model.variants if v.ready and (device == "auto" or v.device == device)]
    if ready:
        newest = max(ready, key=lambda v: v.created_at)
        return newest.format or newest.requested_format, newest.device
    return None, device


def plan(runtime: Runtime, model_id: str, body: GenerateIn) -> tuple[GenerateAccepted, dict[str, Any]]:
    """Check the request (the model is ready, the chat template exists if asked for); the host payload."""
    with session_scope(runtime.sessions) as session:
        model = session.get(Model, model_id)
        if model is None:
            raise NotFound(f"model {model_id!r} not found", details={"id": model_id})
        if not model.ready:
            reason = model.incompatible_reason or f"it is {model.status}"
            raise Conflict(f"model {model_id!r} cannot generate: {reason}; generate with a ready model",
                           details={"status": model.status})
        fmt, device = _choose_variant(model, body, runtime.settings.device)
        name = model.name
        # Opened the way the user configured the model, like every job does (the host resolves `auto`).
        spec = model_open_spec(session, runtime.storage, runtime.settings, model_id, fmt, device)
    folder = runtime.storage.model_raw_dir(model_id)
    template = has_chat_template(folder)
    if body.use_chat_template and not template:
        raise InvalidInput(f"model {name!r} has no chat template; generate with use_chat_template false",
                           details={"field": "use_chat_template"})
    use_template = template if body.use_chat_template is None else body.use_chat_template
    request_id = body.request_id or uuid.uuid4().hex
    seed = body.seed if body.seed is not None else random.randrange(MAX_SEED + 1)
    accepted = GenerateAccepted(request_id=request_id, model_id=model_id, format=fmt, device=device,
                                channel=generate_channel(model_id, request_id), use_chat_template=use_template,
                                seed=seed)
    payload = {"model": spec, "prompt": body.prompt, "use_chat_template": use_template,
               "max_new_tokens": body.max_new_tokens, "temperature": body.temperature, "top_p": body.top_p,
               "seed": seed}
    return accepted, payload


def _what(model_id: str) -> str:
    return f"generating with model {model_id!r}"


def start_generation(runtime: Runtime, model_id: str, body: GenerateIn) -> GenerateAccepted:
    """Start generating in the host; token, done and error events follow on the request's channel."""
    accepted, payload = plan(runtime, model_id, body)
    channel, request_id = accepted.channel, accepted.request_id

    def on_event(event: str, data: dict[str, Any]) -> None:
        if event == "token":
            token = GenerateToken(request_id=request_id, **data)
            runtime.publish(channel, "token", event_data(channel, "token", token))

    def on_done(result: dict[str, Any] | None, error: MistudioError | None) -> None:
        if error is None:
            try:
                done = GenerateDone(request_id=request_id, **(result or {}))
            except ValidationError as exc:  # a host of another version: the client must still hear the end
                error = MistudioError(f"the model host answered something this server cannot read: {exc}")
            else:
                runtime.publish(channel, "done", event_data(channel, "done", done))
                return
        failed = GenerateError(request_id=request_id, code=error.code, message=error.message)
        runtime.publish(channel, "error", event_data(channel, "error", failed))

    runtime.host.start(GENERATE_HANDLER, payload, what=_what(model_id), on_event=on_event, on_done=on_done,
                       request_id=request_id)
    return accepted


def stop_generation(runtime: Runtime, request_id: str) -> bool:
    """Ask a running generation to stop at its next token; False if it is not running."""
    return runtime.host.stop(request_id)


def generate(runtime: Runtime, model_id: str, body: GenerateIn, on_token: OnToken,
             started: Callable[[GenerateAccepted], None] | None = None) -> GenerateDone:
    """Generate and wait (the CLI): `on_token` for each token as it arrives, the done event's figures returned."""
    accepted, payload = plan(runtime, model_id, body)
    if started is not None:
        started(accepted)
    request_id = accepted.request_id

    def on_event(event: str, data: dict[str, Any]) -> None:
        if event == "token":
            on_token(GenerateToken(request_id=request_id, **data))

    result = runtime.host.call(GENERATE_HANDLER, payload, what=_what(model_id), on_event=on_event)
    return GenerateDone(request_id=request_id, **result)
