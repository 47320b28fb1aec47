"""Job bodies of the datasets domain: hub download, import (disk, upload, example corpora) and tokenization."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mistudio.datasets import examples, service, tokenizations
from mistudio.datasets.schemas import (
    DatasetDownloadProgress,
    DatasetImportProgress,
    DatasetReady,
    TokenizationDone,
    TokenizeProgress,
)
from mistudio.datasets.tables import Dataset, Tokenization
from mistudio.errors import MistudioError
from mistudio.lens import data, hub, hub_datasets
from mistudio.lens.units import human_bytes
from mistudio.models.service import folder_bytes
from mistudio.platform.db import session_scope
from mistudio.platform.jobs.context import JobContext
from mistudio.platform.jobs.registry import job_kind
from mistudio.platform.jobs.tracked import Completed, OnStop, run_tracked
from mistudio.platform.lifecycle import Status


def _read(ctx: JobContext, dataset_id: str) -> dict[str, Any]:
    with session_scope(ctx.sessions) as session:
        row = session.get(Dataset, dataset_id)
        if row is None:
            raise MistudioError(f"dataset {dataset_id!r} was deleted while its job ran")
        return {"source_format": row.source_format, "text_column": row.text_column, "txt_mode": row.txt_mode}


def _channel(dataset_id: str) -> str:
    return f"datasets/{dataset_id}/progress"


def _import_files(ctx: JobContext, dataset_id: str, files: list[data.SourceFile], *, text_column: str | None,
                  txt_mode: str, stage: tuple[float, float] = (0.0, 1.0)) -> data.ImportResult:
    """Normalize source files into text/{split}.arrow, reporting rows; a failure or cancel keeps no text."""
    start, span = stage
    dest = ctx.storage.dataset_text_dir(dataset_id)

    def on_progress(progress: data.ImportProgress) -> None:
        fraction = progress.bytes_read / progress.bytes_total if progress.bytes_total else None
        ctx.progress(None if fraction is None else start + span * fraction,
                     f"{progress.rows:,} rows ({progress.rows_per_second:,.0f} rows/s), {progress.current_file}")
        ctx.emit(_channel(dataset_id), "import", DatasetImportProgress(dataset_id=dataset_id, **asdict(progress)))

    column = text_column or (data.detect_text_column(files) if files[0].format != "txt" else None)
    return data.import_texts(files, dest, text_column=column, txt_mode=txt_mode,  # type: ignore[arg-type]
                             on_progress=on_progress, should_stop=ctx.should_stop)


def _finish_import(ctx: JobContext, dataset_id: str, result: data.ImportResult) -> Completed:
    size = folder_bytes(ctx.storage.dataset_dir(dataset_id))
    splits = ", ".join(f"{split} {rows:,}" for split, rows in result.splits.items())
    ctx.note(f"imported {result.num_rows:,} rows ({splits})" +
             (f" from column '{result.text_column}'" if result.text_column else ""))
    ctx.emit(_channel(dataset_id), "ready", DatasetReady(dataset_id=dataset_id, splits=result.splits))
    return Completed(
        result={"dataset_id": dataset_id, "splits": result.splits, "num_rows": result.num_rows, "size_bytes": size},
        fields={"splits": result.splits, "num_rows": result.num_rows, "size_bytes": size,
                "text_column": result.text_column})


def _discard_on_cancel(*folders: Path) -> OnStop:
    """A cancelled download or import keeps no files; a failed one keeps the hub files it verified (for a retry)."""
    def on_stop(status: Status) -> dict[str, Any]:
        if status != Status.CANCELLED:
            return {}
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        return {"size_bytes": 0}

    return on_stop


@job_kind(service.DOWNLOAD_KIND, queue="io")
def run_download(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Fetch a dataset repo's data files (resumable, verified: bytes), then normalize them (rows)."""
    dataset_id = params["dataset_id"]
    folders = ctx.storage.dataset_source_dir(dataset_id), ctx.storage.dataset_text_dir(dataset_id)
    return run_tracked(ctx, Dataset, dataset_id, lambda: download(ctx, params),
                       cancelled_by=(hub.DownloadCancelled, data.ImportCancelled), on_stop=_discard_on_cancel(*folders))


