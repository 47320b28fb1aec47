"""Job body of the extraction domain: load the model variant, stream the tokenization through it, store activations.

The same body starts and resumes an extraction: `lens.extraction.extract` continues from the last completed batch
it finds in the folder. Live progress goes to the `extractions/{id}` channel and, every few seconds, to the row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mistudio.errors import MistudioError
from mistudio.extraction import service
from mistudio.extraction.schemas import ExtractionProgress, ExtractionStatusChanged
from mistudio.extraction.tables import Extraction
from mistudio.models.opening import model_open_spec, open_model_for_job
from mistudio.models.service import folder_bytes
from mistudio.platform.db import session_scope, utcnow
from mistudio.platform.jobs.context import JobCancelled, JobContext
from mistudio.platform.jobs.registry import job_kind
from mistudio.platform.jobs.tracked import Completed, run_tracked
from mistudio.platform.lifecycle import Status

ROW_WRITE_INTERVAL_S = 2.0
EVENT_INTERVAL_S = 0.25
_SUMMARY_KEYS = ("tokens", "d", "mean_norm", "max_abs", "sparsity", "sparsity_eps", "histogram")


def channel(extraction_id: str) -> str:
    return f"extractions/{extraction_id}"


def _read(ctx: JobContext, extraction_id: str) -> dict[str, Any]:
    with session_scope(ctx.sessions) as session:
        row = session.get(Extraction, extraction_id)
        if row is None:
            raise MistudioError(f"extraction {extraction_id!r} was deleted before its job ran")
        return {name: getattr(row, name) for name in (
            "model_id", "model_name", "format", "device", "dataset_id", "dataset_name", "tokenization_id",
            "hook_points", "num_samples", "batch_size", "dtype", "samples_done")}


def _announce(ctx: JobContext, extraction_id: str) -> Callable[[Status, str | None], None]:
    """Each status change of the row, told on its channel as it happens."""
    def on_change(status: Status, message: str | None) -> None:
        ctx.emit(channel(extraction_id), "status", ExtractionStatusChanged(extraction_id=extraction_id,
                                                                           status=status.value, message=message))

    return on_change


class _Reporter:
    """Turns the library's per-batch progress into job progress, throttled events and row updates."""

    def __init__(self, ctx: JobContext, extraction_id: str) -> None:
        self.ctx, self.extraction_id = ctx, extraction_id
        self.last_event = self.last_row = 0.0
        self.batch_size: int | None = None

    def __call__(self, progress: Any) -> None:
        ctx, now = self.ctx, time.monotonic()
        done, total = progress.samples_done, progress.samples_total
        eta = f", {progress.eta_seconds:.0f}s left" if progress.eta_seconds is not None else ""
        ctx.progress(done / max(total, 1), f"{done:,} of {total:,} samples at {progress.samples_per_second:,.1f} "
                                           f"samples/s ({progress.tokens_per_second:,.0f} tokens/s){eta}")
        if self.batch_size is not None and progress.batch_size < self.batch_size:
            ctx.note(f"out of memory at sample {done}: batch size halved from {self.batch_size} to "
                     f"{progress.batch_size} and the batch retried", level="warning")
        self.batch_size = progress.batch_size
        finished = done == total
        if finished or now - self.last_event >= EVENT_INTERVAL_S:
            self.last_event = now
            ctx.emit(channel(self.extraction_id), "progress", ExtractionProgress(extraction_id=self.extraction_id,
                                                                                 **asdict(progress)))
        if finished or now - self.last_row >= ROW_WRITE_INTERVAL_S:
            self.last_row = now
            ctx.update_row(Extraction, self.extraction_id, samples_done=done,
                           samples_per_second=progress.samples_per_second,
                           tokens_per_second=progress.tokens_per_second, final_batch_size=progress.batch_size)


@job_kind(service.EXTRACT_KIND, queue="gpu", resumable=True)
def run_extraction(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Load the model in its format, stream the tokenization, write the activations (resuming if begun)."""
    extraction_id = params["extraction_id"]
    row = _read(ctx, extraction_id)
    dest = ctx.storage.activations_dir(extraction_id)

    def on_stop(status: Status) -> dict[str, Any]:
        # What is done stays on disk, so a stopped extraction is resumable: the row says how far it got.
        from mistudio.lens.extraction_store import saved_samples

        saved = saved_samples(dest)
        fields: dict[str, Any] = {"size_bytes": folder_bytes(dest), "samples_done": saved}
        if status == Status.CANCELLED:
            fields["message"] = (f"cancelled after {saved:,} of {row['num_samples']:,} samples; resume it to "
                                 "continue from there")
        return fields

    return run_tracked(ctx, Extraction, extraction_id, lambda: extract(ctx, extraction_id, row, dest),
                       on_stop=on_stop, on_change=_announce(ctx, extraction_id))


def extract(ctx: JobContext, extraction_id: str, row: dict[str, Any], dest: Path) -> Completed:
    from mistudio.lens import data, extraction
    from mistudio.lens.extraction_store import PROGRESS_FILE

    resuming = row["samples_done"] > 0 or (dest / PROGRESS_FILE).is_file()
    try:
        ctx.progress(0.0, f"loading {row['model_name']} as {row['format']} on {row['device']}")
        with session_scope(ctx.sessions) as session:
            spec = model_open_spec(session, ctx.storage, ctx.settings, row["model_id"], row["format"],
                                   row["device"], fallback=False)
        loaded = open_model_for_job(ctx, spec, on_step=ctx.note)
        sequences = data.TokenizedSequences.open(
            ctx.storage.tokenization_dir(row["dataset_id"], row["tokenization_id"]))
        if resuming:
            ctx.note("resuming from the last completed batch")
        result = extraction.extract(
            loaded.model, sequences, dest, hook_points=row["hook_points"], batch_size=row["batch_size"],
            max_samples=row["num_samples"], dtype=row["dtype"], on_progress=_Reporter(ctx, extraction_id),
            should_stop=ctx.should_stop,
            metadata={"extraction_id": extraction_id, "model_id": row["model_id"], "model_name": row["model_name"],
                      "model_format": row["format"], "loaded_format": loaded.format, "device": row["device"],
                      "dataset_id": row["dataset_id"], "dataset_name": row["dataset_name"],
                      "tokenization_id": row["tokenization_id"]})
    except extraction.ExtractionCancelled:
        raise JobCancelled("cancelled by request") from None
    summary = {point: {key: values[key] for key in _SUMMARY_KEYS} for point, values in result.statistics.items()}
    size = folder_bytes(dest)
    rate = result.samples / result.seconds if result.seconds else None
    tokens = int(sequences.lengths()[:result.samples].sum())
    ctx.note(f"stored {result.samples:,} samples × {len(result.hook_points)} hook points ({size:,} bytes) in "
             f"{result.seconds:.1f}s")
    return Completed(
        result={"extraction_id": extraction_id, "samples": result.samples, "size_bytes": size,
                "seconds": result.seconds},
        fields={"samples_done": result.samples, "seq_len": result.seq_len, "final_batch_size": result.batch_size,
                "seconds": result.seconds, "samples_per_second": rate,
                "tokens_per_second": tokens / result.seconds if result.seconds else None, "size_bytes": size,
                "statistics": summary, "completed_at": utcnow(), "oom_retries": _oom_retries(dest)})


def _oom_retries(dest: Any) -> list[dict[str, int]]:
    from mistudio.lens.extraction_store import open_activations

    return list(open_activations(dest).metadata.get("oom_retries", []))
