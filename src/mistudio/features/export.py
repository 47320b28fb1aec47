"""Exports of a completed analysis: its feature table as CSV or Parquet (one row per latent, the columns of the list
API, in index order), or the Neuronpedia upload layout zipped (`export_neuronpedia`).

Files are written to a folder the caller owns (the API a temporary one it deletes after the download, the CLI the
user's path); rows are read from the database in chunks so 100k latents never sit in memory as ORM objects.
"""

from __future__ import annotations

import csv
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from mistudio.errors import InvalidInput
from mistudio.features.browser import _completed
from mistudio.features.schemas import FeatureOut
from mistudio.features.tables import Feature
from mistudio.platform.db import session_scope
from mistudio.platform.runtime import Runtime

ExportFormat = Literal["csv", "parquet", "neuronpedia"]
EXPORT_FORMATS: tuple[str, ...] = ("csv", "parquet", "neuronpedia")
# The list API's row, column for column: a CSV exported here is what `import_labels` reads back.
TABLE_COLUMNS: tuple[str, ...] = tuple(FeatureOut.model_fields)
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "neuronpedia": "application/zip"}
_CHUNK = 5_000


def feature_rows(runtime: Runtime, analysis_id: str) -> Iterator[dict[str, Any]]:
    """Every latent's row of a completed analysis, by index, as plain dicts. Checked now (404, or 409 before it
    completes), read lazily: nothing is written for an analysis that cannot be exported."""
    with session_scope(runtime.sessions) as session:
        _completed(session, analysis_id)
    return _rows(runtime, analysis_id)


def _rows(runtime: Runtime, analysis_id: str) -> Iterator[dict[str, Any]]:
    with session_scope(runtime.sessions) as session:
        query = select(Feature).where(Feature.analysis_id == analysis_id).order_by(Feature.latent)
        for feature in session.scalars(query.execution_options(yield_per=_CHUNK)):
            yield FeatureOut.model_validate(feature).model_dump()


def file_name(analysis_id: str, fmt: str) -> str:
    return f"features-{analysis_id}." + {"csv": "csv", "parquet": "parquet", "neuronpedia": "neuronpedia.zip"}[fmt]


def write_csv(rows: Iterator[dict[str, Any]], path: Path) -> int:
    """UTF-8 CSV with a header; an unset value is an empty cell. Returns the rows written."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=TABLE_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if value is None else value for key, value in row.items()})
            count += 1
    return count


def _parquet_schema() -> Any:
    """Typed columns from FeatureOut's annotations, so a column added to the list API is exported too."""
    import pyarrow as pa

    kinds = {int: pa.int64(), float: pa.float64(), bool: pa.bool_(), str: pa.string()}
    fields = []
    for name, info in FeatureOut.model_fields.items():
        plain = [kind for kind in typing.get_args(info.annotation) or (info.annotation,) if kind is not type(None)]
        if len(plain) != 1 or plain[0] not in kinds:  # refused loudly rather than exported as an untyped column
            raise RuntimeError(f"feature column {name!r} has type {info.annotation}, which has no Parquet type here")
        fields.append((name, pa.int32() if name == "latent" else kinds[plain[0]]))
    return pa.schema(fields)


def write_parquet(rows: Iterator[dict[str, Any]], path: Path) -> int:
    """Parquet with typed columns (nulls kept), written in row groups of `_CHUNK` latents."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema, count, batch = _parquet_schema(), 0, []
    with pq.ParquetWriter(path, schema) as writer:
        for row in rows:
            batch.append(row)
            if len(batch) == _CHUNK:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count, batch = count + len(batch), []
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return count + len(batch)


def export_analysis(runtime: Runtime, analysis_id: str, fmt: str, folder: Path, **neuronpedia: Any) -> Path:
    """Write the export in `fmt` into `folder` (which must exist); returns the file. `neuronpedia` options:
    model_id, source_set, creator_id (see `export_neuronpedia.write_neuronpedia`)."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(EXPORT_FORMATS)}; got {fmt!r}",
                           details={"field": "format", "allowed": list(EXPORT_FORMATS)})
    path = Path(folder) / file_name(analysis_id, fmt)
    if fmt == "neuronpedia":
        from mistudio.features.export_neuronpedia import write_neuronpedia_zip

        return write_neuronpedia_zip(runtime, analysis_id, path, **neuronpedia)
    if neuronpedia:
        raise InvalidInput(f"{', '.join(sorted(neuronpedia))} only apply to format neuronpedia",
                           details={"field": sorted(neuronpedia)[0]})
    (write_csv if fmt == "csv" else write_parquet)(feature_rows(runtime, analysis_id), path)
    return path


def export_to_scratch(runtime: Runtime, analysis_id: str, fmt: str, **neuronpedia: Any) -> Path:
    """`export_analysis` into a fresh folder under the data directory (named by a new id, never by user text);
    the caller deletes the file's folder once it is sent. Nothing is left behind when the export fails."""
    import shutil

    from mistudio.platform.db import new_id

    folder = runtime.storage.home / "scratch" / "feature-exports" / new_id()
    folder.mkdir(parents=True)
    try:
        return export_analysis(runtime, analysis_id, fmt, folder, **neuronpedia)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
