"""event time: decisions.occurred_at

When the decided event happened (its field tagged ``event-time``), so a subject report and
the console say when something happened as well as when the hub decided it. Null on
decisions stored before this migration; the chain hashes such rows without the column.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("occurred_at", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("occurred_at")
