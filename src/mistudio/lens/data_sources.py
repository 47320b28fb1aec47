"""Source text files: find them, tell their split and format, and read them in batches with precise errors.

Split of the text-corpus code in `data.py` (which re-exports the public names): this module knows the file formats
(.txt, JSON Lines, .csv, .parquet), `data.py` turns what they yield into Arrow tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from mistudio.lens.errors import InvalidArgument

SOURCE_FORMATS = ("txt", "jsonl", "csv", "parquet")
_SUFFIXES = {".txt": "txt", ".jsonl": "jsonl", ".json": "jsonl", ".jsonlines": "jsonl", ".ndjson": "jsonl",
             ".csv": "csv", ".parquet": "parquet"}
# HF datasets' split keywords (datasets.data_files): a file or folder name holding one of these words.
_SPLIT_WORDS = {"train": "train", "training": "train", "test": "test", "testing": "test", "eval": "test",
                "evaluation": "test", "validation": "validation", "valid": "validation", "val": "validation",
                "dev": "validation"}
_SAMPLE_ROWS = 100  # rows read to list and compare a file's columns
_CSV_BLOCK_BYTES = 1 << 20

TxtMode = Literal["line", "document"]


# --- errors ------------------------------------------------------------------------------------------------
class DataFileError(InvalidArgument):
    """A source file cannot be read as text; the message names the file (and line or row) and the fix."""

    code = "invalid_data_file"

    def __init__(self, message: str, *, file: Path | str, line: int | None = None) -> None:
        super().__init__(message, details={"file": str(file), "line": line})
        self.file = str(file)
        self.line = line


@dataclass(frozen=True)
class SourceFile:
    path: Path
    format: str  # one of SOURCE_FORMATS
    split: str  # train | test | validation




# --- finding files -----------------------------------------------------------------------------------------
def format_of(path: Path, format: str | None = None) -> str:
    """The source format of `path`: `format` when given (validated), else by suffix; DataFileError otherwise."""
    if format is not None:
        if format not in SOURCE_FORMATS:
            raise InvalidArgument(f"unknown source format {format!r}; choose one of: {', '.join(SOURCE_FORMATS)}")
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
        raise InvalidArgument(f"{path} does not exist: give a text file or a folder of them")
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
        raise InvalidArgument(f"{path} holds no supported text files ({', '.join(suffixes)}); hidden files are skipped")
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


def read_batches(file: SourceFile, column: str | None, mode: TxtMode, batch_rows: int) -> Batches:
    """A file's texts in batches of up to batch_rows, each with the bytes read so far (for progress)."""
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
