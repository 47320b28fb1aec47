"""Features: who wrote a latent's label (model, prompt version) and its detection and fuzzing scores, and the
evidence of each LLM label (its answer and the per-context verdicts of both scores)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: a plain ADD COLUMN on SQLite and PostgreSQL, no copy of a 100k-row table.
    op.add_column("features", sa.Column("label_model", sa.String(255), nullable=True))
    op.add_column("features", sa.Column("label_prompt_version", sa.String(64), nullable=True))
    op.add_column("features", sa.Column("detection_score", sa.Float(), nullable=True))
    op.add_column("features", sa.Column("fuzzing_score", sa.Float(), nullable=True))
    op.create_table(
        "feature_label_evidence",
        sa.Column("analysis_id", sa.String(32), sa.ForeignKey("feature_analyses.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("latent", sa.Integer(), primary_key=True),
        sa.Column("details", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feature_label_evidence")
    with op.batch_alter_table("features") as table:
        for column in ("fuzzing_score", "detection_score", "label_prompt_version", "label_model"):
            table.drop_column(column)
