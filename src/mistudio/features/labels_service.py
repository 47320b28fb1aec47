"""Use case of LLM labelling: check the request, choose the latents and queue one job that labels and scores them.

The API key of an endpoint travels to the job as a runner secret (like a typed HF token), never in the job's
params: the jobs table, logs and events never hold it. A key left unset is read by the job from the server's
environment (MISTUDIO_LLM_API_KEY, then OPENAI_API_KEY).
"""

from __future__ import annotations

import httpx
from sqlalchemy import select

from mistudio.errors import Conflict, InvalidInput
from mistudio.features import service
from mistudio.features.browser import _check_latent, _completed
from mistudio.features.labels_schemas import LabelIn, LabelJobAccepted
from mistudio.features.tables import Feature, FeatureAnalysis
from mistudio.models import service as models
from mistudio.platform.db import session_scope
from mistudio.platform.runtime import Runtime

LABEL_KIND = "features.label"
API_KEY_SECRET = "llm_api_key"
_ORDER = {"frequency": Feature.frequency.desc(), "max_activation": Feature.max_activation.desc(),
          "mean_activation": Feature.mean_activation.desc(), "index": Feature.latent.asc()}


def endpoint_writer(endpoint: str, model: str) -> str:
    """How an endpoint's labels name their author: the model and the endpoint's host (never its path or query)."""
    return f"{model} ({httpx.URL(endpoint).host})"


def _check_endpoint(body: LabelIn) -> str:
    if body.local_model_id is not None:
        raise InvalidInput("give either endpoint (with model) or local_model_id, not both",
                           details={"field": "local_model_id"})
    if not body.model:
        raise InvalidInput("with endpoint, give model: the name of the model the endpoint serves",
                           details={"field": "model"})
    try:
        url = httpx.URL(body.endpoint or "")
    except httpx.InvalidURL as error:
        raise InvalidInput(f"endpoint is not a URL ({error})", details={"field": "endpoint"}) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidInput(f"endpoint must be an http:// or https:// URL such as http://localhost:8000/v1; got "
                           f"{body.endpoint!r}", details={"field": "endpoint"})
    if url.userinfo:  # a key in the URL would be stored with the job's params
        raise InvalidInput("endpoint must not hold credentials: pass the key as api_key or in MISTUDIO_LLM_API_KEY",
                           details={"field": "endpoint"})
    return endpoint_writer(str(url), body.model)


def _latents(session: object, row: FeatureAnalysis, body: LabelIn) -> list[int]:
    if body.latents is not None:
        for latent in body.latents:
            _check_latent(row, latent, "latents")
        return list(dict.fromkeys(body.latents))
    chosen = session.scalars(select(Feature.latent).where(Feature.analysis_id == row.id, Feature.dead.is_(False))  # type: ignore[attr-defined]
                             .order_by(_ORDER[body.sort], Feature.latent).limit(body.top)).all()
    if not chosen:
        raise Conflict(f"every latent of analysis {row.id!r} is dead: there is nothing to label",
                       details={"field": "top"})
    return list(chosen)


def start_labelling(runtime: Runtime, analysis_id: str, body: LabelIn) -> LabelJobAccepted:
    """Validate, pick the latents and queue the labelling job (queue `gpu`: it runs the analysed model)."""
    if body.endpoint is None and body.local_model_id is None:
        raise InvalidInput("give an LLM: endpoint (an OpenAI-compatible URL) with model, or local_model_id (a ready "
                           "studio model)", details={"field": "endpoint"})
    if body.endpoint is not None:
        writer = _check_endpoint(body)
    else:
        local = models.get_model(runtime, body.local_model_id)
        if not local.ready:
            raise Conflict(f"model {local.id!r} is {models.describe(local)}; only ready models can write labels",
                           details={"field": "local_model_id", "status": local.status})
        writer = local.name
    with session_scope(runtime.sessions) as session:
        row = _completed(session, analysis_id)
        latents = _latents(session, row, body)
        reads = [(FeatureAnalysis.resource, analysis_id), (models.MODEL_RESOURCE, row.model_id),
                 (service.SAE_RESOURCE, row.sae_id)]
    if body.local_model_id is not None:
        reads.append((models.MODEL_RESOURCE, body.local_model_id))
    params = {"analysis_id": analysis_id, "latents": latents, "writer": writer,
              **body.model_dump(include={"endpoint", "model", "local_model_id", "format", "explain_examples",
                                         "score_examples", "batch_size", "seed"})}
    key = body.api_key.get_secret_value() if body.api_key is not None else None
    job = runtime.runner.submit(LABEL_KIND, params, secrets={API_KEY_SECRET: key} if key else None, reads=reads)
    return LabelJobAccepted(analysis_id=analysis_id, job_id=job.id, latents=latents, writer=writer)
