"""Job body of LLM labelling: for each chosen latent, an explanation from its examples, then its detection and
fuzzing scores, written with their evidence in one transaction per latent.

The analysed model and SAE are opened once to find, in the analysed sequences, windows where each latent is silent
(detection's negatives: the store keeps only windows where it fires). A cancel stops between latents; an LLM that
cannot be reached fails the job with its message, and a latent is never left with a label but no scores. An answer
with no label leaves that latent as it was and is listed in the result.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import update

from mistudio.features.labels_service import API_KEY_SECRET, LABEL_KIND
from mistudio.features.tables import Feature, FeatureLabelEvidence
from mistudio.features.tasks import _padded, _read
from mistudio.lens.token_text import TokenTexts
from mistudio.models.opening import model_open_spec, open_model_for_job
from mistudio.platform.db import session_scope
from mistudio.platform.jobs.context import JobCancelled, JobContext
from mistudio.platform.jobs.registry import job_kind

QUIET_SEQUENCES = 64  # analysed sequences searched for silent windows: enough for a sparse latent's few
ENV_KEYS = ("MISTUDIO_LLM_API_KEY", "OPENAI_API_KEY")


def _open(ctx: JobContext, model_id: str, fmt: str, device: str) -> Any:
    with session_scope(ctx.sessions) as session:
        spec = model_open_spec(session, ctx.storage, ctx.settings, model_id, fmt, device, fallback=False)
    return open_model_for_job(ctx, spec, on_step=ctx.note)


def _chat(ctx: JobContext, params: dict[str, Any], analysed: Any, row: dict[str, Any]) -> Any:
    from mistudio.lens.features.llm import OpenAIChat, TransformersChat

    if params["endpoint"] is not None:
        key = ctx.secrets.get(API_KEY_SECRET) or next((os.environ[name] for name in ENV_KEYS if os.environ.get(name)),
                                                      None)
        return OpenAIChat(params["endpoint"], params["model"], key)
    same = params["local_model_id"] == row["model_id"] and params["format"] == row["format"]
    handle = analysed if same else _open(ctx, params["local_model_id"], params["format"], row["device"])
    return TransformersChat(handle.model, handle.tokenizer, params["writer"])


def _contexts(examples: Any, rows: Any, text: TokenTexts) -> list[Any]:
    """Example windows as explainer contexts: token texts and activations, positions outside the sequence dropped."""
    from mistudio.lens.features.explainer import Context

    out = []
    for index in rows:
        tokens, values = examples.tokens[index].tolist(), examples.activations[index].tolist()
        kept = [(text(token), float(value)) for token, value in zip(tokens, values, strict=True) if token >= 0]
        out.append(Context([token for token, _ in kept], [value for _, value in kept]))
    return out


def _evidence(folder: Any, latent: int, text: TokenTexts, explain_count: int, score_count: int) -> dict[str, Any]:
    """The latent's examples split in two: every other top and interval example explains, the rest are scored
    (so a score is measured on contexts the explainer did not see; with one example it is reused, and said)."""
    import numpy as np

    from mistudio.lens.features.result import EXAMPLE_KINDS
    from mistudio.lens.features.store import read_examples

    examples = read_examples(folder, latent)
    top = np.flatnonzero(examples.kind == EXAMPLE_KINDS.index("top"))
    top = top[np.argsort(examples.rank[top], kind="stable")]
    intervals = np.flatnonzero(examples.kind == EXAMPLE_KINDS.index("interval"))
    intervals = intervals[np.argsort(-examples.interval[intervals], kind="stable")]  # strongest interval first
    explain_top = _contexts(examples, top[0::2][:explain_count], text)
    explain_intervals = _contexts(examples, intervals[0::2][:max(1, explain_count // 2)], text)
    scored = _contexts(examples, np.concatenate([top[1::2], intervals[1::2]])[:score_count], text)
    reused = not scored
    return {"top": explain_top, "intervals": explain_intervals,
            "scored": scored or (explain_top + explain_intervals)[:score_count], "reused": reused}


def _items(score: Any) -> dict[str, Any]:
    return {"balanced_accuracy": score.balanced_accuracy, "prompt_version": score.prompt_version,
            "unparsed": score.unparsed,
            "items": [{"text": item.text, "truth": item.truth, "prediction": item.prediction} for item in score.items]}


def _label_one(client: Any, params: dict[str, Any], latent: int, found: dict[str, Any], quiet: list[Any]) -> dict:
    """Explain then score one latent; the fields and evidence to write (Unlabelled propagates)."""
    from mistudio.lens.features.explainer import explain
    from mistudio.lens.features.scoring import detection_score, fuzzing_score

    explanation = explain(client, found["top"], found["intervals"])
    seed, batch = params["seed"] + latent, params["batch_size"]
    detection = detection_score(client, explanation.text, found["scored"], quiet[:len(found["scored"])], seed=seed,
                                batch_size=batch)
    fuzzing = fuzzing_score(client, explanation.text, found["scored"], seed=seed, batch_size=batch)
    scores = [value for value in (detection.balanced_accuracy, fuzzing.balanced_accuracy) if value is not None]
    fields = {"label": explanation.text, "label_kind": "llm", "label_model": params["writer"],
              "label_prompt_version": f"{explanation.prompt_version}+{detection.prompt_version}+"
                                      f"{fuzzing.prompt_version}",
              "detection_score": detection.balanced_accuracy, "fuzzing_score": fuzzing.balanced_accuracy,
              "label_score": sum(scores) / len(scores) if scores else None}
    details = {"writer": params["writer"], "answer": explanation.answer,
               "explained_with": {"top": len(found["top"]), "interval": len(found["intervals"])},
               "scored_on_explained_examples": found["reused"],
               "detection": _items(detection), "fuzzing": _items(fuzzing)}
    return {"fields": fields, "details": details}


def _write(ctx: JobContext, analysis_id: str, latent: int, written: dict[str, Any]) -> None:
    with session_scope(ctx.sessions) as session:
        session.execute(update(Feature).where(Feature.analysis_id == analysis_id, Feature.latent == latent)
                        .values(**written["fields"]))
        session.merge(FeatureLabelEvidence(analysis_id=analysis_id, latent=latent, details=written["details"]))


@job_kind(LABEL_KIND, queue="gpu")
def run_labelling(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Label and score `params["latents"]` of an analysis with the LLM the params name."""
    from mistudio.lens.errors import InvalidArgument
    from mistudio.lens.features.contrast import quiet_windows
    from mistudio.lens.features.encoding import LatentEncoder
    from mistudio.lens.features.explainer import Context, Unlabelled
    from mistudio.lens.sae.formats import load

    analysis_id, latents = params["analysis_id"], params["latents"]
    row = _read(ctx, analysis_id)
    ctx.progress(0.0, f"loading {row['model_name']} to find contexts where the latents are silent")
    analysed = _open(ctx, row["model_id"], row["format"], row["device"])
    if analysed.tokenizer is None:
        raise InvalidArgument(f"model {row['model_name']} has no tokenizer: the examples cannot be shown as text")
    text = TokenTexts(analysed.tokenizer)
    client = _chat(ctx, params, analysed, row)
    sae = load(ctx.storage.sae_dir(row["sae_id"]), device=row["device"])
    pad = analysed.tokenizer.pad_token_id
    input_ids, mask = _padded(ctx, {**row, "num_sequences": min(row["num_sequences"], QUIET_SEQUENCES)},
                              int(pad) if pad is not None else 0)
    context = int(row["settings"]["config"]["context"])
    silent = quiet_windows(LatentEncoder(analysed.model, sae, row["device"]), input_ids, mask, latents,
                           per_latent=params["score_examples"], context=context, seed=params["seed"])
    folder = ctx.storage.features_dir(analysis_id)
    labelled, unlabelled = [], []
    for done, latent in enumerate(latents):
        if ctx.should_stop():
            stopped = f"stopped after {done} of {len(latents)} latents; those keep their new labels"
            ctx.note(stopped)  # the job's message becomes "cancelled": the log keeps how far it got
            raise JobCancelled(stopped)
        ctx.progress(done / len(latents), f"latent {latent} ({done + 1} of {len(latents)}) with {params['writer']}")
        found = _evidence(folder, latent, text, params["explain_examples"], params["score_examples"])
        quiet = [Context([text(token) for token in window if token >= 0], [0.0] * int((window >= 0).sum()))
                 for window in silent[latent]]
        try:
            written = _label_one(client, params, latent, found, quiet)
        except Unlabelled as reason:
            ctx.note(f"latent {latent}: {reason.message}", level="warning")
            unlabelled.append(latent)
            continue
        _write(ctx, analysis_id, latent, written)
        labelled.append(latent)
    ctx.progress(1.0, f"labelled {len(labelled)} of {len(latents)} latents with {params['writer']}"
                 + (f"; {len(unlabelled)} got no label" if unlabelled else ""))
    return {"analysis_id": analysis_id, "labelled": labelled, "unlabelled": unlabelled, "writer": params["writer"]}
