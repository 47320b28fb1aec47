"""Features: analyses of SAEs, their latents, and the token index of the latents

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mistudio.platform.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_analyses",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("sae_id", sa.String(32), nullable=False, index=True),
        sa.Column("sae_name", sa.String(255), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False, index=True),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("device", sa.String(16), nullable=False),
        sa.Column("dataset_id", sa.String(32), nullable=False),
        sa.Column("tokenization_id", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("first_sequence", sa.BigInteger(), nullable=False),
        sa.Column("num_sequences", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("phase", sa.String(16), nullable=True),
        sa.Column("sequences_done", sa.BigInteger(), nullable=False),
        sa.Column("tokens_per_second", sa.Float(), nullable=True),
        sa.Column("tokens", sa.BigInteger(), nullable=True),
        sa.Column("dead_count", sa.Integer(), nullable=True),
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
        "features",
        sa.Column("analysis_id", sa.String(32), sa.ForeignKey("feature_analyses.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("latent", sa.Integer(), primary_key=True),
        sa.Column("frequency", sa.Float(), nullable=False),
        sa.Column("max_activation", sa.Float(), nullable=False),
        sa.Column("mean_activation", sa.Float(), nullable=False),
        sa.Column("dead", sa.Boolean(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("label_kind", sa.String(16), nullable=True),
        sa.Column("label_score", sa.Float(), nullable=True),
        sa.Column("favourite", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("notes", sa.Text(), nullable=True),
    )
    op.create_index("ix_features_frequency", "features", ["analysis_id", "frequency"])
    op.create_index("ix_features_max_activation", "features", ["analysis_id", "max_activation"])
    op.create_index("ix_features_label_score", "features", ["analysis_id", "label_score"])
    op.create_index("ix_features_favourite", "features", ["analysis_id", "favourite"])
    op.create_table(
        "feature_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("analysis_id", sa.String(32), sa.ForeignKey("feature_analyses.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("latent", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
    )
    op.create_index("ix_feature_tokens_lookup", "feature_tokens", ["analysis_id", "token", "latent"])


def downgrade() -> None:
    op.drop_table("feature_tokens")
    op.drop_table("features")
    op.drop_table("feature_analyses")
