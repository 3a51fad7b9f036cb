"""console: accounts, sessions, consultations (s62) and agreement actions

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("partner", sa.String(length=100), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("expires_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    op.create_index("ix_console_sessions_user_id", "console_sessions", ["user_id"])
    op.create_table(
        "consultations",
        sa.Column("consultation_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("partner", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("consultation_id"),
    )
    op.create_index("ix_consultations_at", "consultations", ["at"])
    op.create_index("ix_consultations_user_name", "consultations", ["user_name"])
    op.create_table(
        "agreement_actions",
        sa.Column("action_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("partner", sa.String(length=100), nullable=True),
        sa.Column("agreement_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("file", sa.String(length=300), nullable=False),
        sa.Column("result_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("action_id"),
    )
    op.create_index("ix_agreement_actions_at", "agreement_actions", ["at"])
    op.create_index("ix_agreement_actions_agreement_id", "agreement_actions", ["agreement_id"])


def downgrade() -> None:
    op.drop_table("agreement_actions")
    op.drop_table("consultations")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
