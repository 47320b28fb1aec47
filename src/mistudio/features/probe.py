"""Use case "your own text": an analysis' SAE run on text the user types, in the model host (never in the server).

The server checks what the rows can answer (the text is not blank, the latent is within the SAE) and resolves the
analysis to its model (as the analysis opened it: same format and device), its SAE folder and the tokens it left
out of its statistics (BOS); the host then checks the text's length in tokens against the model's context.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mistudio.errors import InvalidInput
from mistudio.features import service
from mistudio.features.probe_schemas import PROBE_HANDLER, ProbeIn, ProbeLatent, ProbeOut, ProbeToken
from mistudio.features.tables import Feature
from mistudio.models.opening import model_open_spec
from mistudio.platform.db import session_scope
from mistudio.platform.runtime import Runtime
from mistudio.training import saes as stored_saes


def _labels(runtime: Runtime, analysis_id: str, latents: list[int]) -> dict[int, str | None]:
    """The analysis' labels of these latents (none before it completes)."""
    with session_scope(runtime.sessions) as session:
        return dict(session.execute(select(Feature.latent, Feature.label).where(
            Feature.analysis_id == analysis_id, Feature.latent.in_(latents))).all())


def plan(runtime: Runtime, analysis_id: str, body: ProbeIn) -> dict[str, Any]:
    """The host payload, after the checks the rows can make (each names its field)."""
    if not body.text.strip():
        raise InvalidInput("text is empty: type the text to see the latents of", details={"field": "text"})
    with session_scope(runtime.sessions) as session:
        row = service.load_row(session, analysis_id)
        if body.latent is not None and body.latent >= row.width:
            raise InvalidInput(f"latent {body.latent} is out of range: this SAE has {row.width:,} latents (0 to "
                               f"{row.width - 1:,})", details={"field": "latent", "min": 0, "max": row.width - 1})
        sae_id, model_id, fmt, device = row.sae_id, row.model_id, row.format, row.device
        # The tokens the analysis leaves out of its statistics; before its first run has resolved them, None: the
        # host then leaves out the tokenizer's BOS, as that run will.
        ignore = list(row.settings["config"].get("ignore_token_ids") or []) \
            if row.settings.get("ignore_resolved") else None
        spec = model_open_spec(session, runtime.storage, runtime.settings, model_id, fmt, device)
    sae = stored_saes.get_sae(runtime, sae_id)  # 404 when the SAE was deleted since
    return {"model": spec, "sae_id": sae.id, "sae_path": sae.path, "text": body.text, "latent": body.latent,
            "top": body.top, "ignore_token_ids": ignore}


def probe(runtime: Runtime, analysis_id: str, body: ProbeIn) -> ProbeOut:
    """The chosen latent's activation on every token of `body.text`, and the text's top latents (by max)."""
    payload = plan(runtime, analysis_id, body)
    found = runtime.host.call(PROBE_HANDLER, payload,
                              what=f"running analysis {analysis_id!r}'s SAE on your text")
    latents = found["top_latents"] + ([found["latent"]] if found["latent"] is not None else [])
    labels = _labels(runtime, analysis_id, latents)
    activations = found["activations"] or [None] * len(found["token_ids"])
    tokens = [ProbeToken(position=position, token=token, text=text, activation=value, counted=counted)
              for position, (token, text, value, counted) in enumerate(
                  zip(found["token_ids"], found["texts"], activations, found["counted"], strict=True))]
    top = [ProbeLatent(latent=latent, max_activation=peak, sum_activation=total, peak_position=position,
                       label=labels.get(latent))
           for latent, peak, total, position in zip(found["top_latents"], found["top_max"], found["top_sum"],
                                                    found["top_position"], strict=True)]
    return ProbeOut(analysis_id=analysis_id, sae_id=payload["sae_id"], model_id=payload["model"]["model_id"],
                    latent=found["latent"], label=labels.get(found["latent"]), tokens=tokens, top_latents=top,
                    format=found["format"], device=found["device"], seconds=found["seconds"])
