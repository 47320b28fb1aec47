"""Text corpora: find source files, import them into memory-mapped Arrow tables, tokenize them to .npy.

Sources are .txt (one document per line, or per file), JSON Lines (.jsonl/.json), .csv and .parquet files,
split by file name the way HF `datasets` does (`train-00000.parquet`, `data/validation.jsonl`, `dev.csv`).
`import_texts` streams every file in batches (never a whole file in memory, except a .txt file in document
mode, which *is* one row) into `dest/{split}.arrow`: the Arrow IPC file format, one `text` column, so a
split opens memory-mapped (`TextTable`) and any row, page or search result is read without loading the rest.
Every problem in a file is reported with the file and, where it has one, the line: bad UTF-8, a JSON line
that does not parse, a missing column. An import that fails or is cancelled leaves nothing behind.

Reading each file format lives in `data_sources.py`; tokenization (`TokenizeSettings`, `tokenize_to_disk`)
in `data_tokenize.py`, its semantics documented there; reading one (`TokenizedSequences`, `compute_statistics`) in
`data_tokenized.py`. All are re-exported here, so `mistudio.lens.data` is the one import a notebook needs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mistudio.lens.data_sources import (
    SOURCE_FORMATS,
    DataFileError,
    SourceFile,
    TxtMode,
    column_names,
    detect_text_column,
    discover_files,
    format_of,
    read_batches,
    split_of,
)
from mistudio.lens.errors import InvalidArgument

logger = logging.getLogger(__name__)

_CHECK_SECONDS = 0.1  # should_stop may be a database read: ask (and report progress) at most this often
TEXT_SCHEMA = pa.schema([("text", pa.large_string())])




class ImportCancelled(Exception):
    """should_stop() asked the import to stop; nothing it wrote is left behind."""


@dataclass
class ImportProgress:
    rows: int
    bytes_read: int
    bytes_total: int
    rows_per_second: float
    current_file: str


@dataclass
class ImportResult:
    splits: dict[str, int]  # split -> rows
    num_rows: int
    size_bytes: int  # of the .arrow files written
    text_column: str | None  # None when every source was .txt


# --- import ------------------------------------------------------------------------------------------------
class _SplitWriters:
    """One Arrow IPC file per split under a temporary name; renamed into place by `commit`."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self._token = uuid.uuid4().hex[:8]
        self._writers: dict[str, tuple[pa.NativeFile, pa.ipc.RecordBatchFileWriter]] = {}
        self.rows: dict[str, int] = {}

    def _temporary(self, split: str) -> Path:
        return self.dest / f".{split}.arrow.{self._token}.partial"

    def write(self, split: str, texts: list[str] | pa.Array) -> None:
        if split not in self._writers:
            sink = pa.OSFile(str(self._temporary(split)), "wb")
            self._writers[split] = (sink, pa.ipc.new_file(sink, TEXT_SCHEMA))
            self.rows[split] = 0
        array = texts if isinstance(texts, pa.Array) else pa.array(texts, type=pa.large_string())
        self._writers[split][1].write_batch(pa.record_batch([array], schema=TEXT_SCHEMA))
        self.rows[split] += len(array)

    def close(self) -> None:
        for sink, writer in self._writers.values():
            if not sink.closed:
                writer.close()
                sink.close()

    def commit(self) -> int:
        """Close, move every split into place, drop splits of an earlier import; returns the bytes written."""
        self.close()
        size = 0
        for split in self._writers:
            target = self.dest / f"{split}.arrow"
            os.replace(self._temporary(split), target)
            size += target.stat().st_size
        for stale in self.dest.glob("*.arrow"):
            if stale.stem not in self._writers:
                stale.unlink()
        return size

    def discard(self) -> None:
        for sink, writer in self._writers.values():
            # The file is deleted next, so a writer that failed (a full disk) may fail again on close.
            with contextlib.suppress(pa.ArrowException, OSError):
                if not sink.closed:
                    writer.close()
            sink.close()
        for split in self._writers:
            self._temporary(split).unlink(missing_ok=True)


def import_texts(files: list[SourceFile], dest: Path, *, text_column: str | None, txt_mode: TxtMode = "line",
                 on_progress: Callable[[ImportProgress], None] | None = None,
                 should_stop: Callable[[], bool] | None = None, batch_rows: int = 10_000) -> ImportResult:
    """Stream `files` into `dest/{split}.arrow` (one large_string column "text"); all or nothing.

    `text_column` names the text field of jsonl/csv/parquet files (None: `detect_text_column`). Nulls are
    skipped, and so are blank lines of .txt files in line mode. A file that yields no row is an error, as is
    any unreadable line; on an error or a cancel (ImportCancelled) everything written is removed.
    """
    if txt_mode not in ("line", "document"):
        raise InvalidArgument(f"txt_mode must be 'line' or 'document', not {txt_mode!r}")
    if not files:
        raise InvalidArgument("no source files to import")
    if text_column is None:
        text_column = detect_text_column(files)
    dest = Path(dest)
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    writers = _SplitWriters(dest)
    try:
        _import_files(files, writers, text_column, txt_mode, on_progress, should_stop, batch_rows)
        size = writers.commit()
    except BaseException:
        writers.discard()
        if created and not any(dest.iterdir()):
            dest.rmdir()
        raise
    splits = dict(writers.rows)
    structured = any(f.format != "txt" for f in files)
    return ImportResult(splits, sum(splits.values()), size, text_column if structured else None)


