"""decisions.subjects and the decision_subjects index, for subject access requests

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("subjects", sa.Text(), nullable=False, server_default="[]"))
    op.create_table(
        "decision_subjects",
        sa.Column("token", sa.String(length=120), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("token", "decision_id"),
    )


def downgrade() -> None:
    op.drop_table("decision_subjects")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("subjects")
