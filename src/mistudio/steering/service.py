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
from sqlalchemy.exc import IntegrityError

from mistudio.envelopes import Deleted
from mistudio.errors import Conflict, InvalidInput, MistudioError, NotFound
from mistudio.models import generate as generation
from mistudio.models import service as models
from mistudio.models.generate_schemas import GenerateIn
from mistudio.models.schemas import ModelOut
from mistudio.platform.db import new_id, newest_first_page, session_scope
from mistudio.platform.events import event_data
from mistudio.platform.runtime import Runtime
from mistudio.steering import directions
from mistudio.steering.schemas import (
    COMPARE_HANDLER,
    SWEEP_HANDLER,
    CompareIn,
    CompareOut,
    ExperimentOut,
    GenerationIn,
    InterventionIn,
    PresetIn,
    PresetOut,
    SteeringDone,
    SteeringError,
    SteeringToken,
    SweepIn,
    SweepOut,
    steering_channel,
)
from mistudio.steering.tables import SteeringExperiment, SteeringPreset
from mistudio.training import saes

OnToken = Callable[[SteeringToken], None]


def _refuse(message: str, field: str, **details: Any) -> InvalidInput:
    return InvalidInput(message, details={"field": field, **details})


def resolve_intervention(runtime: Runtime, item: InterventionIn, model: ModelOut | None, index: int
                         ) -> dict[str, Any]:
    """One intervention as the host takes it (files, not ids), refused here when the rows already say why.

    Without a model (a preset being saved) only what does not depend on the model is checked."""
    where = f"interventions[{index}]"
    if not math.isfinite(item.strength):
        raise _refuse(f"intervention {index}: strength must be a finite number; got {item.strength}",
                      f"{where}.strength")
    if (item.sae_id is None) == (item.direction_id is None):
        raise _refuse(f"intervention {index}: give either sae_id (with feature) or direction_id", f"{where}.sae_id")
    if item.direction_id is not None:
        if item.mode != "add":
            raise _refuse(f"intervention {index}: a direction can only be added (mode add); clamp and ablate need "
                          "an SAE", f"{where}.mode")
        if item.unit != "absolute":
            raise _refuse(f"intervention {index}: a direction's strength is absolute (it has no analysis)",
                          f"{where}.unit")
        direction = directions.get_direction(runtime, item.direction_id)
        if model is not None and model.hidden_size is not None and direction.d_model != model.hidden_size:
            raise _refuse(f"intervention {index}: direction {direction.name!r} has width {direction.d_model} but "
                          f"{model.name} has d_model {model.hidden_size}", f"{where}.direction_id")
        return {"kind": "direction", "path": str(runtime.storage.direction_file(direction.id)),
                "strength": item.strength, "positions": item.positions}
    assert item.sae_id is not None
    sae = saes.get_sae(runtime, item.sae_id)
    if item.feature is None:
        raise _refuse(f"intervention {index}: an SAE intervention needs the feature's index", f"{where}.feature")
    if item.feature >= sae.d_sae:
        raise _refuse(f"intervention {index}: feature {item.feature} is beyond SAE {sae.name!r}, which has "
                      f"{sae.d_sae} features (0–{sae.d_sae - 1})", f"{where}.feature", d_sae=sae.d_sae)
    if model is not None and model.hidden_size is not None and sae.d_in != model.hidden_size:
        raise _refuse(f"intervention {index}: SAE {sae.name!r} reads width {sae.d_in} but {model.name} has d_model "
                      f"{model.hidden_size}: it was trained on another model", f"{where}.sae_id")
    if model is not None and sae.model_id is not None and sae.model_id != model.id:
        raise _refuse(f"intervention {index}: SAE {sae.name!r} belongs to model {sae.model_name or sae.model_id!r}, "
                      f"not {model.name!r}", f"{where}.sae_id", sae_model_id=sae.model_id)
    if sae.hook_point is None:
        raise _refuse(f"intervention {index}: SAE {sae.name!r} does not say which hook point it reads",
                      f"{where}.sae_id")
    if sae.target_hook_point not in (None, sae.hook_point):
        raise _refuse(f"intervention {index}: SAE {sae.name!r} is a transcoder ({sae.hook_point} → "
                      f"{sae.target_hook_point}); steer with an SAE that reads and writes one point", f"{where}.sae_id")
    strength = _in_max_activations(runtime, item, sae.id, where) if item.unit == "max_activation" else item.strength
    return {"kind": "feature", "sae_id": sae.id, "sae_path": sae.path, "feature": item.feature, "mode": item.mode,
            "strength": 0.0 if item.mode == "ablate" else strength, "positions": item.positions}


