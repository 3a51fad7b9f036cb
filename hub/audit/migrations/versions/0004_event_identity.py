"""event identity: decisions.content_digest and revision, decision_conflicts (chained)

A decision's identity includes the provider and a digest of the event's content (or, later,
an explicit revision): an event id reused with other content is a different decision, and a
record whose id matches a stored decision but whose content differs is kept as a conflict,
never dropped as a redelivery.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("content_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=True))
    op.create_index("ix_decisions_provider_event", "decisions", ["provider", "event_id"])
    op.create_table(
        "decision_conflicts",
        sa.Column("conflict_id", sa.String(length=300), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("differs", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("conflict_id"),
    )
    op.create_index("ix_decision_conflicts_decision_id", "decision_conflicts", ["decision_id"])
    op.create_index("ix_decision_conflicts_event_id", "decision_conflicts", ["event_id"])


def downgrade() -> None:
    op.drop_table("decision_conflicts")
    op.drop_index("ix_decisions_provider_event", table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("revision")
        batch.drop_column("content_digest")