def _import_files(files: list[SourceFile], writers: _SplitWriters, text_column: str | None, txt_mode: TxtMode,
                  on_progress: Callable[[ImportProgress], None] | None, should_stop: Callable[[], bool] | None,
                  batch_rows: int) -> None:
    bytes_total = sum(f.path.stat().st_size for f in files)
    started = last_check = time.monotonic()
    rows = bytes_done = 0

    def report(position: int, current: Path) -> None:
        elapsed = max(time.monotonic() - started, 1e-9)
        if on_progress:
            on_progress(ImportProgress(rows, bytes_done + position, bytes_total, rows / elapsed, str(current)))

    for file in files:
        file_rows = 0
        position = 0
        for texts, position in read_batches(file, text_column, txt_mode, batch_rows):
            if len(texts):
                writers.write(file.split, texts)
                rows += len(texts)
                file_rows += len(texts)
            if time.monotonic() - last_check >= _CHECK_SECONDS:
                last_check = time.monotonic()
                if should_stop and should_stop():
                    raise ImportCancelled("import cancelled")
                report(position, file.path)
        if file_rows == 0:
            what = "is empty" if file.path.stat().st_size == 0 else "holds no text rows"
            raise DataFileError(f"{file.path}: the file {what}; remove it or give a file with text", file=file.path)
        bytes_done += file.path.stat().st_size
        if should_stop and should_stop():
            raise ImportCancelled("import cancelled")
        report(0, file.path)


# --- reading an imported split -----------------------------------------------------------------------------
def text_splits(dest: Path) -> dict[str, int]:
    """The imported splits in `dest` and their row counts; {} when nothing was imported."""
    dest = Path(dest)
    if not dest.is_dir():
        return {}
    return {path.stem: TextTable.open(dest, path.stem).num_rows
            for path in sorted(dest.glob("*.arrow")) if not path.name.startswith(".")}


class TextTable:
    """One imported split, memory-mapped: pages, rows and searches read only what they touch."""

    def __init__(self, path: Path, table: pa.Table) -> None:
        self.path = path
        self._table = table
        self.num_rows: int = table.num_rows

    @classmethod
    def open(cls, dest: Path, split: str) -> TextTable:
        """Open `dest/{split}.arrow`; InvalidArgument naming the splits there when it does not exist."""
        path = Path(dest) / f"{split}.arrow"
        if not re.fullmatch(r"[A-Za-z0-9_-]+", split) or not path.is_file():
            available = sorted(p.stem for p in Path(dest).glob("*.arrow") if not p.name.startswith(".")) \
                if Path(dest).is_dir() else []
            raise InvalidArgument(f"split {split!r} does not exist; available: {', '.join(available) or 'none'}",
                               code="split_not_found")
        # read_all on a memory map is zero-copy: the table's buffers are the mapped file.
        return cls(path, pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all())

    def rows(self, offset: int, limit: int) -> list[str]:
        """Rows offset .. offset+limit-1 (fewer at the end)."""
        if offset < 0 or limit < 0:
            raise InvalidArgument(f"offset and limit must be >= 0 (got {offset}, {limit})")
        return self._table.slice(offset, limit).column("text").to_pylist()

    def search(self, query: str, offset: int, limit: int) -> tuple[list[tuple[int, str]], int]:
        """Rows containing `query` (case-insensitive, literal): a page of (row index, text) and the total matches."""
        if offset < 0 or limit < 0:
            raise InvalidArgument(f"offset and limit must be >= 0 (got {offset}, {limit})")
        found: list[tuple[int, str]] = []
        total = base = 0
        for chunk in self._table.column("text").chunks:
            mask = pc.fill_null(pc.match_substring(chunk, query, ignore_case=True), False)
            hits = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            # Only the page's rows are turned into Python strings.
            start, stop = max(offset - total, 0), max(offset + limit - total, 0)
            found += [(base + int(i), chunk[int(i)].as_py()) for i in hits[start:stop]]
            total += len(hits)
            base += len(chunk)
        return found, total

    def iter_batches(self, batch_rows: int = 1000) -> Iterator[list[str]]:
        """Every row in order, `batch_rows` at a time."""
        for record_batch in self._table.to_batches(max_chunksize=batch_rows):
            yield record_batch.column(0).to_pylist()


# Tokenization, re-exported so callers import everything from lens.data.
from mistudio.lens.data_tokenize import (  # noqa: E402
    Packer,
    PreviewResult,
    TokenizeCancelled,
    TokenizeProgress,
    TokenizeResult,
    TokenizeSettings,
    TokenPreview,
    preview_tokenization,
    tokenize_batch,
    tokenize_to_disk,
)
from mistudio.lens.data_tokenized import TokenizedSequences, compute_statistics  # noqa: E402
from mistudio.lens.model import load_tokenizer  # noqa: E402  (one way to load a tokenizer)

__all__ = [
    "SOURCE_FORMATS", "DataFileError", "ImportCancelled", "ImportProgress", "ImportResult", "Packer",
    "PreviewResult", "SourceFile", "TextTable", "TokenPreview", "TokenizeCancelled", "TokenizeProgress",
    "TokenizeResult", "TokenizeSettings", "TokenizedSequences", "TxtMode", "column_names", "compute_statistics",
    "detect_text_column", "discover_files", "format_of", "import_texts", "load_tokenizer", "preview_tokenization",
    "split_of", "text_splits", "tokenize_batch", "tokenize_to_disk",
]