def _in_max_activations(runtime: Runtime, item: InterventionIn, sae_id: str, where: str) -> float:
    """The absolute strength of `strength` × the feature's max activation in the analysis the item names."""
    from mistudio.features import browser
    from mistudio.features import service as features

    if item.analysis_id is None:
        raise _refuse("a strength in units of max activation needs the analysis it comes from",
                      f"{where}.analysis_id")
    analysis = features.get_analysis(runtime, item.analysis_id)
    if analysis.sae_id != sae_id:
        raise _refuse(f"analysis {item.analysis_id!r} is of another SAE ({analysis.sae_id})", f"{where}.analysis_id")
    assert item.feature is not None
    peak = browser.feature_detail(runtime, item.analysis_id, item.feature).max_activation
    if not peak > 0:
        raise _refuse(f"feature {item.feature} never fired in analysis {item.analysis_id!r}: give an absolute "
                      "strength", f"{where}.unit")
    return item.strength * peak


def _plan(runtime: Runtime, model_id: str, body: GenerationIn) -> tuple[ModelOut, dict[str, Any], Any]:
    """The model (ready), the host payload's generation part, and generation's accepted choices (seed, format)."""
    if not body.prompt.strip():
        raise _refuse("prompt is empty: give the text to continue", "prompt")
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
        raise _refuse("give at least one intervention (or a preset_id)", "interventions")
    return get_preset(runtime, body.preset_id).interventions


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
            raise _refuse(f"strength {index} is not a finite number: {strength}", f"strengths[{index}]")
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
    row = session.get(SteeringExperiment, experiment_id)
    if row is None:
        raise NotFound(f"steering experiment {experiment_id!r} not found", details={"id": experiment_id})
    return row


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
def _preset(session: Any, preset_id: str) -> SteeringPreset:
    row = session.get(SteeringPreset, preset_id)
    if row is None:
        raise NotFound(f"steering preset {preset_id!r} not found", details={"id": preset_id})
    return row


def create_preset(runtime: Runtime, body: PresetIn) -> PresetOut:
    """Save a named set of interventions (their SAEs and directions are checked when it is used)."""
    for index, item in enumerate(body.interventions):
        resolve_intervention(runtime, item, None, index)
    try:
        with session_scope(runtime.sessions) as session:
            row = SteeringPreset(name=body.name, description=body.description,
                                 interventions=[item.model_dump(mode="json") for item in body.interventions])
            session.add(row)
            session.flush()
            return PresetOut.model_validate(row)
    except IntegrityError:
        raise Conflict(f"a preset named {body.name!r} exists; choose another name or delete it first",
                       details={"field": "name"}) from None


def get_preset(runtime: Runtime, preset_id: str) -> PresetOut:
    with session_scope(runtime.sessions) as session:
        return PresetOut.model_validate(_preset(session, preset_id))


def list_presets(runtime: Runtime, *, page: int = 1, limit: int = 50) -> tuple[list[PresetOut], int]:
    with session_scope(runtime.sessions) as session:
        rows, total = newest_first_page(session, select(SteeringPreset), SteeringPreset, page, limit)
        return [PresetOut.model_validate(row) for row in rows], total


def delete_preset(runtime: Runtime, preset_id: str) -> Deleted:
    with session_scope(runtime.sessions) as session:
        session.delete(_preset(session, preset_id))
    return Deleted(id=preset_id, bytes_freed=0)
