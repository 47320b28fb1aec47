"""Migration 0006 (one lifecycle) on a database written by 0005: every old status is mapped, nothing is lost."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, BigInteger, Boolean, Engine, Float, Integer, MetaData, select
from sqlalchemy.engine import Connection

from mistudio.config import Settings
from mistudio.platform.db import alembic_config, make_engine, upgrade_database

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _filler(column: Any) -> Any:
    """A value for a NOT NULL column the test does not care about."""
    kind = type(column.type)
    if issubclass(kind, JSON):
        return []
    if issubclass(kind, Boolean):
        return False
    if issubclass(kind, (Integer, BigInteger)):
        return 0
    if issubclass(kind, Float):
        return 0.0
    if "time" in column.name or column.name.endswith("_at"):
        return NOW
    return "x"


def insert(connection: Connection, metadata: MetaData, table: str, **values: Any) -> None:
    target = metadata.tables[table]
    row = {c.name: _filler(c) for c in target.columns if not c.nullable and c.name not in values}
    connection.execute(target.insert().values(**row, **values))


def old_database(engine: Engine) -> None:
    """A studio at revision 0005 with one row per old status that needs mapping, and the jobs behind them."""
    upgrade_database(engine, "0005")
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.begin() as c:
        def job(job_id: str, kind: str, status: str, params: dict[str, Any], **extra: Any) -> None:
            insert(c, metadata, "jobs", id=job_id, kind=kind, status=status, params=params, **extra)

        def model(model_id: str, status: str, **extra: Any) -> None:
            insert(c, metadata, "models", **{"id": model_id, "name": model_id, "source": "hub", "status": status,
                                             **extra})

        job("j-done", "models.download", "succeeded", {"model_id": "m-ready", "repo_id": "o/r"})
        job("j-died", "models.download", "interrupted", {"model_id": "m-stale"}, message="interrupted: restart")
        job("j-q", "models.quantize", "running", {"model_id": "m-ready", "variant_id": "v-loading"})
        job("j-tok", "datasets.tokenize", "queued", {"dataset_id": "d-ready", "tokenization_id": "t-running"})
        job("j-ext", "extraction.extract", "failed", {"extraction_id": "e-error", "model_id": "m-ready",
                                                      "dataset_id": "d-ready", "tokenization_id": "t-running"},
            error="CUDA out of memory")
        model("m-ready", "ready", job_id="j-done")
        model("m-incompatible", "incompatible", status_message="not a causal LM (BertModel)")
        model("m-error", "error", status_message="sha256 mismatch in model.safetensors")
        model("m-importing", "importing", source="folder")
        model("m-stale", "downloading", job_id="j-died")  # its job ended, the row never heard
        insert(c, metadata, "model_variants", id="v-loading", model_id="m-ready", requested_format="q8", device="cpu",
               status="loading", job_id="j-q", steps=["loading q8"])
        insert(c, metadata, "model_variants", id="v-ready", model_id="m-ready", requested_format="fp32",
               device="cpu", status="ready", message="q4 did not fit; loaded as fp32")
        insert(c, metadata, "datasets", id="d-ready", name="d", source="hub", status="ready", splits={"train": 3})
        insert(c, metadata, "datasets", id="d-downloading", name="d2", source="hub", status="downloading")
        insert(c, metadata, "datasets", id="d-error", name="d3", source="import", status="error",
               status_message="no text column")
        insert(c, metadata, "tokenizations", id="t-running", dataset_id="d-ready", model_id="m-ready",
               tokenizer_name="m", split="train", settings={}, status="running", job_id="j-tok")
        insert(c, metadata, "tokenizations", id="t-ready", dataset_id="d-ready", model_id="m-ready",
               tokenizer_name="m", split="train", settings={"packing": True}, status="ready")
        insert(c, metadata, "extractions", id="e-error", name="e", model_id="m-ready", model_name="m",
               format="fp32", device="cpu", dataset_id="d-ready", dataset_name="d", tokenization_id="t-running",
               layers=[0], hook_types=["resid_post"], hook_points=["blocks.0.resid_post"], num_samples=8,
               batch_size=4, dtype="fp32", status="error", message="CUDA out of memory", samples_done=4,
               job_id="j-ext", oom_retries=[])


def rows(engine: Engine, table: str, *columns: str) -> dict[str, tuple[Any, ...]]:
    metadata = MetaData()
    metadata.reflect(engine, only=[table])
    target = metadata.tables[table]
    with engine.connect() as c:
        return {row[0]: tuple(row[1:]) for row in c.execute(select(target.c.id, *(target.c[n] for n in columns)))}


def check_upgrade_maps_every_old_row(engine: Engine) -> None:
    old_database(engine)
    upgrade_database(engine)

    models = rows(engine, "models", "status", "message", "incompatible_reason", "progress")
    assert models["m-ready"] == ("completed", None, None, 1.0)
    assert models["m-incompatible"] == ("completed", None, "not a causal LM (BertModel)", 1.0)
    assert models["m-error"] == ("failed", "sha256 mismatch in model.safetensors", None, 0.0)
    assert models["m-importing"][0] == "running"
    assert models["m-stale"][:2] == ("interrupted", "interrupted: restart")  # settled from its job

    variants = rows(engine, "model_variants", "status", "message", "steps")
    assert variants["v-loading"] == ("running", None, ["loading q8"])
    assert variants["v-ready"] == ("completed", "q4 did not fit; loaded as fp32", [])  # a variant of a kept model

    datasets = rows(engine, "datasets", "status", "message", "splits")
    assert datasets == {"d-ready": ("completed", None, {"train": 3}), "d-downloading": ("running", None, []),
                        "d-error": ("failed", "no text column", [])}
    tokenizations = rows(engine, "tokenizations", "status", "settings")
    assert tokenizations == {"t-running": ("running", {}), "t-ready": ("completed", {"packing": True})}
    extractions = rows(engine, "extractions", "status", "message", "progress", "samples_done")
    assert extractions["e-error"] == ("failed", "CUDA out of memory", 0.5, 4)

    jobs = rows(engine, "jobs", "status", "reads", "writes")
    assert jobs["j-done"] == ("completed", [], [{"type": "model", "id": "m-ready"}])
    assert jobs["j-q"][1:] == ([{"type": "model", "id": "m-ready"}], [{"type": "model_variant", "id": "v-loading"}])
    # The tokenizer's model is read too: the old params never named it, the tokenization row does.
    assert jobs["j-tok"][1:] == ([{"type": "dataset", "id": "d-ready"}, {"type": "model", "id": "m-ready"}],
                                 [{"type": "tokenization", "id": "t-running"}])
    assert jobs["j-ext"][1] == [{"type": "model", "id": "m-ready"}, {"type": "dataset", "id": "d-ready"},
                                {"type": "tokenization", "id": "t-running"}]


def check_downgrade_restores_the_old_vocabulary(engine: Engine) -> None:
    command.downgrade(alembic_config(engine), "0005")
    metadata = MetaData()
    metadata.reflect(engine)
    models = rows(engine, "models", "status", "status_message")
    assert models["m-incompatible"] == ("incompatible", "not a causal LM (BertModel)")
    assert models["m-importing"][0] == "importing" and models["m-ready"][0] == "ready"
    assert rows(engine, "datasets", "status")["d-downloading"] == ("downloading",)
    assert rows(engine, "jobs", "status")["j-done"] == ("succeeded",)
    assert "progress" not in metadata.tables["models"].columns


def test_upgrade_to_one_lifecycle_maps_old_rows_on_sqlite(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        check_upgrade_maps_every_old_row(engine)
        check_downgrade_restores_the_old_vocabulary(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_upgrade_to_one_lifecycle_maps_old_rows_on_postgresql(settings: Settings, postgres_url: str) -> None:
    engine = make_engine(settings.model_copy(update={"database_url": postgres_url}))
    try:
        check_upgrade_maps_every_old_row(engine)
        check_downgrade_restores_the_old_vocabulary(engine)
    finally:
        engine.dispose()
