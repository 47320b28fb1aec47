"""Text corpora: find source files, import them into memory-mapped Arrow tables, tokenize them to .npy.

Sources are .txt (one document per line, or per file), JSON Lines (.jsonl/.json), .csv and .parquet files,
split by file name the way HF `datasets` does (`train-00000.parquet`, `data/validation.jsonl`, `dev.csv`).
`import_texts` streams every file in batches (never a whole file in memory, except a .txt file in document
mode, which *is* one row) into `dest/{split}.arrow`: the Arrow IPC file format, one `text` column, so a
split opens memory-mapped (`TextTable`) and any row, page or search result is read without loading the rest.
Every problem in a file is reported with the file and, where it has one, the line: bad UTF-8, a JSON line
that does not parse, a missing column. An import that fails or is cancelled leaves nothing behind.

Tokenization (`TokenizeSettings`, `tokenize_to_disk`, `TokenizedSequences`, `compute_statistics`) lives in
`data_tokenize.py` and is re-exported here; its semantics are documented there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from mistudio.errors import InvalidInput

logger = logging.getLogger(__name__)

SOURCE_FORMATS = ("txt", "jsonl", "csv", "parquet")
_SUFFIXES = {".txt": "txt", ".jsonl": "jsonl", ".json": "jsonl", ".jsonlines": "jsonl", ".ndjson": "jsonl",
             ".csv": "csv", ".parquet": "parquet"}
# HF datasets' split keywords (datasets.data_files): a file or folder name holding one of these words.
_SPLIT_WORDS = {"train": "train", "training": "train", "test": "test", "testing": "test", "eval": "test",
                "evaluation": "test", "validation": "validation", "valid": "validation", "val": "validation",
                "dev": "validation"}
_SAMPLE_ROWS = 100  # rows read to list and compare a file's columns
_CSV_BLOCK_BYTES = 1 << 20
_CHECK_SECONDS = 0.1  # should_stop may be a database read: ask (and report progress) at most this often
TEXT_SCHEMA = pa.schema([("text", pa.large_string())])

TxtMode = Literal["line", "document"]


# --- errors ------------------------------------------------------------------------------------------------
class DataFileError(InvalidInput):
    """A source file cannot be read as text; the message names the file (and line or row) and the fix."""

    code = "invalid_data_file"

    def __init__(self, message: str, *, file: Path | str, line: int | None = None) -> None:
        super().__init__(message, details={"file": str(file), "line": line})
        self.file = str(file)
        self.line = line


class ImportCancelled(Exception):
    """should_stop() asked the import to stop; nothing it wrote is left behind."""


# --- plain data --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceFile:
    path: Path
    format: str  # one of SOURCE_FORMATS
    split: str  # train | test | validation


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


# --- finding files -----------------------------------------------------------------------------------------
def format_of(path: Path, format: str | None = None) -> str:
    """The source format of `path`: `format` when given (validated), else by suffix; DataFileError otherwise."""
    if format is not None:
        if format not in SOURCE_FORMATS:
            raise InvalidInput(f"unknown source format {format!r}; choose one of: {', '.join(SOURCE_FORMATS)}")
        return format
    found = _SUFFIXES.get(Path(path).suffix.lower())
    if found is None:
        raise DataFileError(f"{path}: unsupported file type {Path(path).suffix or '(no suffix)'!r}; supported: "
                            f"{', '.join(_SUFFIXES)} (or pass the format explicitly)", file=path)
    return found


def split_of(name: str) -> str:
    """The split a file belongs to by its name or relative path: train, test or validation (default train).

    The file name is read first, then its folders from the innermost; within a name the first split word
    wins, words being separated by anything but letters and digits (`my-test_00001.csv` -> test).
    """
    parts = Path(name).parts
    candidates = [Path(parts[-1]).stem, *reversed(parts[:-1])] if parts else []
    for part in candidates:
        for word in re.split(r"[^a-z0-9]+", part.lower()):
            if word in _SPLIT_WORDS:
                return _SPLIT_WORDS[word]
    return "train"


def discover_files(path: Path, format: str | None = None) -> list[SourceFile]:
    """The source files at `path`: the file itself, or a folder's supported files (recursive, sorted, no hidden).

    In a folder, files of other types (README.md, .gitattributes) are skipped; with `format` given, only
    files with that format's suffixes are taken.
    """
    path = Path(path)
    if path.is_file():
        return [SourceFile(path, format_of(path, format), split_of(path.name))]
    if not path.is_dir():
        raise InvalidInput(f"{path} does not exist: give a text file or a folder of them")
    wanted = format_of(path, format) if format is not None else None
    suffixes = [suffix for suffix, found in _SUFFIXES.items() if wanted in (None, found)]
    files = []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if any(part.startswith(".") for part in relative.parts) or not file.is_file():
            continue
        if file.suffix.lower() in suffixes:
            files.append(SourceFile(file, format or _SUFFIXES[file.suffix.lower()], split_of(relative.as_posix())))
    if not files:
        raise InvalidInput(f"{path} holds no supported text files ({', '.join(suffixes)}); hidden files are skipped")
    return files


# --- decoding helpers --------------------------------------------------------------------------------------
def _decode(raw: bytes, path: Path, line_number: int) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFileError(f"{path}: line {line_number} is not valid UTF-8 (byte 0x{raw[error.start]:02x} at byte "
                            f"{error.start + 1} of the line); save the file as UTF-8 and import it again",
                            file=path, line=line_number) from None
    # A byte-order mark is legal at the start of a UTF-8 file but is not text.
    return text[1:] if line_number == 1 and text.startswith("\ufeff") else text


def _strip_newline(text: str) -> str:
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    return text


def _first_bad_utf8_line(path: Path) -> int | None:
    """The 1-based number of the first line that is not UTF-8 (pyarrow only says "invalid UTF8 data")."""
    with open(path, "rb") as file:
        for line_number, raw in enumerate(file, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return line_number
    return None


def _json_object(raw: bytes, path: Path, line_number: int) -> dict[str, Any] | None:
    """One JSON Lines line as a dict; None for a blank line."""
    text = _decode(raw, path, line_number)
    if not text.strip():
        return None
    if line_number == 1 and text.lstrip().startswith("["):
        raise DataFileError(f"{path}: holds a JSON array; convert it to JSON Lines (one object per line), e.g. "
                            "`jq -c '.[]' file.json > file.jsonl`", file=path, line=1)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataFileError(f"{path}: line {line_number} is not valid JSON ({error.msg} at column {error.colno}); "
                            "each line must be one JSON object (JSON Lines)", file=path, line=line_number) from None
    if not isinstance(value, dict):
        raise DataFileError(f"{path}: line {line_number} is a JSON {type(value).__name__}, not an object; each line "
                            "must be one JSON object (JSON Lines)", file=path, line=line_number)
    return value


# --- reading each format: batches of texts, with the bytes read so far --------------------------------------
Batches = Iterator[tuple[list[str] | pa.Array, int]]


def _read_txt(path: Path, mode: TxtMode, batch_rows: int) -> Batches:
    batch: list[str] = []
    bytes_read = 0
    with open(path, "rb") as file:
        for line_number, raw in enumerate(file, 1):
            bytes_read += len(raw)
            text = _decode(raw, path, line_number)
            if mode == "document":
                batch.append(text)
            elif text.strip():
                batch.append(_strip_newline(text))
                if len(batch) >= batch_rows:
                    yield batch, bytes_read
                    batch = []
    if mode == "document":
        document = "".join(batch)
        batch = [document] if document.strip() else []
    if batch:
        yield batch, bytes_read


def _read_jsonl(path: Path, column: str, batch_rows: int) -> Batches:
    batch: list[str] = []
    bytes_read = 0
    with open(path, "rb") as file:
        for line_number, raw in enumerate(file, 1):
            bytes_read += len(raw)
            row = _json_object(raw, path, line_number)
            if row is None:
                continue
            value = row.get(column, _MISSING)
            if value is _MISSING:
                raise DataFileError(f"{path}: line {line_number} has no field {column!r}; it has: "
                                    f"{', '.join(row) or '(none)'}; choose the text column", file=path,
                                    line=line_number)
            if value is None:
                continue
            if not isinstance(value, str):
                raise DataFileError(f"{path}: line {line_number}: field {column!r} is a JSON "
                                    f"{type(value).__name__}, not a string; choose a text column", file=path,
                                    line=line_number)
            batch.append(value)
            if len(batch) >= batch_rows:
                yield batch, bytes_read
                batch = []
    if batch:
        yield batch, bytes_read


_MISSING = object()


def _csv_header(path: Path) -> list[str]:
    try:
        return pa_csv.open_csv(str(path), read_options=pa_csv.ReadOptions(use_threads=False)).schema.names
    except pa.ArrowInvalid as error:
        raise _csv_error(path, error, None) from None


def _csv_error(path: Path, error: Exception, bad_row: int | None) -> DataFileError:
    message = str(error)
    if "Empty CSV file" in message:
        return DataFileError(f"{path}: the file is empty; it needs a header row and at least one row", file=path)
    if "invalid UTF8" in message:
        line = _first_bad_utf8_line(path)
        return DataFileError(f"{path}: line {line} is not valid UTF-8; save the file as UTF-8 and import it again",
                             file=path, line=line)
    where = f"row {bad_row}" if bad_row else "the file"
    return DataFileError(f"{path}: {where} cannot be read as CSV ({message})", file=path, line=bad_row)


def _read_csv(path: Path, column: str, batch_rows: int) -> Batches:
    bad_rows: list[int] = []

    def on_invalid_row(row: Any) -> str:
        bad_rows.append(row.number)  # 1-based, the header included (known because use_threads=False)
        return "error"

    source = pa.OSFile(str(path))
    try:
        reader = pa_csv.open_csv(
            source, read_options=pa_csv.ReadOptions(use_threads=False, block_size=_CSV_BLOCK_BYTES),
            # Text columns hold quoted newlines; without this the parser splits a row in two.
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row),
            convert_options=pa_csv.ConvertOptions(include_columns=[column], column_types={column: pa.large_string()}))
        for record_batch in reader:
            yield pc.drop_null(record_batch.column(0)), source.tell()
    except pa.ArrowKeyError:
        raise DataFileError(f"{path}: has no column {column!r}; it has: {', '.join(_csv_header(path))}; choose the "
                            "text column", file=path) from None
    except pa.ArrowInvalid as error:
        raise _csv_error(path, error, bad_rows[0] if bad_rows else None) from None
    finally:
        source.close()


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as error:
        raise DataFileError(f"{path}: cannot be read as Parquet ({error})", file=path) from None


def _is_text_type(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def _read_parquet(path: Path, column: str, batch_rows: int) -> Batches:
    parquet = _parquet_file(path)
    schema = parquet.schema_arrow
    if column not in schema.names:
        raise DataFileError(f"{path}: has no column {column!r}; it has: {', '.join(schema.names)}; choose the text "
                            "column", file=path)
    if not _is_text_type(schema.field(column).type):
        raise DataFileError(f"{path}: column {column!r} holds {schema.field(column).type}, not text; choose a text "
                            "column", file=path)
    size, rows_total, rows_done = path.stat().st_size, max(parquet.metadata.num_rows, 1), 0
    for record_batch in parquet.iter_batches(batch_size=batch_rows, columns=[column]):
        rows_done += record_batch.num_rows
        # Parquet reads by row group, so bytes read is only known as a fraction of the rows.
        yield pc.drop_null(record_batch.column(0)).cast(pa.large_string()), size * rows_done // rows_total


def _read(file: SourceFile, column: str | None, mode: TxtMode, batch_rows: int) -> Batches:
    if file.format == "txt":
        return _read_txt(file.path, mode, batch_rows)
    assert column is not None, "a text column is needed for every format but txt"
    readers = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}
    return readers[file.format](file.path, column, batch_rows)


# --- columns -----------------------------------------------------------------------------------------------
def _sample_columns(file: SourceFile) -> tuple[list[str], dict[str, float]]:
    """A structured file's column names and, for its text columns, their mean length over the first rows."""
    path = file.path
    if file.format == "parquet":
        parquet = _parquet_file(path)
        names = parquet.schema_arrow.names
        text_names = [n for n in names if _is_text_type(parquet.schema_arrow.field(n).type)]
        first = next(parquet.iter_batches(batch_size=_SAMPLE_ROWS, columns=text_names), None) if text_names else None
        samples = {n: first.column(n).to_pylist() for n in text_names} if first is not None else {}
    elif file.format == "csv":
        try:
            reader = pa_csv.open_csv(str(path), read_options=pa_csv.ReadOptions(use_threads=False),
                                     parse_options=pa_csv.ParseOptions(newlines_in_values=True))
            names = reader.schema.names
            first = next(iter(reader), None)
        except pa.ArrowInvalid as error:
            raise _csv_error(path, error, None) from None
        if any(pa.types.is_binary(field.type) for field in reader.schema):
            # Type inference turns a column with bytes that are not UTF-8 into binary: say so, not "no text".
            raise _csv_error(path, pa.ArrowInvalid("invalid UTF8 data"), None)
        text_names = [n for n in names if _is_text_type(reader.schema.field(n).type)]
        samples = {n: first.column(n).to_pylist()[:_SAMPLE_ROWS] for n in text_names} if first is not None else {}
    else:
        rows = _first_json_rows(path)
        names = list(dict.fromkeys(key for row in rows for key in row))
        samples = {n: [row.get(n) for row in rows] for n in names}
        samples = {n: v for n, v in samples.items() if all(x is None or isinstance(x, str) for x in v)}
    lengths = {}
    for name, values in samples.items():
        texts = [v for v in values if isinstance(v, str)]
        if texts:
            lengths[name] = sum(map(len, texts)) / len(texts)
    return names, lengths


