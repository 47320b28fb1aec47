"""models and model variants

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mistudio.platform.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("repo_id", sa.String(255), nullable=True),
        sa.Column("revision", sa.String(255), nullable=True),
        sa.Column("commit_sha", sa.String(64), nullable=True),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.Column("storage_mode", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("model_type", sa.String(64), nullable=True),
        sa.Column("family", sa.String(64), nullable=True),
        sa.Column("parameter_count", sa.BigInteger(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=True),
        sa.Column("architecture", sa.JSON(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("download_bytes", sa.BigInteger(), nullable=True),
        sa.Column("license", sa.String(255), nullable=True),
        sa.Column("gated", sa.Boolean(), nullable=False),
        sa.Column("trust_remote_code", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_models_name", "models", ["name"])
    op.create_index("ix_models_repo_id", "models", ["repo_id"])
    op.create_index("ix_models_status", "models", ["status"])
    op.create_index("ix_models_family", "models", ["family"])
    op.create_index("ix_models_created_at", "models", ["created_at"])
    op.create_table(
        "model_variants",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("model_id", sa.String(32), sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
        sa.Column("requested_format", sa.String(8), nullable=False),
        sa.Column("format", sa.String(8), nullable=True),
        sa.Column("device", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("placement", sa.JSON(), nullable=True),
        sa.Column("estimate_bytes", sa.BigInteger(), nullable=True),
        sa.Column("footprint_bytes", sa.BigInteger(), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("sample_output", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("model_id", "requested_format", "device", name="uq_variant_format_device"),
    )
    op.create_index("ix_model_variants_model_id", "model_variants", ["model_id"])


def downgrade() -> None:
    op.drop_index("ix_model_variants_model_id", table_name="model_variants")
    op.drop_table("model_variants")
    for column in ("created_at", "family", "status", "repo_id", "name"):
        op.drop_index(f"ix_models_{column}", table_name="models")
    op.drop_table("models")
