"""extractions (activation extraction runs)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mistudio.platform.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEXED = ("model_id", "dataset_id", "tokenization_id", "status", "created_at")


def upgrade() -> None:
    op.create_table(
        "extractions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("device", sa.String(16), nullable=False),
        sa.Column("dataset_id", sa.String(32), nullable=False),
        sa.Column("dataset_name", sa.String(255), nullable=False),
        sa.Column("tokenization_id", sa.String(32), nullable=False),
        sa.Column("layers", sa.JSON(), nullable=False),
        sa.Column("hook_types", sa.JSON(), nullable=False),
        sa.Column("hook_points", sa.JSON(), nullable=False),
        sa.Column("max_samples", sa.BigInteger(), nullable=True),
        sa.Column("num_samples", sa.BigInteger(), nullable=False),
        sa.Column("seq_len", sa.Integer(), nullable=True),
        sa.Column("d_model", sa.Integer(), nullable=True),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("final_batch_size", sa.Integer(), nullable=True),
        sa.Column("dtype", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("samples_done", sa.BigInteger(), nullable=False),
        sa.Column("samples_per_second", sa.Float(), nullable=True),
        sa.Column("tokens_per_second", sa.Float(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("estimate_bytes", sa.BigInteger(), nullable=True),
        sa.Column("oom_retries", sa.JSON(), nullable=False),
        sa.Column("statistics", sa.JSON(), nullable=True),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )
    for column in _INDEXED:
        op.create_index(f"ix_extractions_{column}", "extractions", [column])


def downgrade() -> None:
    for column in _INDEXED:
        op.drop_index(f"ix_extractions_{column}", table_name="extractions")
    op.drop_table("extractions")
