"""audit store: decisions, dead letters, receipts, hash chain, checkpoints

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 11:53:28.765811
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=300), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "checkpoints",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.String(length=40), nullable=False),
        sa.Column("key_id", sa.String(length=200), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("dead_letter_id", sa.String(length=300), nullable=False),
        sa.Column("partner", sa.String(length=100), nullable=True),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(length=50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("processor_instance", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("dead_letter_id"),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dead_letters_partner"), ["partner"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("agreement_id", sa.String(length=100), nullable=True),
        sa.Column("agreement_version", sa.Integer(), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("gateways", sa.Text(), nullable=False),
        sa.Column("disclosure_id", sa.String(length=36), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.String(length=40), nullable=False),
        sa.Column("processor_instance", sa.String(length=100), nullable=False),
        sa.Column("source_topic", sa.String(length=249), nullable=False),
        sa.Column("source_partition", sa.Integer(), nullable=False),
        sa.Column("source_offset", sa.Integer(), nullable=False),
        sa.Column("output_topic", sa.String(length=249), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("decision_id"),
        sa.UniqueConstraint("disclosure_id"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decisions_agreement_id"), ["agreement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_decisions_decided_at"), ["decided_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_provider"), ["provider"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_recipient"), ["recipient"], unique=False)

    op.create_table(
        "receipts",
        sa.Column("receipt_id", sa.String(length=300), nullable=False),
        sa.Column("disclosure_id", sa.String(length=36), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("sink", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("receipt_id"),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipts_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_receipts_disclosure_id"), ["disclosure_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_receipts_recipient"), ["recipient"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_recipient"))
        batch_op.drop_index(batch_op.f("ix_receipts_disclosure_id"))
        batch_op.drop_index(batch_op.f("ix_receipts_at"))

    op.drop_table("receipts")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_recipient"))
        batch_op.drop_index(batch_op.f("ix_decisions_provider"))
        batch_op.drop_index(batch_op.f("ix_decisions_event_id"))
        batch_op.drop_index(batch_op.f("ix_decisions_decided_at"))
        batch_op.drop_index(batch_op.f("ix_decisions_agreement_id"))

    op.drop_table("decisions")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_partner"))

    op.drop_table("dead_letters")
    op.drop_table("checkpoints")
    op.drop_table("chain_head")
    op.drop_table("chain")
