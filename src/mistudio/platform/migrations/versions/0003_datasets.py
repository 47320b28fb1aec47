"""datasets and their tokenizations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mistudio.platform.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("repo_id", sa.String(255), nullable=True),
        sa.Column("config", sa.String(255), nullable=True),
        sa.Column("split", sa.String(64), nullable=True),
        sa.Column("revision", sa.String(255), nullable=True),
        sa.Column("commit_sha", sa.String(64), nullable=True),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.Column("source_format", sa.String(16), nullable=True),
        sa.Column("text_column", sa.String(255), nullable=True),
        sa.Column("txt_mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("splits", sa.JSON(), nullable=False),
        sa.Column("num_rows", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("download_bytes", sa.BigInteger(), nullable=True),
        sa.Column("license", sa.String(255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    for column in ("name", "repo_id", "status", "created_at"):
        op.create_index(f"ix_datasets_{column}", "datasets", [column])
    op.create_table(
        "tokenizations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("dataset_id", sa.String(32), sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("tokenizer_name", sa.String(255), nullable=False),
        sa.Column("split", sa.String(64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("num_sequences", sa.BigInteger(), nullable=True),
        sa.Column("num_tokens", sa.BigInteger(), nullable=True),
        sa.Column("vocab_size", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("statistics", sa.JSON(), nullable=True),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    for column in ("dataset_id", "model_id", "status"):
        op.create_index(f"ix_tokenizations_{column}", "tokenizations", [column])


def downgrade() -> None:
    for column in ("dataset_id", "model_id", "status"):
        op.drop_index(f"ix_tokenizations_{column}", table_name="tokenizations")
    op.drop_table("tokenizations")
    for column in ("name", "repo_id", "status", "created_at"):
        op.drop_index(f"ix_datasets_{column}", table_name="datasets")
    op.drop_table("datasets")
