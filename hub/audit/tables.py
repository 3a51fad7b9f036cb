"""The audit store's tables (SQLAlchemy Core). The schema itself is created and changed only
by the Alembic migrations in ``hub/audit/migrations``; these definitions must match them
(``tests/audit/test_migrations.py`` compares the two)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("event_id", String(64), nullable=False, index=True),
    Column("event_type", String(100), nullable=False),
    Column("provider", String(100), nullable=False, index=True),
    Column("recipient", String(100), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("agreement_id", String(100), index=True),
    Column("agreement_version", Integer),
    Column("legal_basis", Text),
    Column("gateways", Text, nullable=False),
    Column("disclosure_id", String(36), unique=True),
    Column("fields", Text, nullable=False),
    Column("decided_at", String(40), nullable=False, index=True),
    Column("processor_instance", String(100), nullable=False),
    Column("source_topic", String(249), nullable=False),
    Column("source_partition", Integer, nullable=False),
    Column("source_offset", Integer, nullable=False),
    Column("output_topic", String(249)),
    Column("notes", Text, nullable=False, default="[]"),
    Column("trace_id", String(32)),
    Column("subjects", Text, nullable=False, default="[]"),
    # What was decided about: the canonical digest of the decoded event (migration 0004),
    # and the partner's declared revision when there is one (issue 18). Null on decisions
    # stored before 0004; the chain hashes such rows without these columns.
    Column("content_digest", String(64)),
    Column("revision", Integer),
    # When the event happened (migration 0006); null before it, or without an event time.
    Column("occurred_at", String(40)),
    Index("ix_decisions_provider_event", "provider", "event_id"),
)

# A record whose decision id matched a stored decision but whose content differed: kept,
# chained and shown (``hub audit verify``, ``hub audit conflicts``), never dropped as if it
# were a redelivery. ``differs`` names the fields, ``record`` is the whole record as JSON.
decision_conflicts = Table(
    "decision_conflicts",
    metadata,
    Column("conflict_id", String(300), primary_key=True),
    Column("decision_id", String(36), nullable=False, index=True),
    Column("event_id", String(64), nullable=False, index=True),
    Column("provider", String(100), nullable=False),
    Column("recipient", String(100), nullable=False),
    Column("differs", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("at", String(40), nullable=False),
)

# Index of decisions by subject token (the tokens are also in decisions.subjects, which the
# hash chain covers; this table only makes the lookup fast).
decision_subjects = Table(
    "decision_subjects",
    metadata,
    Column("token", String(120), primary_key=True),
    Column("decision_id", String(36), primary_key=True),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("dead_letter_id", String(300), primary_key=True),
    Column("partner", String(100), index=True),
    Column("topic", String(249), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", Integer, nullable=False),
    Column("reason_code", String(50), nullable=False),
    Column("reason", Text, nullable=False),
    Column("fix", Text, nullable=False),
    Column("at", String(40), nullable=False),
    Column("processor_instance", String(100), nullable=False),
)

# Delivery receipts from recipient sinks (``hub.receipts.v1``): "received by the MASH case
# system at 10:32", or failed with the reason. One per (disclosure, attempt outcome).
receipts = Table(
    "receipts",
    metadata,
    Column("receipt_id", String(300), primary_key=True),
    Column("disclosure_id", String(36), nullable=False, index=True),
    Column("recipient", String(100), nullable=False, index=True),
    Column("sink", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # delivered | failed
    Column("at", String(40), nullable=False, index=True),
    Column("reason", Text),
)

chain = Table(
    "chain",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("record_id", String(300), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the chain's head. Updating it first serialises concurrent writers (a row lock in
# PostgreSQL, the write lock in SQLite), so links are computed in one order.
chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("signed_at", String(40), nullable=False),
    Column("key_id", String(200), nullable=False),
    Column("signature", Text, nullable=False),
)

KINDS: dict[str, tuple[Table, str]] = {
    "decision": (decisions, "decision_id"),
    "dead_letter": (dead_letters, "dead_letter_id"),
    "receipt": (receipts, "receipt_id"),
    "conflict": (decision_conflicts, "conflict_id"),
}

# -- console (issue 7): accounts, sessions, consultations, agreement actions ----------------

# Local console accounts (argon2id hashes). Mutable state, so not chained.
console_users = Table(
    "console_users",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(32), nullable=False),  # ig-officer | partner-admin | auditor
    Column("partner", String(100)),  # the organisation of a partner admin
    Column("password_hash", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

# Server-side sessions: the cookie holds a random id, the table only its SHA-256, so a copy
# of the database cannot be replayed as a login; logout deletes the row.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
)

# DPA 2018 s62 "consultation": every view of personal data (a decision, a subject report, a
# CSV or API read of decisions) with who, when and what - ids and tokens, never the
# identifiers typed. Chained like disclosures, so the log of looks is tamper-evident too.
consultations = Table(
    "consultations",
    metadata,
    Column("consultation_id", String(36), primary_key=True),
    Column("at", String(40), nullable=False, index=True),
    Column("user_name", String(100), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("partner", String(100)),
    Column("action", String(50), nullable=False),
    Column("target", Text, nullable=False),  # JSON: decision ids, subject tokens, filters
    Column("results", Integer, nullable=False),
)

# Approve / sign-off / suspend actions taken in the console, with the agreement file they
# wrote (the processor's hot reload applies the file; this row says who did it and why).
agreement_actions = Table(
    "agreement_actions",
    metadata,
    Column("action_id", String(36), primary_key=True),
    Column("at", String(40), nullable=False, index=True),
    Column("user_name", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("partner", String(100)),
    Column("agreement_id", String(100), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("action", String(32), nullable=False),  # approve | sign-off | suspend
    Column("reason", Text, nullable=False),
    Column("file", String(300), nullable=False),
    Column("result_version", Integer, nullable=False),
)

KINDS["consultation"] = (consultations, "consultation_id")
KINDS["agreement_action"] = (agreement_actions, "action_id")

# Failed console sign-ins, per account name and per client address (migration 0005): in the
# database so every console process shares the lockout count (hub/console/lockout.py).
# Not chained: a count of guesses, swept as it ages, not a record of processing.
console_login_failures = Table(
    "console_login_failures",
    metadata,
    Column("failure_id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),  # "account:<name>" | "address:<ip or /64>"
    Column("at", String(40), nullable=False),
    Index("ix_console_login_failures_key_at", "key", "at"),
)
