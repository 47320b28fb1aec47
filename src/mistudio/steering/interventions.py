"""What a steering request's interventions must satisfy that the studio's rows can answer (the SAE and the model
agree, the feature exists, the strength is a number), and each intervention as the model host takes it (files, not
ids). The host checks the rest (layers, context) through `lens.steer`."""

from __future__ import annotations

import math
from typing import Any

from mistudio.errors import InvalidInput
from mistudio.models.schemas import ModelOut
from mistudio.platform.runtime import Runtime
from mistudio.steering import directions
from mistudio.steering.schemas import InterventionIn
from mistudio.training import saes


def refuse(message: str, field: str, **details: Any) -> InvalidInput:
    return InvalidInput(message, details={"field": field, **details})


def resolve_intervention(runtime: Runtime, item: InterventionIn, model: ModelOut | None, index: int
                         ) -> dict[str, Any]:
    """One intervention as the host takes it (files, not ids), refused here when the rows already say why.

    Without a model (a preset being saved) only what does not depend on the model is checked."""
    where = f"interventions[{index}]"
    if not math.isfinite(item.strength):
        raise refuse(f"intervention {index}: strength must be a finite number; got {item.strength}",
                      f"{where}.strength")
    if (item.sae_id is None) == (item.direction_id is None):
        raise refuse(f"intervention {index}: give either sae_id (with feature) or direction_id", f"{where}.sae_id")
    if item.direction_id is not None:
        if item.mode != "add":
            raise refuse(f"intervention {index}: a direction can only be added (mode add); clamp and ablate need "
                          "an SAE", f"{where}.mode")
        if item.unit != "absolute":
            raise refuse(f"intervention {index}: a direction's strength is absolute (it has no analysis)",
                          f"{where}.unit")
        direction = directions.get_direction(runtime, item.direction_id)
        if model is not None and model.hidden_size is not None and direction.d_model != model.hidden_size:
            raise refuse(f"intervention {index}: direction {direction.name!r} has width {direction.d_model} but "
                          f"{model.name} has d_model {model.hidden_size}", f"{where}.direction_id")
        return {"kind": "direction", "path": str(runtime.storage.direction_file(direction.id)),
                "strength": item.strength, "positions": item.positions}
    assert item.sae_id is not None
    sae = saes.get_sae(runtime, item.sae_id)
    if item.feature is None:
        raise refuse(f"intervention {index}: an SAE intervention needs the feature's index", f"{where}.feature")
    if item.feature >= sae.d_sae:
        raise refuse(f"intervention {index}: feature {item.feature} is beyond SAE {sae.name!r}, which has "
                      f"{sae.d_sae} features (0–{sae.d_sae - 1})", f"{where}.feature", d_sae=sae.d_sae)
    if model is not None and model.hidden_size is not None and sae.d_in != model.hidden_size:
        raise refuse(f"intervention {index}: SAE {sae.name!r} reads width {sae.d_in} but {model.name} has d_model "
                      f"{model.hidden_size}: it was trained on another model", f"{where}.sae_id")
    if model is not None and sae.model_id is not None and sae.model_id != model.id:
        raise refuse(f"intervention {index}: SAE {sae.name!r} belongs to model {sae.model_name or sae.model_id!r}, "
                      f"not {model.name!r}", f"{where}.sae_id", sae_model_id=sae.model_id)
    if sae.hook_point is None:
        raise refuse(f"intervention {index}: SAE {sae.name!r} does not say which hook point it reads",
                      f"{where}.sae_id")
    if sae.target_hook_point not in (None, sae.hook_point):
        raise refuse(f"intervention {index}: SAE {sae.name!r} is a transcoder ({sae.hook_point} → "
                      f"{sae.target_hook_point}); steer with an SAE that reads and writes one point", f"{where}.sae_id")
    strength = _in_max_activations(runtime, item, sae.id, where) if item.unit == "max_activation" else item.strength
    return {"kind": "feature", "sae_id": sae.id, "sae_path": sae.path, "feature": item.feature, "mode": item.mode,
            "strength": 0.0 if item.mode == "ablate" else strength, "positions": item.positions}


def _in_max_activations(runtime: Runtime, item: InterventionIn, sae_id: str, where: str) -> float:
    """The absolute strength of `strength` × the feature's max activation in the analysis the item names."""
    from mistudio.features import browser
    from mistudio.features import service as features

    if item.analysis_id is None:
        raise refuse("a strength in units of max activation needs the analysis it comes from",
                      f"{where}.analysis_id")
    analysis = features.get_analysis(runtime, item.analysis_id)
    if analysis.sae_id != sae_id:
        raise refuse(f"analysis {item.analysis_id!r} is of another SAE ({analysis.sae_id})", f"{where}.analysis_id")
    assert item.feature is not None
    peak = browser.feature_detail(runtime, item.analysis_id, item.feature).max_activation
    if not peak > 0:
        raise refuse(f"feature {item.feature} never fired in analysis {item.analysis_id!r}: give an absolute "
                      "strength", f"{where}.unit")
    return item.strength * peak
