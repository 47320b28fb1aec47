"""Labels imported back into an analysis: from our feature-table CSV (`export.write_csv`) or from Neuronpedia
explanations (`explanations/*.jsonl.gz` of its export layout, or the same lines uncompressed).

The whole file is parsed and checked first (a latent out of range, a label too long, a malformed line: refused,
naming the line and the field) and only then written, in one transaction: nothing is half-imported. An imported
label has kind `imported`, no author model and no scores (they measured the label it replaces); rows with no label
text are skipped, never used to clear a label.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, update

from mistudio.errors import InvalidInput
from mistudio.features.browser import _completed
from mistudio.features.export_schemas import LabelsImported
from mistudio.features.schemas import MAX_LABEL_CHARS
from mistudio.features.tables import Feature, FeatureLabelEvidence
from mistudio.platform.db import session_scope
from mistudio.platform.runtime import Runtime

IMPORTED_KIND = "imported"
MAX_IMPORT_BYTES = 512 * 1024 * 1024  # decompressed: a 100k-latent explanations file is a few MB


@dataclass
class ParsedLabels:
    format: str
    labels: dict[int, str] = field(default_factory=dict)
    skipped: int = 0
    duplicates: int = 0


def _refuse(message: str, **details: Any) -> InvalidInput:
    return InvalidInput(message, details={"field": "file", **details})


def _text(content: bytes) -> str:
    if content[:2] == b"\x1f\x8b":  # gzip magic: a Neuronpedia `.jsonl.gz` as it is
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(content)) as file:
                content = file.read(MAX_IMPORT_BYTES + 1)
        except (OSError, EOFError) as error:
            raise _refuse(f"the file looks gzipped but cannot be decompressed: {error}") from None
    if len(content) > MAX_IMPORT_BYTES:
        raise _refuse(f"the file is over {MAX_IMPORT_BYTES // 1024**2} MiB once decompressed")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _refuse(f"the file is not UTF-8 text (byte {error.start})") from None


def _latent(value: Any, width: int, where: str, name: str) -> int:
    try:
        latent = int(str(value).strip())
    except ValueError:
        raise _refuse(f"{where}: {name} must be a latent index (an integer); got {value!r}", line_field=name) from None
    if not 0 <= latent < width:
        raise _refuse(f"{where}: {name} {latent} is out of range: this SAE has {width:,} latents (0 to {width - 1:,})",
                      line_field=name, min=0, max=width - 1)
    return latent


def _add(parsed: ParsedLabels, latent: int, label: Any, where: str, name: str) -> None:
    text = label.strip() if isinstance(label, str) else ""
    if label is not None and not isinstance(label, str):
        raise _refuse(f"{where}: {name} must be text; got {type(label).__name__}", line_field=name)
    if not text:
        parsed.skipped += 1
    elif len(text) > MAX_LABEL_CHARS:
        raise _refuse(f"{where}: the label of latent {latent} has {len(text)} characters; labels are at most "
                      f"{MAX_LABEL_CHARS} (shorten it)", line_field=name, max=MAX_LABEL_CHARS)
    elif latent in parsed.labels:
        parsed.duplicates += 1
    else:
        parsed.labels[latent] = text


def _neuronpedia(text: str, width: int) -> ParsedLabels:
    """Explanation lines: `index` (a string in their schema) and `description`."""
    parsed = ParsedLabels("neuronpedia")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise _refuse(f"line {number}: not JSON ({error.msg})", line=number) from None
        if not isinstance(row, dict) or "index" not in row or "description" not in row:
            raise _refuse(f"line {number}: a Neuronpedia explanation needs `index` and `description`", line=number)
        _add(parsed, _latent(row["index"], width, f"line {number}", "index"), row["description"], f"line {number}",
             "description")
    return parsed


def _csv(text: str, width: int) -> ParsedLabels:
    """Our feature-table CSV: the `latent` and `label` columns (the others are ignored)."""
    parsed = ParsedLabels("csv")
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in ("latent", "label") if name not in (reader.fieldnames or [])]
    if missing:
        raise _refuse(f"the CSV has no {' or '.join(missing)} column; export one with format csv, or upload "
                      "Neuronpedia explanations (JSON lines)", missing=missing)
    try:
        for row in reader:
            where = f"line {reader.line_num}"
            _add(parsed, _latent(row["latent"], width, where, "latent"), row["label"], where, "label")
    except csv.Error as error:
        raise _refuse(f"line {reader.line_num}: not valid CSV ({error})") from None
    return parsed


def parse_labels(content: bytes, width: int) -> ParsedLabels:
    """Labels by latent from either format, told apart by the first character (`{` starts a JSON line)."""
    text = _text(content)
    if not text.strip():
        raise _refuse("the file is empty")
    return _neuronpedia(text, width) if text.lstrip().startswith("{") else _csv(text, width)


def import_labels(runtime: Runtime, analysis_id: str, content: bytes) -> LabelsImported:
    """Set the labels a file gives as `imported` labels of a completed analysis (all or nothing)."""
    with session_scope(runtime.sessions) as session:
        width = _completed(session, analysis_id).width
    parsed = parse_labels(content, width)
    with session_scope(runtime.sessions) as session:
        _completed(session, analysis_id)  # not deleted meanwhile
        # ORM bulk UPDATE by primary key: one executemany, not a query per latent (100k labels).
        if parsed.labels:
            # The author, prompts, scores and evidence of a previous label measured that label, not this one.
            stale = dict.fromkeys(("label_model", "label_prompt_version", "detection_score", "fuzzing_score",
                                   "label_score"))
            session.execute(update(Feature), [
                {"analysis_id": analysis_id, "latent": latent, "label": text, "label_kind": IMPORTED_KIND, **stale}
                for latent, text in parsed.labels.items()])
            session.execute(delete(FeatureLabelEvidence).where(FeatureLabelEvidence.analysis_id == analysis_id,
                                                               FeatureLabelEvidence.latent.in_(list(parsed.labels))))
    return LabelsImported(analysis_id=analysis_id, format=parsed.format, imported=len(parsed.labels),  # type: ignore[arg-type]
                          skipped=parsed.skipped, duplicates=parsed.duplicates)
