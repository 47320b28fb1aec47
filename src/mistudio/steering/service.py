"""Use cases of steering: compare and sweep in the model host, presets, and the history of experiments.

Nothing here imports torch or loads a model. Each request is checked here first for what the studio's rows can
answer (the SAE and the model agree, the feature exists, the strength is a number); the model host then checks
what only the model can (its layers, its context) through `lens.steer`. Either way a refusal names the field.
Directions (contrastive pairs, control vectors) are `steering.directions`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from mistudio.envelopes import Deleted
from mistudio.errors import InvalidInput, MistudioError
from mistudio.models import generate as generation
from mistudio.models import service as models
from mistudio.models.generate_schemas import GenerateIn
from mistudio.models.schemas import ModelOut
from mistudio.platform.db import new_id, newest_first_page, row_or_404, session_scope
from mistudio.platform.events import event_data
from mistudio.platform.runtime import Runtime
from mistudio.steering import presets
from mistudio.steering.interventions import refuse, resolve_intervention
from mistudio.steering.schemas import (
    COMPARE_HANDLER,
    SWEEP_HANDLER,
    CompareIn,
    CompareOut,
    ExperimentOut,
    GenerationIn,
    InterventionIn,
    SteeringDone,
    SteeringError,
    SteeringToken,
    SweepIn,
    SweepOut,
    steering_channel,
)
from mistudio.steering.tables import SteeringExperiment

OnToken = Callable[[SteeringToken], None]


def _plan(runtime: Runtime, model_id: str, body: GenerationIn) -> tuple[ModelOut, dict[str, Any], Any]:
    """The model (ready), the host payload's generation part, and generation's accepted choices (seed, format)."""
    if not body.prompt.strip():
        raise refuse("prompt is empty: give the text to continue", "prompt")
    model = models.get_model(runtime, model_id)
    accepted, payload = generation.plan(runtime, model_id, GenerateIn(
        prompt=body.prompt, use_chat_template=body.use_chat_template, max_new_tokens=body.max_new_tokens,
        temperature=body.temperature, top_p=body.top_p, seed=body.seed, format=body.format,
        request_id=body.request_id))
    payload = {**payload, "tokens": list(body.tokens)}
    return model, payload, accepted


def _presets_interventions(runtime: Runtime, body: CompareIn) -> list[InterventionIn]:
    if body.interventions:
        return body.interventions
    if body.preset_id is None:
        raise refuse("give at least one intervention (or a preset_id)", "interventions")
    return presets.get_preset(runtime, body.preset_id).interventions


def _call(runtime: Runtime, handler: str, payload: dict[str, Any], request_id: str, what: str,
          on_token: OnToken | None) -> dict[str, Any]:
    """Run in the host, each token published on the request's channel (and handed to `on_token`)."""
    channel = steering_channel(request_id)

    def on_event(event: str, data: dict[str, Any]) -> None:
        if event == "token":
            token = SteeringToken(request_id=request_id, **data)
            runtime.publish(channel, "token", event_data(channel, "token", token))
            if on_token is not None:
                on_token(token)

    finished = threading.Event()
    outcome: dict[str, Any] = {}

    def on_done(result: Any, error: MistudioError | None) -> None:
        outcome.update(result=result, error=error)
        finished.set()

    # Started under the client's request id (not `host.call`'s own) so that `stop_request` can reach it.
    runtime.host.start(handler, payload, what=what, on_event=on_event, on_done=on_done, request_id=request_id)
    finished.wait()
    error = outcome["error"]
    if error is not None:
        failed = SteeringError(request_id=request_id, code=error.code, message=error.message)
        runtime.publish(channel, "error", event_data(channel, "error", failed))
        raise error
    return outcome["result"]


def stop_request(runtime: Runtime, request_id: str) -> bool:
    """Ask a running comparison or sweep to stop at its next token (its texts so far are measured and kept);
    False when it is not running."""
    return runtime.host.stop(request_id)


