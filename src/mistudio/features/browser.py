"""Browsing a completed analysis: the latents' table (sort, filter, search by label, token or index), one latent's
detail from the store, and the edits a user makes (label, favourite, notes).

The table is the `features` rows (indexed per sort key); the search by token is one lookup in `feature_tokens`;
a latent's detail reads only its own Parquet row groups and array slices from features/{analysis_id}/.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from mistudio.errors import Conflict, InvalidInput, NotFound
from mistudio.features import service
from mistudio.features.schemas import (
    ExampleOut,
    FeatureDetail,
    FeatureOut,
    FeatureUpdate,
    Histogram,
    Related,
    SortField,
    TokenValue,
)
from mistudio.features.store import fold, latent_arrays, read_token_texts
from mistudio.features.tables import Feature, FeatureAnalysis, FeatureLabelEvidence, FeatureToken
from mistudio.platform.db import session_scope
from mistudio.platform.lifecycle import Status
from mistudio.platform.runtime import Runtime

# "Dense": fires on at least this fraction of tokens, the usual cut (e.g. SAEBench's) for latents that say little.
DENSE_FREQUENCY = 0.1
_COLUMNS = {"index": Feature.latent, "frequency": Feature.frequency, "max_activation": Feature.max_activation,
            "mean_activation": Feature.mean_activation, "label_score": Feature.label_score}


@dataclass(frozen=True)
class FeatureQuery:
    """What the browser asks for; every filter optional."""

    sort: SortField = "index"
    descending: bool | None = None  # unset: highest first for the statistics, ascending for the index
    dead: bool | None = None
    dense: bool | None = None
    min_frequency: float | None = None
    max_frequency: float | None = None
    labelled: bool | None = None
    favourite: bool | None = None
    search: str | None = None  # in the label text
    token: str | None = None  # a peak token of the top examples, or a promoted logit-lens token
    latent: int | None = None


def _completed(session: Any, analysis_id: str) -> FeatureAnalysis:
    row = service.load_row(session, analysis_id)
    if row.status != Status.COMPLETED.value:
        raise Conflict(f"feature analysis {analysis_id!r} is {row.status}: its latents are listed once it completes",
                       details={"status": row.status})
    return row


def _check_latent(row: FeatureAnalysis, latent: int, field: str = "latent") -> None:
    if not 0 <= latent < row.width:
        raise NotFound(f"latent {latent} is out of range: this SAE has {row.width:,} latents (0 to {row.width - 1:,})",
                       details={"field": field, "min": 0, "max": row.width - 1})


def _filtered(row: FeatureAnalysis, query: FeatureQuery) -> Any:
    conditions = [Feature.analysis_id == row.id]
    if query.dead is not None:
        conditions.append(Feature.dead.is_(query.dead))
    if query.dense is not None:
        conditions.append(Feature.frequency >= DENSE_FREQUENCY if query.dense
                          else Feature.frequency < DENSE_FREQUENCY)
    if query.min_frequency is not None:
        conditions.append(Feature.frequency >= query.min_frequency)
    if query.max_frequency is not None:
        conditions.append(Feature.frequency <= query.max_frequency)
    if query.labelled is not None:
        conditions.append(Feature.label.is_not(None) if query.labelled else Feature.label.is_(None))
    if query.favourite is not None:
        conditions.append(Feature.favourite.is_(query.favourite))
    if query.search:
        pattern = query.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Feature.label.ilike(f"%{pattern}%", escape="\\"))
    if query.token is not None:
        token = fold(query.token)
        if not token:
            raise InvalidInput("token must have a character other than whitespace", details={"field": "token"})
        matching = select(FeatureToken.latent).where(FeatureToken.analysis_id == row.id, FeatureToken.token == token)
        conditions.append(Feature.latent.in_(matching))
    if query.latent is not None:
        _check_latent(row, query.latent)
        conditions.append(Feature.latent == query.latent)
    return conditions


def list_features(runtime: Runtime, analysis_id: str, query: FeatureQuery, *, page: int = 1,
                  limit: int = 50) -> tuple[list[FeatureOut], int]:
    """One page of the latents matching `query`, in its order (ties by index)."""
    if query.min_frequency is not None and query.max_frequency is not None \
            and query.min_frequency > query.max_frequency:
        raise InvalidInput(f"min_frequency ({query.min_frequency}) is above max_frequency ({query.max_frequency})",
                           details={"field": "min_frequency"})
    descending = query.descending if query.descending is not None else query.sort != "index"
    column = _COLUMNS[query.sort]
    order = column.desc() if descending else column.asc()
    with session_scope(runtime.sessions) as session:
        row = _completed(session, analysis_id)
        conditions = _filtered(row, query)
        total = session.scalar(select(func.count()).select_from(Feature).where(*conditions)) or 0
        # Unscored latents (a null score) come last whichever way the scores are ordered.
        ordering = [column.is_(None), order, Feature.latent] if query.sort == "label_score" else [order, Feature.latent]
        rows = session.scalars(select(Feature).where(*conditions).order_by(*ordering)
                               .offset((page - 1) * limit).limit(limit)).all()
        return [FeatureOut.model_validate(feature) for feature in rows], int(total)


def _feature(session: Any, row: FeatureAnalysis, latent: int) -> Feature:
    _check_latent(row, latent)
    feature = session.get(Feature, (row.id, latent))
    if feature is None:  # the rows are written with the completion: a missing one is a broken store
        raise NotFound(f"latent {latent} of analysis {row.id!r} has no row", details={"field": "latent"})
    return feature


def update_feature(runtime: Runtime, analysis_id: str, latent: int, body: FeatureUpdate) -> FeatureOut:
    """Set a latent's label (it becomes a user label, with no score), favourite flag or notes."""
    with session_scope(runtime.sessions) as session:
        feature = _feature(session, _completed(session, analysis_id), latent)
        given = body.model_fields_set
        if "label" in given:
            text = body.label.strip()
            feature.label, feature.label_kind = (text, "user") if text else (None, None)
            # The scores and evidence measured another label.
            feature.label_model = feature.label_prompt_version = None
            feature.label_score = feature.detection_score = feature.fuzzing_score = None
            session.execute(delete(FeatureLabelEvidence).where(FeatureLabelEvidence.analysis_id == analysis_id,
                                                               FeatureLabelEvidence.latent == latent))
        if "favourite" in given:
            feature.favourite = body.favourite
        if "notes" in given:
            feature.notes = body.notes or None
        session.flush()
        return FeatureOut.model_validate(feature)


