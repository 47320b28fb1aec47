"""Use cases of the features domain: plan and start an analysis of a stored SAE, follow, pause, resume, delete.

An analysis row follows its job (`platform.lifecycle`): one paused or cut off by a restart resumes from the state
it saved (features/{analysis_id}/state.safetensors). Once complete, features/{analysis_id}/ holds the store
(`lens.features.save_features`) and the `features` table one row per latent; browsing is in `browser.py`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from mistudio.datasets import service as datasets
from mistudio.datasets import tokenizations
from mistudio.envelopes import Deleted
from mistudio.errors import Conflict, InvalidInput, NotFound
from mistudio.extraction import service as extractions
from mistudio.features.schemas import AnalysisAccepted, AnalysisOut, AnalyzeIn
from mistudio.features.tables import Feature, FeatureAnalysis, FeatureLabelEvidence, FeatureToken
from mistudio.models import service as models
from mistudio.models.formats import resolve_device
from mistudio.platform.db import newest_first_page, row_or_404, session_scope
from mistudio.platform.jobs import resources
from mistudio.platform.lifecycle import cancellable_job
from mistudio.platform.runtime import Runtime
from mistudio.platform.storage import Storage
from mistudio.training import saes as stored_saes
from mistudio.training import service as trainings

ANALYZE_KIND = "features.analyze"
SAE_RESOURCE = stored_saes.SAE_RESOURCE
# What the job computes after the streaming passes; the rest of `settings["config"]` is lens AnalysisConfig.
EXTRAS = ("neighbours", "logit_lens", "ablation_top", "checkpoint_every")


@dataclass(frozen=True)
class Plan:
    sae: Any  # training.schemas.SAEOut
    model: Any  # models.schemas.ModelOut
    dataset_id: str
    tokenization_id: str
    source: str  # holdout | tokenization
    first_sequence: int
    num_sequences: int
    device: str
    settings: dict[str, Any]


def _holdout(runtime: Runtime, sae: Any) -> tuple[str, str, int, int]:
    """The hold-out sequences of the run that trained `sae`: (dataset, tokenization, first, count)."""
    from mistudio.lens.sae.buffer import held_out_samples

    try:
        run = trainings.get_training(runtime, sae.training_id)
    except NotFound:
        raise InvalidInput(f"the training that produced SAE {sae.id!r} was deleted, so its hold-out is unknown; "
                           "give dataset_id and tokenization_id", details={"field": "tokenization_id"}) from None
    fraction = float(run.settings.get("holdout_fraction", 0.0))
    if run.source == "stream":
        dataset_id, tokenization_id = run.dataset_id, run.tokenization_id
        samples = run.settings.get("max_samples") or len(tokenizations.open_tokenized(runtime, dataset_id,
                                                                                       tokenization_id))
    else:
        try:
            extraction = extractions.get_extraction(runtime, run.extraction_id)
        except NotFound:
            raise InvalidInput(f"the extraction SAE {sae.id!r} was trained on was deleted, so its hold-out is "
                               "unknown; give dataset_id and tokenization_id",
                               details={"field": "tokenization_id"}) from None
        dataset_id, tokenization_id, samples = extraction.dataset_id, extraction.tokenization_id, \
            extraction.num_samples
    held = held_out_samples(int(samples), fraction)
    if held == 0:
        raise InvalidInput(f"training {run.id!r} held nothing out (holdout_fraction {fraction}); give dataset_id "
                           "and tokenization_id to analyse over", details={"field": "tokenization_id"})
    return dataset_id, tokenization_id, int(samples) - held, held


def _config(body: AnalyzeIn, width: int) -> dict[str, Any]:
    """lens AnalysisConfig fields, validated by lens (its message names the field); sizes capped by the width."""
    from mistudio.lens.features.config import AnalysisConfig

    others = width - 1
    for field, value in (("correlations", body.correlations), ("neighbours", body.neighbours)):
        if value > others:
            raise InvalidInput(f"{field} must be from 0 to {others} (the other latents of this SAE); got {value}",
                               details={"field": field, "min": 0, "max": others})
    config = AnalysisConfig(top_k=body.top_k, context=body.context, histogram_bins=body.histogram_bins,
                            intervals=body.intervals, per_interval=body.per_interval, correlations=body.correlations,
                            correlation_candidates=max(1, min(max(64, body.correlations), others)),
                            batch_size=body.batch_size, seed=body.seed)
    if body.ablation_top > body.top_k:
        raise InvalidInput(f"ablation_top ({body.ablation_top}) cannot exceed top_k ({body.top_k}): it ablates "
                           "top examples", details={"field": "ablation_top", "max": body.top_k})
    return config.to_dict()


def plan(runtime: Runtime, sae_id: str, body: AnalyzeIn) -> Plan:
    """Check everything an analysis needs before any model is loaded; errors name the field and the range."""
    sae = stored_saes.get_sae(runtime, sae_id)  # 404 for an unknown SAE
    model_id = body.model_id or sae.model_id
    if model_id is None:
        raise InvalidInput(f"SAE {sae_id!r} was imported without a model; give model_id (the model it reads)",
                           details={"field": "model_id"})
    model = models.get_model(runtime, model_id)
    if not model.ready:
        raise Conflict(f"model {model_id!r} is {models.describe(model)}; only ready models can be analysed with",
                       details={"status": model.status})
    if model.hidden_size is not None and sae.d_in != model.hidden_size:
        raise InvalidInput(f"the SAE reads d_in={sae.d_in} but {model.name} has d_model {model.hidden_size}: it "
                           "belongs to another model", details={"field": "model_id"})
    if (body.dataset_id is None) != (body.tokenization_id is None):
        field = "tokenization_id" if body.tokenization_id is None else "dataset_id"
        raise InvalidInput("give dataset_id and tokenization_id together (or neither: the training's hold-out)",
                           details={"field": field})
    if body.dataset_id is not None and body.tokenization_id is not None:
        dataset_id, tokenization_id, source = body.dataset_id, body.tokenization_id, "tokenization"
        first, available = 0, None
    elif sae.training_id:
        dataset_id, tokenization_id, first, available = _holdout(runtime, sae)
        source = "holdout"
    else:
        raise InvalidInput(f"SAE {sae_id!r} was imported, so there is no training hold-out to analyse over; give "
                           "dataset_id and tokenization_id", details={"field": "tokenization_id"})
    tokenization = tokenizations.get_tokenization(runtime, dataset_id, tokenization_id)
    if not tokenization.ready:
        raise Conflict(f"tokenization {tokenization_id!r} is {tokenization.status}; wait until it is ready",
                       details={"field": "tokenization_id", "status": tokenization.status})
    extractions._check_tokenizer(runtime, model, tokenization)  # the one check that token ids mean the same
    if available is None:
        available = len(tokenizations.open_tokenized(runtime, dataset_id, tokenization_id))
    if body.max_sequences is not None and body.max_sequences > available:
        where = "held out by the training" if source == "holdout" else "in this tokenization"
        raise InvalidInput(f"max_sequences must be from 1 to {available:,} (the sequences {where}); got "
                           f"{body.max_sequences:,}", details={"field": "max_sequences", "min": 1, "max": available})
    count = min(body.max_sequences or available, available)
    settings = {"config": _config(body, sae.d_sae), **{name: getattr(body, name) for name in EXTRAS},
                "ignore_resolved": False}
    device = resolve_device(body.device or runtime.settings.device)
    return Plan(sae, model, dataset_id, tokenization_id, source, first, count, device, settings)


# --- reading ----------------------------------------------------------------------------------------------
def load_row(session: Any, analysis_id: str) -> FeatureAnalysis:
    return row_or_404(session, FeatureAnalysis, analysis_id, "feature analysis")


def _out(storage: Storage, row: FeatureAnalysis, schema: type[AnalysisOut] = AnalysisOut) -> Any:
    fields = {name: getattr(row, name) for name in AnalysisOut.model_fields if hasattr(row, name)}
    return schema.model_validate({**fields, "path": str(storage.features_dir(row.id))})


def get_analysis(runtime: Runtime, analysis_id: str) -> AnalysisOut:
    with session_scope(runtime.sessions) as session:
        return _out(runtime.storage, load_row(session, analysis_id))


def list_analyses(runtime: Runtime, sae_id: str, *, page: int = 1, limit: int = 50) -> tuple[list[AnalysisOut], int]:
    stored_saes.get_sae(runtime, sae_id)  # 404 for an unknown SAE rather than an empty list
    query = select(FeatureAnalysis).where(FeatureAnalysis.sae_id == sae_id)
    with session_scope(runtime.sessions) as session:
        rows, total = newest_first_page(session, query, FeatureAnalysis, page, limit)
        return [_out(runtime.storage, row) for row in rows], total


def list_all_analyses(runtime: Runtime, *, page: int = 1, limit: int = 50) -> tuple[list[AnalysisOut], int]:
    """Every analysis of every SAE, newest first (what the CLI resolves id prefixes against)."""
    with session_scope(runtime.sessions) as session:
        rows, total = newest_first_page(session, select(FeatureAnalysis), FeatureAnalysis, page, limit)
        return [_out(runtime.storage, row) for row in rows], total


# --- starting, pausing, resuming, deleting ----------------------------------------------------------------
def _submit(runtime: Runtime, analysis_id: str) -> AnalysisAccepted:
    with session_scope(runtime.sessions) as session:
        row = load_row(session, analysis_id)
        reads = [(models.MODEL_RESOURCE, row.model_id), (SAE_RESOURCE, row.sae_id),
                 (datasets.DATASET_RESOURCE, row.dataset_id), (datasets.TOKENIZATION_RESOURCE, row.tokenization_id)]
    runtime.runner.submit(ANALYZE_KIND, {"analysis_id": analysis_id}, reads=reads,
                          writes=[(FeatureAnalysis.resource, analysis_id)])
    with session_scope(runtime.sessions) as session:
        return _out(runtime.storage, load_row(session, analysis_id), AnalysisAccepted)


def start_analysis(runtime: Runtime, sae_id: str, body: AnalyzeIn) -> AnalysisAccepted:
    """Validate, record the analysis and queue its job (queue `gpu`)."""
    checked = plan(runtime, sae_id, body)
    with session_scope(runtime.sessions) as session:
        row = FeatureAnalysis(sae_id=sae_id, sae_name=checked.sae.name, model_id=checked.model.id,
                              model_name=checked.model.name, format=body.format, device=checked.device,
                              dataset_id=checked.dataset_id, tokenization_id=checked.tokenization_id,
                              source=checked.source, first_sequence=checked.first_sequence,
                              num_sequences=checked.num_sequences, width=checked.sae.d_sae,
                              settings=checked.settings, phase="activations", sequences_done=0)
        session.add(row)
        session.flush()
        analysis_id = row.id
    return _submit(runtime, analysis_id)


def pause(runtime: Runtime, analysis_id: str) -> AnalysisOut:
    """Stop a queued or running analysis; it saves its state before its next batch and can be resumed."""
    with session_scope(runtime.sessions) as session:
        job_id = cancellable_job(load_row(session, analysis_id), f"feature analysis {analysis_id!r}")
    runtime.runner.cancel(job_id)
    return get_analysis(runtime, analysis_id)


def resume(runtime: Runtime, analysis_id: str) -> AnalysisAccepted:
    """Continue a paused, interrupted or failed analysis from its saved state."""
    with session_scope(runtime.sessions) as session:
        row = load_row(session, analysis_id)
        if not row.resumable:
            raise Conflict(f"feature analysis {analysis_id!r} is {row.status}; only paused (cancelled), interrupted "
                           "or failed analyses can be resumed", details={"status": row.status})
    return _submit(runtime, analysis_id)


def delete_analysis(runtime: Runtime, analysis_id: str) -> Deleted:
    """Remove an analysis, its latents' rows and its files (refused while its job runs: pause it first)."""
    with session_scope(runtime.sessions) as session:
        row = load_row(session, analysis_id)
        users = resources.users(session, [(FeatureAnalysis.resource, analysis_id)])
        if row.active or users:
            raise Conflict(f"feature analysis {analysis_id!r} is {row.status}: pause it first",
                           details={"status": row.status})
        # Explicit: SQLite enforces ON DELETE CASCADE only with its foreign-key pragma on.
        session.execute(delete(FeatureToken).where(FeatureToken.analysis_id == analysis_id))
        session.execute(delete(FeatureLabelEvidence).where(FeatureLabelEvidence.analysis_id == analysis_id))
        session.execute(delete(Feature).where(Feature.analysis_id == analysis_id))
        session.delete(row)
    folder = runtime.storage.features_dir(analysis_id)
    freed = models.folder_bytes(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return Deleted(id=analysis_id, bytes_freed=freed)