def _record(runtime: Runtime, kind: str, model: ModelOut, body: GenerationIn, out: CompareOut | SweepOut) -> None:
    with session_scope(runtime.sessions) as session:
        session.add(SteeringExperiment(id=out.experiment_id, kind=kind, model_id=model.id, model_name=model.name,
                                       prompt=body.prompt, seed=out.seed, request=body.model_dump(mode="json"),
                                       result=out.model_dump(mode="json"), seconds=out.seconds))
    channel = steering_channel(out.request_id)
    done = SteeringDone(request_id=out.request_id, experiment_id=out.experiment_id)
    runtime.publish(channel, "done", event_data(channel, "done", done))


def compare(runtime: Runtime, body: CompareIn, on_token: OnToken | None = None) -> CompareOut:
    """Baseline and steered with the same seed in the model host, measured, kept in the history."""
    model, payload, accepted = _plan(runtime, body.model_id, body)
    items = [resolve_intervention(runtime, item, model, index)
             for index, item in enumerate(_presets_interventions(runtime, body))]
    payload["interventions"] = items
    result = _call(runtime, COMPARE_HANDLER, payload, accepted.request_id, f"steering model {model.name!r}", on_token)
    out = CompareOut(experiment_id=new_id(), request_id=accepted.request_id,
                     channel=steering_channel(accepted.request_id), model_id=model.id, **result)
    _record(runtime, "compare", model, body, out)
    return out


def sweep(runtime: Runtime, body: SweepIn, on_token: OnToken | None = None) -> SweepOut:
    """One intervention at a grid of strengths (and the random control), measured, kept in the history."""
    model, payload, accepted = _plan(runtime, body.model_id, body)
    for index, strength in enumerate(body.strengths):
        if not math.isfinite(strength):
            raise refuse(f"strength {index} is not a finite number: {strength}", f"strengths[{index}]")
    try:  # a refusal names interventions[0].x, which in this body is `intervention.x`
        payload.update(intervention=resolve_intervention(runtime, body.intervention, model, 0),
                       strengths=list(body.strengths), random_baseline=body.random_baseline)
        result = _call(runtime, SWEEP_HANDLER, payload, accepted.request_id, f"sweeping strengths on {model.name!r}",
                       on_token)
    except MistudioError as error:
        raise _renamed(error) from error
    out = SweepOut(experiment_id=new_id(), request_id=accepted.request_id,
                   channel=steering_channel(accepted.request_id), model_id=model.id, **result)
    _record(runtime, "sweep", model, body, out)
    return out


def _renamed(error: MistudioError) -> MistudioError:
    details = error.details if isinstance(error.details, dict) else {}
    field = str(details.get("field", ""))
    if not field.startswith("interventions[0]"):
        return error
    message = error.message.replace("intervention 0: ", "intervention: ", 1)
    return InvalidInput(message, details={**details, "field": "intervention" + field[len("interventions[0]"):]})


# --- history ------------------------------------------------------------------------------------------------
def _experiment(session: Any, experiment_id: str) -> SteeringExperiment:
    return row_or_404(session, SteeringExperiment, experiment_id, "steering experiment")


def get_experiment(runtime: Runtime, experiment_id: str) -> ExperimentOut:
    with session_scope(runtime.sessions) as session:
        return ExperimentOut.model_validate(_experiment(session, experiment_id))


def list_experiments(runtime: Runtime, *, model_id: str | None = None, kind: str | None = None, page: int = 1,
                     limit: int = 50) -> tuple[list[ExperimentOut], int]:
    query = select(SteeringExperiment)
    if model_id:
        query = query.where(SteeringExperiment.model_id == model_id)
    if kind:
        query = query.where(SteeringExperiment.kind == kind)
    with session_scope(runtime.sessions) as session:
        rows, total = newest_first_page(session, query, SteeringExperiment, page, limit)
        return [ExperimentOut.model_validate(row) for row in rows], total


def delete_experiment(runtime: Runtime, experiment_id: str) -> Deleted:
    with session_scope(runtime.sessions) as session:
        session.delete(_experiment(session, experiment_id))
    return Deleted(id=experiment_id, bytes_freed=0)


# --- presets ------------------------------------------------------------------------------------------------