def download(ctx: JobContext, params: dict[str, Any]) -> Completed:
    dataset_id, repo_id = params["dataset_id"], params["repo_id"]
    source = ctx.storage.dataset_source_dir(dataset_id)
    endpoint = ctx.settings.hf_endpoint if ctx.settings else None
    token = ctx.secrets.get("hf_token") or hub.resolve_token(None)

    def on_progress(progress: hub.DownloadProgress) -> None:
        eta = f", {progress.eta_seconds:.0f}s left" if progress.eta_seconds is not None else ""
        fraction = progress.bytes_done / progress.bytes_total if progress.bytes_total else None
        ctx.progress(None if fraction is None else 0.8 * fraction,
                     f"{human_bytes(progress.bytes_done)} of {human_bytes(progress.bytes_total)} at "
                     f"{human_bytes(progress.bytes_per_second)}/s{eta}")
        ctx.emit(_channel(dataset_id), "download", DatasetDownloadProgress(dataset_id=dataset_id, **asdict(progress)))

    info = hub_datasets.preview_dataset_repo(repo_id, revision=params.get("revision"), token=token, endpoint=endpoint)
    files = hub_datasets.select_dataset_files(info, params.get("config"), params.get("split"))
    hub_datasets.download_dataset_repo(repo_id, source, revision=info.revision, token=token, files=files,
                                       endpoint=endpoint, on_progress=on_progress, should_stop=ctx.should_stop)
    ctx.note(f"downloaded {len(files)} data files ({human_bytes(sum(f.size for f in files))}), verified against "
             "the hub's hashes")
    splits = {f.path: split for split, paths in info.configs[_config_of(info, params.get("config"))].items()
              for f in paths}
    local = [data.SourceFile(source / f.path, data.format_of(source / f.path), splits[f.path]) for f in files]
    settings = _read(ctx, dataset_id)
    result = _import_files(ctx, dataset_id, local, text_column=params.get("text_column"),
                           txt_mode=settings["txt_mode"], stage=(0.8, 0.2))
    return _finish_import(ctx, dataset_id, result)


def _config_of(info: hub_datasets.DatasetRepoPreview, config: str | None) -> str:
    return config if config is not None else next(iter(info.configs))


@job_kind(service.IMPORT_KIND, queue="io")
def run_import(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Import text from a file/folder on disk, an upload, or an example corpus (fetched once)."""
    dataset_id = params["dataset_id"]
    return run_tracked(ctx, Dataset, dataset_id, lambda: import_text(ctx, params), cancelled_by=(data.ImportCancelled,),
                       on_stop=_discard_on_cancel(ctx.storage.dataset_text_dir(dataset_id)))


def import_text(ctx: JobContext, params: dict[str, Any]) -> Completed:
    dataset_id = params["dataset_id"]
    settings = _read(ctx, dataset_id)
    if "example" in params:
        ctx.progress(None, f"preparing the {params['example']} example corpus")
        path = examples.example_texts(ctx.storage.examples_dir, params["example"])
    else:
        path = Path(params["path"])
    files = data.discover_files(path, settings["source_format"])
    result = _import_files(ctx, dataset_id, files, text_column=settings["text_column"], txt_mode=settings["txt_mode"])
    return _finish_import(ctx, dataset_id, result)


@job_kind(tokenizations.TOKENIZE_KIND, queue="io")
def run_tokenize(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Tokenize one split with a model's tokenizer into tokens.npy/offsets.npy, then compute statistics."""
    dest = ctx.storage.tokenization_dir(params["dataset_id"], params["tokenization_id"])

    def on_stop(status: Status) -> dict[str, Any]:
        shutil.rmtree(dest, ignore_errors=True)  # half a tokenization is of no use: a retry starts it again
        return {}

    return run_tracked(ctx, Tokenization, params["tokenization_id"], lambda: tokenize(ctx, params, dest),
                       cancelled_by=(data.TokenizeCancelled,), on_stop=on_stop)


def tokenize(ctx: JobContext, params: dict[str, Any], dest: Path) -> Completed:
    dataset_id, tokenization_id = params["dataset_id"], params["tokenization_id"]
    with session_scope(ctx.sessions) as session:
        row = session.get(Tokenization, tokenization_id)
        if row is None:
            raise MistudioError(f"tokenization {tokenization_id!r} was deleted before its job ran")
        model_id, split, stored = row.model_id, row.split, dict(row.settings)
    channel = _channel(dataset_id)

    def on_progress(progress: data.TokenizeProgress) -> None:
        eta = f", {progress.eta_seconds:.0f}s left" if progress.eta_seconds is not None else ""
        ctx.progress(0.95 * progress.rows_done / max(progress.rows_total, 1),
                     f"{progress.rows_done:,} of {progress.rows_total:,} rows at {progress.rows_per_second:,.0f} "
                     f"rows/s, {progress.tokens:,} tokens{eta}")
        ctx.emit(channel, "tokenize", TokenizeProgress(dataset_id=dataset_id, tokenization_id=tokenization_id,
                                                       **asdict(progress)))

    tokenizer = data.load_tokenizer(ctx.storage.model_raw_dir(model_id))
    table = data.TextTable.open(ctx.storage.dataset_text_dir(dataset_id), split)
    result = data.tokenize_to_disk(table, tokenizer, data.TokenizeSettings(**stored), dest,
                                   on_progress=on_progress, should_stop=ctx.should_stop)
    ctx.progress(0.96, "computing statistics")
    statistics = data.compute_statistics(data.TokenizedSequences.open(dest), tokenizer)
    (dest / "statistics.json").write_text(json.dumps(statistics))
    ctx.note(f"{result.num_sequences:,} sequences, {result.num_tokens:,} tokens ({result.dtype})")
    ctx.emit(channel, "tokenized", TokenizationDone(dataset_id=dataset_id, tokenization_id=tokenization_id))
    return Completed(
        result={"tokenization_id": tokenization_id, "num_sequences": result.num_sequences,
                "num_tokens": result.num_tokens},
        fields={"num_sequences": result.num_sequences, "num_tokens": result.num_tokens,
                "vocab_size": statistics["vocab_size"], "size_bytes": folder_bytes(dest), "statistics": statistics})