def _float(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def _examples(folder: Any, latent: int, first_sequence: int, texts: dict[int, str],
              ablation: dict[tuple[int, int], list[float | None]]) -> list[ExampleOut]:
    from mistudio.lens.features.result import EXAMPLE_KINDS
    from mistudio.lens.features.store import read_examples

    examples = read_examples(folder, latent)
    out = []
    for index in range(len(examples)):
        tokens = examples.tokens[index].tolist()
        sequence = int(examples.sequence[index])
        out.append(ExampleOut(
            kind=EXAMPLE_KINDS[int(examples.kind[index])], rank=int(examples.rank[index]),
            interval=int(examples.interval[index]), activation=float(examples.activation[index]),
            sequence=first_sequence + sequence, position=int(examples.position[index]), tokens=tokens,
            texts=[texts.get(token, "") if token >= 0 else "" for token in tokens],
            activations=examples.activations[index].tolist(),
            delta_loss=ablation.get((sequence, int(examples.position[index])))))
    return out


def _ablation(folder: Any, latent: int) -> tuple[dict[tuple[int, int], list[float | None]], float | None]:
    """This latent's ablated examples by (sequence, position), and the mean Δ loss after their peaks."""
    import numpy as np
    import pyarrow.parquet as pq

    path = folder / "ablation.parquet"
    if not path.is_file():
        return {}, None
    table = pq.read_table(path, filters=[("latent", "=", latent)]).to_pylist()
    found = {(row["sequence"], row["position"]): [_float(v) for v in row["delta_loss"]] for row in table}
    peaks = [values[len(values) // 2] for values in found.values() if values[len(values) // 2] is not None]
    return found, float(np.mean(peaks)) if peaks else None


def _related(session: Any, analysis_id: str, indices: Any, values: Any) -> list[Related]:
    latents = [int(index) for index in indices.tolist() if index >= 0]
    labels = dict(session.execute(select(Feature.latent, Feature.label).where(
        Feature.analysis_id == analysis_id, Feature.latent.in_(latents))).all())
    return [Related(latent=latent, value=float(value), label=labels.get(latent))
            for latent, value in zip(latents, values.tolist(), strict=False)]


def _lens(arrays: dict[str, Any], kind: str, texts: dict[int, str]) -> list[TokenValue]:
    if f"logit_lens.{kind}_tokens" not in arrays:
        return []
    return [TokenValue(token=int(token), text=texts.get(int(token), ""), value=float(value))
            for token, value in zip(arrays[f"logit_lens.{kind}_tokens"].tolist(),
                                    arrays[f"logit_lens.{kind}_logits"].tolist(), strict=True)]


def feature_detail(runtime: Runtime, analysis_id: str, latent: int) -> FeatureDetail:
    """A latent's statistics, histogram, examples with decoded tokens, logit lens, neighbours, correlations and
    ablation effect (when the analysis computed it)."""
    folder = runtime.storage.features_dir(analysis_id)
    with session_scope(runtime.sessions) as session:
        row = _completed(session, analysis_id)
        feature = FeatureOut.model_validate(_feature(session, row, latent))
        arrays = latent_arrays(folder, latent)
        texts = read_token_texts(folder)
        ablation, mean_delta = _ablation(folder, latent)
        meta = {"first_sequence": row.first_sequence}
        evidence = session.get(FeatureLabelEvidence, (analysis_id, latent))
        related = {prefix: _related(session, analysis_id, arrays[f"{prefix}.indices"], arrays[f"{prefix}.values"])
                   if f"{prefix}.indices" in arrays else [] for prefix in ("neighbours", "correlations")}
    return FeatureDetail(
        **feature.model_dump(), active_count=int(arrays["summary.active_count"]),
        mean_when_active=_float(arrays["summary.mean_when_active"]),
        histogram=Histogram(counts=[int(v) for v in arrays["summary.histogram"].tolist()],
                            log10_edges=arrays["summary.histogram_edges"].tolist()),
        examples=_examples(folder, latent, meta["first_sequence"], texts, ablation),
        promoted=_lens(arrays, "promoted", texts), suppressed=_lens(arrays, "suppressed", texts),
        neighbours=related["neighbours"], correlations=related["correlations"],
        ablation_mean_delta_loss=mean_delta, interval_kind=_interval_kind(folder),
        label_evidence=evidence.details if evidence is not None else None)


def _interval_kind(folder: Any) -> str:
    import json

    return json.loads((folder / "features.json").read_text())["interval_kind"]
