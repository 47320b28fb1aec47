"""SAE training: trainings, their metrics, and stored SAEs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mistudio.platform.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trainings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False, index=True),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("extraction_id", sa.String(32), nullable=True, index=True),
        sa.Column("dataset_id", sa.String(32), nullable=True),
        sa.Column("tokenization_id", sa.String(32), nullable=True),
        sa.Column("format", sa.String(8), nullable=True),
        sa.Column("hook_point", sa.String(64), nullable=False),
        sa.Column("target_hook_point", sa.String(64), nullable=True),
        sa.Column("d_in", sa.Integer(), nullable=False),
        sa.Column("d_out", sa.Integer(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("total_steps", sa.BigInteger(), nullable=False),
        sa.Column("steps_done", sa.BigInteger(), nullable=False),
        sa.Column("tokens_per_second", sa.Float(), nullable=True),
        sa.Column("latest_metrics", sa.JSON(), nullable=True),
        sa.Column("final_metrics", sa.JSON(), nullable=True),
        sa.Column("sae_ids", sa.JSON(), nullable=False),
        sa.Column("stop_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "training_metrics",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("training_id", sa.String(32), sa.ForeignKey("trainings.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("member", sa.Integer(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
    )
    op.create_table(
        "saes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("training_id", sa.String(32), nullable=True, index=True),
        sa.Column("model_id", sa.String(32), nullable=True, index=True),
        sa.Column("model_name", sa.String(255), nullable=True),
        sa.Column("hook_point", sa.String(64), nullable=True),
        sa.Column("target_hook_point", sa.String(64), nullable=True),
        sa.Column("architecture", sa.String(32), nullable=False),
        sa.Column("d_in", sa.Integer(), nullable=False),
        sa.Column("d_sae", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("saes")
    op.drop_table("training_metrics")
    op.drop_table("trainings")
