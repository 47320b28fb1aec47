"""What the model host runs for steering: comparisons, sweeps and contrastive directions on a resident model.

Imported by the host process only (`mistudio.domains.HOST_MODULES`). The server resolves every id to a file
(`steering.service`); here SAEs are kept resident next to the model (`sae:{id}:{device}` in the host's cache),
interventions are built with `lens.steer`, and each generated token is sent as a `token` event as it is made.
Bad input that only the model can judge (a layer it lacks, max tokens beyond its context) is refused by lens,
naming the field; an intervention's field comes back as `interventions[i].<field>`.
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Any

from mistudio.errors import InvalidInput
from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hooks import parse_hook_point
from mistudio.lens.steer import (
    Direction,
    GenerationSettings,
    TokenEvent,
    ablate_feature,
    add_feature,
    clamp_feature,
    compare,
    contrastive_direction,
    export_control_vector,
    import_control_vector,
    load_direction,
    measure,
    save_direction,
    strength_sweep,
)
from mistudio.models.host import resident_model
from mistudio.platform.host.child import HostContext
from mistudio.platform.host.registry import host_handler
from mistudio.steering.schemas import (
    COMPARE_HANDLER,
    DIRECTION_HANDLER,
    EXPORT_HANDLER,
    IMPORT_HANDLER,
    SWEEP_HANDLER,
)
from mistudio.training.host import resident_sae


def _interventions(ctx: HostContext, stack: contextlib.ExitStack, handle: Any, items: list[dict[str, Any]]
                   ) -> list[Any]:
    """lens.steer interventions from the server's resolved items; a lens refusal names `interventions[i].field`."""
    built = []
    for index, item in enumerate(items):
        try:
            if item["kind"] == "direction":
                direction = load_direction(item["path"])
                built.append(direction.intervention(item["strength"], item["positions"]))
                continue
            sae = stack.enter_context(resident_sae(ctx, item["sae_id"], item["sae_path"], handle.device))
            feature, strength, positions = item["feature"], item["strength"], item["positions"]
            if item["mode"] == "add":
                built.append(add_feature(sae, feature, strength, positions))
            elif item["mode"] == "clamp":
                built.append(clamp_feature(sae, feature, strength, positions))
            else:
                built.append(ablate_feature(sae, feature, positions))
        except InvalidArgument as error:
            field = (error.details or {}).get("field", "")
            raise InvalidInput(f"intervention {index}: {error.message}",
                               details={**(error.details or {}), "field": f"interventions[{index}].{field}"}
                               ) from error
    return built


def _settings(payload: dict[str, Any]) -> GenerationSettings:
    return GenerationSettings(max_new_tokens=payload["max_new_tokens"], temperature=payload["temperature"],
                              top_p=payload["top_p"], seed=payload["seed"],
                              use_chat_template=payload["use_chat_template"])


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a figure is reported as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _run(generation: Any) -> dict[str, Any]:
    return {"text": generation.text, "tokens": int(generation.output_ids.numel()),
            "finish_reason": generation.finish_reason, "prompt_tokens": generation.prompt_length}


def _emit_tokens(ctx: HostContext) -> Any:
    def on_token(event: TokenEvent) -> None:
        ctx.emit("token", {"run": event.run, "index": event.index, "text": event.text})

    return on_token


@host_handler(COMPARE_HANDLER)
def compare_runs(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Baseline and steered from one prompt and seed (two rows of one batch), streamed, then measured."""
    started = time.perf_counter()
    with resident_model(ctx, payload["model"]) as (handle, _warm), contextlib.ExitStack() as stack:
        interventions = _interventions(ctx, stack, handle, payload["interventions"])
        comparison = compare(handle, payload["prompt"], interventions, _settings(payload),
                             on_token=_emit_tokens(ctx), should_stop=ctx.should_stop)
        metrics = measure(handle, comparison, payload["tokens"])
        return {"baseline": _run(comparison.baseline), "steered": _run(comparison.steered),
                "metrics": _finite(metrics.as_dict()), "interventions": [i.describe() for i in interventions],
                "seed": comparison.baseline.seed, "format": handle.format, "device": handle.device,
                "seconds": round(time.perf_counter() - started, 4)}


@host_handler(SWEEP_HANDLER)
def sweep_strengths(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """One intervention at each strength of a grid (and a norm-matched random direction), all with one seed."""
    started = time.perf_counter()
    with resident_model(ctx, payload["model"]) as (handle, _warm), contextlib.ExitStack() as stack:
        intervention = _interventions(ctx, stack, handle, [payload["intervention"]])[0]
        result = strength_sweep(handle, payload["prompt"], intervention, payload["strengths"], _settings(payload),
                                tokens=payload["tokens"], random_baseline=payload["random_baseline"],
                                on_token=_emit_tokens(ctx), should_stop=ctx.should_stop)
        points = [{"strength": point.strength, "kind": point.kind, "run": _run(point.generation),
                   "metrics": _finite(point.metrics.as_dict())} for point in result.points]
        control = result.random_direction.describe() if result.random_direction is not None else None
        return {"baseline": _run(result.baseline), "points": points, "intervention": intervention.describe(),
                "random_direction": control, "seed": result.baseline.seed, "format": handle.format,
                "device": handle.device, "seconds": round(time.perf_counter() - started, 4)}


@host_handler(DIRECTION_HANDLER)
def make_direction(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """mean(positive) − mean(negative) at a hook point of the model, saved as safetensors at `path`."""
    with resident_model(ctx, payload["model"]) as (handle, _warm):
        try:
            parse_hook_point(payload["hook_point"], handle.layout.num_layers)
        except InvalidArgument as error:
            raise InvalidInput(error.message, details={"field": "hook_point"}) from error
        direction = contrastive_direction(handle, payload["positive"], payload["negative"], payload["hook_point"],
                                          reduce=payload["reduce"], use_chat_template=payload["use_chat_template"],
                                          name=payload["name"])
        direction = Direction(direction.vector, direction.hook_point, direction.name,
                              {**direction.metadata, "model_id": payload["model"]["model_id"],
                               "model_hint": str(handle.layout.model_type or "")})
        save_direction(direction, payload["path"])
        return {"norm": direction.norm, "d_model": int(direction.vector.numel())}


@host_handler(EXPORT_HANDLER)
def export_direction(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """A saved direction written as a llama.cpp control-vector GGUF (one direction at its layer)."""
    direction = load_direction(payload["path"])
    export_control_vector([direction], payload["out"], model_hint=payload["model_hint"],
                          num_layers=payload["num_layers"])
    return {"path": payload["out"]}


@host_handler(IMPORT_HANDLER)
def import_directions(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """A control-vector GGUF read (checked against the model when given) and saved as one direction per layer."""
    vector = import_control_vector(payload["path"], num_layers=payload["num_layers"], d_model=payload["d_model"])
    staging = Path(payload["staging"])
    saved = []
    for hook_point, values in vector.directions.items():
        file = staging / f"{hook_point}.safetensors"
        direction = Direction(values, hook_point, payload["name"],
                              {"source": "control_vector", "model_hint": vector.model_hint or ""})
        save_direction(direction, file)
        saved.append({"hook_point": hook_point, "file": str(file), "norm": direction.norm,
                      "d_model": int(values.numel())})
    return {"model_hint": vector.model_hint, "directions": saved}
