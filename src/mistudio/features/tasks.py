"""Job body of the features domain: stream the sequences through the model and the SAE, then store what it found.

The same body starts and resumes an analysis: the lens `FeatureAnalysis` state is saved every `checkpoint_every`
batches and when a pause stops it (features/{id}/state.safetensors), and a run that finds it continues from there.
After the passes: logit lens, nearest latents, the optional ablation and the automatic labels; then the store
(`lens.features.save_features`), the decoded text of every token it holds (tokens.json, so reading a latent never
loads a tokenizer) and the `features` rows.
"""

from __future__ import annotations

import time
from typing import Any

from mistudio.errors import MistudioError
from mistudio.features import service
from mistudio.features.schemas import AnalysisProgressEvent, AnalysisStatusChanged
from mistudio.features.store import fill_tables, write_token_texts
from mistudio.features.tables import FeatureAnalysis
from mistudio.models.opening import model_open_spec, open_model_for_job
from mistudio.platform.db import session_scope, utcnow
from mistudio.platform.jobs.context import JobCancelled, JobContext
from mistudio.platform.jobs.registry import job_kind
from mistudio.platform.jobs.tracked import Completed, run_tracked
from mistudio.platform.lifecycle import Status

STATE_FILE = "state.safetensors"
ROW_WRITE_INTERVAL_S = 2.0
EVENT_INTERVAL_S = 0.25
ANALYSIS_SHARE = 0.9  # of the job's progress bar; the rest is logit lens, neighbours, labels and the store


def channel(analysis_id: str) -> str:
    return f"feature-analyses/{analysis_id}"


def _read(ctx: JobContext, analysis_id: str) -> dict[str, Any]:
    with session_scope(ctx.sessions) as session:
        row = session.get(FeatureAnalysis, analysis_id)
        if row is None:
            raise MistudioError(f"feature analysis {analysis_id!r} was deleted before its job ran")
        return {name: getattr(row, name) for name in (
            "sae_id", "model_id", "model_name", "format", "device", "dataset_id", "tokenization_id",
            "first_sequence", "num_sequences", "width", "settings")}


