"""one lifecycle: one status vocabulary, `message` and `progress` on every tracked row, jobs' reads and writes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Every old status string is mapped onto queued / running / completed / failed / cancelled / interrupted; a model's
"incompatible" becomes `completed` with its reason in `incompatible_reason`; `status_message` is renamed `message`.
Jobs get the resources they read and write, worked out from their params as the code did before. Rows left active
by a job that ended otherwise are settled from it. Nothing stored is dropped.

Columns are renamed and added in place (ALTER TABLE), never by rebuilding a table: on SQLite a rebuild drops the
old `models` table, and with foreign keys on that cascades into `model_variants`.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TRACKED = ("models", "model_variants", "datasets", "tokenizations", "extractions")
RENAMED = ("models", "datasets")  # their `status_message` becomes `message`
# old status → new, per table; statuses not named keep their value (queued, running, cancelled, interrupted)
STATUS_MAP: dict[str, dict[str, str]] = {
    "jobs": {"succeeded": "completed"},
    "models": {"downloading": "running", "importing": "running", "ready": "completed", "incompatible": "completed",
               "error": "failed"},
    "model_variants": {"loading": "running", "ready": "completed", "error": "failed"},
    "datasets": {"downloading": "running", "importing": "running", "ready": "completed", "error": "failed"},
    "tokenizations": {"ready": "completed", "error": "failed"},
    "extractions": {"error": "failed"},
}
RESOURCE_OF = {"models": "model", "model_variants": "model_variant", "datasets": "dataset",
               "tokenizations": "tokenization", "extractions": "extraction"}


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("jobs", sa.Column("reads", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column("jobs", sa.Column("writes", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    for table in RENAMED:
        op.execute(f"ALTER TABLE {table} RENAME COLUMN status_message TO message")
    for table in TRACKED:
        op.add_column(table, sa.Column("progress", sa.Float(), nullable=False, server_default=sa.text("0")))
    op.add_column("models", sa.Column("incompatible_reason", sa.Text(), nullable=True))
    op.create_index("ix_model_variants_status", "model_variants", ["status"])

    # The reason a model was incompatible moves to its own column before the status loses the word.
    bind.execute(sa.text("UPDATE models SET incompatible_reason = message, message = NULL "
                         "WHERE status = 'incompatible'"))
    for table, mapping in STATUS_MAP.items():
        for old, new in mapping.items():
            bind.execute(sa.text(f"UPDATE {table} SET status = :new WHERE status = :old"), {"old": old, "new": new})
    for table in TRACKED:
        bind.execute(sa.text(f"UPDATE {table} SET progress = 1 WHERE status = 'completed'"))
    bind.execute(sa.text("UPDATE extractions SET progress = CAST(samples_done AS FLOAT) / num_samples "
                         "WHERE status <> 'completed' AND num_samples > 0"))
    _declare_job_resources(bind)
    _settle_rows_of_ended_jobs(bind)


# Typed parameters, so each backend stores the lists as its own JSON (a CAST would not: SQLite has no JSON type).
_SET_RESOURCES = sa.text("UPDATE jobs SET reads = :reads, writes = :writes WHERE id = :id").bindparams(
    sa.bindparam("reads", type_=sa.JSON()), sa.bindparam("writes", type_=sa.JSON()))


def _declare_job_resources(bind: sa.Connection) -> None:
    """What each job read and wrote, from its params: the names the "in use" checks used to look for."""
    model_of_tokenization = dict(bind.execute(sa.text("SELECT id, model_id FROM tokenizations")).all())
    for job_id, kind, params in bind.execute(sa.text("SELECT id, kind, params FROM jobs")).all():
        reads, writes = _resources(kind, _json(params) or {}, model_of_tokenization)
        bind.execute(_SET_RESOURCES, {"reads": reads, "writes": writes, "id": job_id})


def _resources(kind: str, params: dict[str, Any], model_of_tokenization: dict[str, str]) -> tuple[list, list]:
    def ref(resource: str, key: str) -> list[dict[str, str]]:
        return [{"type": resource, "id": params[key]}] if params.get(key) else []

    if kind in ("models.download", "models.import", "models.convert_gguf"):
        return [], ref("model", "model_id")
    if kind == "models.quantize":
        return ref("model", "model_id"), ref("model_variant", "variant_id")
    if kind in ("datasets.download", "datasets.import"):
        return [], ref("dataset", "dataset_id")
    if kind == "datasets.tokenize":
        tokenizer = model_of_tokenization.get(params.get("tokenization_id") or "")
        reads = ref("dataset", "dataset_id") + ([{"type": "model", "id": tokenizer}] if tokenizer else [])
        return reads, ref("tokenization", "tokenization_id")
    if kind == "extraction.extract":
        return (ref("model", "model_id") + ref("dataset", "dataset_id") + ref("tokenization", "tokenization_id"),
                ref("extraction", "extraction_id"))
    return [], []


def _settle_rows_of_ended_jobs(bind: sa.Connection) -> None:
    """Rows still queued or running whose job failed, was cancelled or interrupted take its ending (the reconcile
    the services did on every read until now)."""
    for table in TRACKED:
        stale = bind.execute(sa.text(
            f"SELECT t.id, j.status, COALESCE(j.error, j.message) FROM {table} t JOIN jobs j ON j.id = t.job_id "
            "WHERE t.status IN ('queued', 'running') AND j.status IN ('failed', 'cancelled', 'interrupted')"
        )).all()
        for row_id, status, message in stale:
            bind.execute(sa.text(f"UPDATE {table} SET status = :status, message = :message WHERE id = :id"),
                         {"status": status, "message": message, "id": row_id})


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def downgrade() -> None:
    bind = op.get_bind()
    # Where a new status stood for several old ones, the row's own fields say which it was.
    bind.execute(sa.text("UPDATE models SET status = 'incompatible', message = incompatible_reason "
                         "WHERE status = 'completed' AND incompatible_reason IS NOT NULL"))
    bind.execute(sa.text("UPDATE models SET status = CASE WHEN source = 'hub' THEN 'downloading' ELSE 'importing' END "
                         "WHERE status = 'running'"))
    bind.execute(sa.text("UPDATE datasets SET status = CASE WHEN source = 'hub' THEN 'downloading' ELSE 'importing' "
                         "END WHERE status = 'running'"))
    for table, mapping in STATUS_MAP.items():
        for old, new in mapping.items():
            if old in ("downloading", "importing", "incompatible"):
                continue
            bind.execute(sa.text(f"UPDATE {table} SET status = :old WHERE status = :new"), {"old": old, "new": new})
    op.drop_index("ix_model_variants_status", table_name="model_variants")
    op.execute("ALTER TABLE models DROP COLUMN incompatible_reason")
    for table in TRACKED:
        op.execute(f"ALTER TABLE {table} DROP COLUMN progress")
    for table in RENAMED:
        op.execute(f"ALTER TABLE {table} RENAME COLUMN message TO status_message")
    op.execute("ALTER TABLE jobs DROP COLUMN writes")
    op.execute("ALTER TABLE jobs DROP COLUMN reads")