def _first_json_rows(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with open(path, "rb") as file:
        for line_number, raw in enumerate(file, 1):
            row = _json_object(raw, path, line_number)
            if row is not None:
                rows.append(row)
                if len(rows) >= _SAMPLE_ROWS:
                    break
    return rows


def column_names(files: list[SourceFile]) -> list[str]:
    """The columns every structured file has, in the first one's order; [] when all files are .txt."""
    common: list[str] | None = None
    for file in files:
        if file.format != "txt":
            names, _ = _sample_columns(file)
            common = names if common is None else [n for n in common if n in names]
    return common or []


def detect_text_column(files: list[SourceFile]) -> str | None:
    """The column holding the text: None for .txt; "text" if present; else the longest text column on average."""
    structured = [f for f in files if f.format != "txt"]
    if not structured:
        return None
    names = column_names(structured)
    if "text" in names:
        return "text"
    _, lengths = _sample_columns(structured[0])
    candidates = {n: length for n, length in lengths.items() if n in names}
    if not candidates:
        first = structured[0].path
        raise DataFileError(f"{first}: no column holds text (columns: {', '.join(names) or 'none'}); a text column "
                            "is needed to import", file=first)
    return max(candidates, key=lambda n: candidates[n])


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
        raise InvalidInput(f"txt_mode must be 'line' or 'document', not {txt_mode!r}")
    if not files:
        raise InvalidInput("no source files to import")
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
        for texts, position in _read(file, text_column, txt_mode, batch_rows):
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
        """Open `dest/{split}.arrow`; InvalidInput naming the splits there when it does not exist."""
        path = Path(dest) / f"{split}.arrow"
        if not re.fullmatch(r"[A-Za-z0-9_-]+", split) or not path.is_file():
            available = sorted(p.stem for p in Path(dest).glob("*.arrow") if not p.name.startswith(".")) \
                if Path(dest).is_dir() else []
            raise InvalidInput(f"split {split!r} does not exist; available: {', '.join(available) or 'none'}",
                               code="split_not_found")
        # read_all on a memory map is zero-copy: the table's buffers are the mapped file.
        return cls(path, pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all())

    def rows(self, offset: int, limit: int) -> list[str]:
        """Rows offset .. offset+limit-1 (fewer at the end)."""
        if offset < 0 or limit < 0:
            raise InvalidInput(f"offset and limit must be >= 0 (got {offset}, {limit})")
        return self._table.slice(offset, limit).column("text").to_pylist()

    def search(self, query: str, offset: int, limit: int) -> tuple[list[tuple[int, str]], int]:
        """Rows containing `query` (case-insensitive, literal): a page of (row index, text) and the total matches."""
        if offset < 0 or limit < 0:
            raise InvalidInput(f"offset and limit must be >= 0 (got {offset}, {limit})")
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
    TokenizedSequences,
    TokenizeProgress,
    TokenizeResult,
    TokenizeSettings,
    TokenPreview,
    compute_statistics,
    load_tokenizer,
    preview_tokenization,
    tokenize_batch,
    tokenize_to_disk,
)

__all__ = [
    "SOURCE_FORMATS", "DataFileError", "ImportCancelled", "ImportProgress", "ImportResult", "Packer",
    "PreviewResult", "SourceFile", "TextTable", "TokenPreview", "TokenizeCancelled", "TokenizeProgress",
    "TokenizeResult", "TokenizeSettings", "TokenizedSequences", "TxtMode", "column_names", "compute_statistics",
    "detect_text_column", "discover_files", "format_of", "import_texts", "load_tokenizer", "preview_tokenization",
    "split_of", "text_splits", "tokenize_batch", "tokenize_to_disk",
]