@job_kind(service.ANALYZE_KIND, queue="gpu", resumable=True)
def run_analysis(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Analyse (or continue analysing) an SAE's latents and store the result."""
    analysis_id = params["analysis_id"]
    row = _read(ctx, analysis_id)

    def on_change(status: Status, message: str | None) -> None:
        ctx.emit(channel(analysis_id), "status",
                 AnalysisStatusChanged(analysis_id=analysis_id, status=status.value, message=message))

    return run_tracked(ctx, FeatureAnalysis, analysis_id, lambda: _analyse(ctx, analysis_id, row),
                       on_change=on_change)


def _padded(ctx: JobContext, row: dict[str, Any], pad_id: int) -> tuple[Any, Any]:
    """The analysed sequences as input_ids and attention_mask [sequences, longest] (right-padded)."""
    import numpy as np

    from mistudio.lens import data

    sequences = data.TokenizedSequences.open(ctx.storage.tokenization_dir(row["dataset_id"], row["tokenization_id"]))
    first, count = row["first_sequence"], row["num_sequences"]
    rows = [np.asarray(sequences[index]) for index in range(first, first + count)]
    longest = max(len(ids) for ids in rows)
    input_ids = np.full((count, longest), pad_id, dtype=np.int64)
    mask = np.zeros((count, longest), dtype=np.int64)
    for index, ids in enumerate(rows):
        input_ids[index, :len(ids)], mask[index, :len(ids)] = ids, 1
    return input_ids, mask


def _config(ctx: JobContext, analysis_id: str, row: dict[str, Any], tokenizer: Any) -> Any:
    """The analysis config; the first run adds the tokenizer's BOS to the ignored tokens (a BOS position is an
    attention sink whose huge activations would crowd out every latent's real examples) and records it, so a
    resume uses the same config."""
    from mistudio.lens.features.config import AnalysisConfig

    settings = row["settings"]
    if not settings.get("ignore_resolved"):
        bos = getattr(tokenizer, "bos_token_id", None) if tokenizer is not None else None
        config = {**settings["config"], "ignore_token_ids": [int(bos)] if bos is not None else []}
        settings = {**settings, "config": config, "ignore_resolved": True}
        ctx.update_row(FeatureAnalysis, analysis_id, settings=settings)
        row["settings"] = settings
    return AnalysisConfig.from_dict(settings["config"])


class _Saver:
    """`should_stop` for the lens loop: saves the state every `every` batches, and before a pause ends it."""

    def __init__(self, ctx: JobContext, analysis: Any, path: Any, every: int) -> None:
        self.ctx, self.analysis, self.path, self.every, self.batches = ctx, analysis, path, every, 0

    def __call__(self) -> bool:
        if self.ctx.should_stop():
            self.analysis.save(self.path)
            return True
        self.batches += 1
        if self.batches % self.every == 0:
            self.analysis.save(self.path)
        return False


def _reporter(ctx: JobContext, analysis_id: str) -> Any:
    """Turns the library's per-batch progress into job progress, throttled events and row updates."""
    last = {"event": 0.0, "row": 0.0}

    def on_progress(progress: Any) -> None:
        now = time.monotonic()
        ctx.progress(progress.fraction * ANALYSIS_SHARE,
                     f"pass {progress.pass_number} of {progress.passes} ({progress.phase}): {progress.sequences_done:,}"
                     f" of {progress.sequences_total:,} sequences at {progress.tokens_per_second:,.0f} tokens/s")
        finished = progress.sequences_done == progress.sequences_total
        if finished or now - last["event"] >= EVENT_INTERVAL_S:
            last["event"] = now
            ctx.emit(channel(analysis_id), "progress", AnalysisProgressEvent(
                analysis_id=analysis_id, phase=progress.phase, pass_number=progress.pass_number,
                passes=progress.passes, sequences_done=progress.sequences_done,
                sequences_total=progress.sequences_total, tokens_per_second=progress.tokens_per_second))
        if finished or now - last["row"] >= ROW_WRITE_INTERVAL_S:
            last["row"] = now
            ctx.update_row(FeatureAnalysis, analysis_id, phase=progress.phase,
                           sequences_done=progress.sequences_done, tokens_per_second=progress.tokens_per_second)

    return on_progress


def _analyse(ctx: JobContext, analysis_id: str, row: dict[str, Any]) -> Completed:
    from mistudio.lens.features.analysis import FeatureAnalysis as Analysis
    from mistudio.lens.sae.formats import load

    started = time.perf_counter()
    folder = ctx.storage.features_dir(analysis_id)
    folder.mkdir(parents=True, exist_ok=True)
    state = folder / STATE_FILE
    with session_scope(ctx.sessions) as session:
        spec = model_open_spec(session, ctx.storage, ctx.settings, row["model_id"], row["format"],
                               row["device"], fallback=False)
    ctx.progress(0.0, f"loading {row['model_name']} as {row['format']} on {row['device']}")
    handle = open_model_for_job(ctx, spec, on_step=ctx.note)
    tokenizer = handle.tokenizer
    sae = load(ctx.storage.sae_dir(row["sae_id"]), device=row["device"])
    config = _config(ctx, analysis_id, row, tokenizer)
    pad = getattr(tokenizer, "pad_token_id", None) if tokenizer is not None else None
    input_ids, mask = _padded(ctx, row, int(pad) if pad is not None else 0)
    if state.is_file():
        analysis = Analysis.load(state, sae, device=row["device"])
        ctx.note(f"resuming from the saved state: {analysis.phase}, sequence {analysis.next_sequence:,}")
    else:
        analysis = Analysis(sae, config, device=row["device"])
    saver = _Saver(ctx, analysis, state, row["settings"]["checkpoint_every"])
    if not analysis.run(handle.model, input_ids, mask, on_progress=_reporter(ctx, analysis_id), should_stop=saver):
        raise JobCancelled(f"paused in the {analysis.phase} pass at sequence {analysis.next_sequence:,} of "
                           f"{row['num_sequences']:,}; resume it to continue from there")
    analysis.save(state)  # the passes are not repeated if what follows is interrupted
    result = analysis.result(input_ids, mask)
    result.metadata.update({"analysis_id": analysis_id, "sae_id": row["sae_id"], "model_id": row["model_id"],
                            "dataset_id": row["dataset_id"], "tokenization_id": row["tokenization_id"],
                            "first_sequence": row["first_sequence"]})
    extras = _extras(ctx, handle.model, sae, result, input_ids, mask, row["settings"])
    ctx.progress(0.97, "writing the store and the feature table")
    labels = _labels(result, tokenizer, row["width"], extras["logit_lens"])
    from mistudio.lens.features.store import save_features

    save_features(folder, result, logit_lens=extras["logit_lens"], neighbours=extras["neighbours"],
                  ablation=extras["ablation"], labels=labels)
    write_token_texts(folder, tokenizer, result, extras["logit_lens"])
    fill_tables(ctx.sessions, analysis_id, result, labels, extras["logit_lens"], tokenizer)
    state.unlink(missing_ok=True)
    dead = int(result.summary.dead.sum())
    return Completed(
        result={"analysis_id": analysis_id, "tokens": result.summary.tokens, "dead": dead},
        fields={"phase": "complete", "sequences_done": row["num_sequences"], "tokens": result.summary.tokens,
                "dead_count": dead, "seconds": time.perf_counter() - started, "completed_at": utcnow()},
        message=f"analysed {row['width']:,} latents over {result.summary.tokens:,} tokens ({dead:,} dead)")


def _extras(ctx: JobContext, model: Any, sae: Any, result: Any, input_ids: Any, mask: Any,
            settings: dict[str, Any]) -> dict[str, Any]:
    """Logit lens, nearest latents and (when asked) the ablation of each latent's first top examples."""
    from mistudio.lens.features.ablation import ablation_effects
    from mistudio.lens.features.logit_lens import logit_lens
    from mistudio.lens.features.neighbours import nearest_latents
    from mistudio.lens.features.result import EXAMPLE_KINDS

    ctx.progress(ANALYSIS_SHARE, "logit lens and nearest latents")
    found: dict[str, Any] = {"logit_lens": None, "neighbours": None, "ablation": None}
    if settings["logit_lens"]:
        found["logit_lens"] = logit_lens(model, sae, settings["logit_lens"])
    if settings["neighbours"]:
        found["neighbours"] = nearest_latents(sae, settings["neighbours"])
    if settings["ablation_top"]:
        examples = result.examples
        chosen = examples.select((examples.kind == EXAMPLE_KINDS.index("top"))
                                 & (examples.rank < settings["ablation_top"]))
        ctx.progress(0.93, f"ablating {len(chosen):,} examples")
        found["ablation"] = ablation_effects(model, sae, input_ids, chosen, attention_mask=mask,
                                             batch_size=result.config.batch_size, should_stop=ctx.should_stop)
        if ctx.should_stop() or len(found["ablation"].latent) != len(chosen):
            raise JobCancelled("paused during the ablation; resume it to redo the ablation (the passes are kept)")
    return found


def _labels(result: Any, tokenizer: Any, width: int, lens: Any) -> Any:
    from mistudio.lens.features.labels import automatic_labels

    if tokenizer is None:
        return None  # an automatic label names tokens: without a tokenizer there is nothing to name
    return automatic_labels(result.examples, tokenizer, width, logit_lens=lens)
