"""The audit store: SQLAlchemy 2 Core, SQLite by default, PostgreSQL in production.

Writes are idempotent on the decision id and the dead letter id, so a redelivered batch
never creates a second record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from hub.audit.records import AuditRecord, DeadLetterRecord

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


class AuditStore:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url)
        metadata.create_all(self.engine)

    def _insert_ignore(self, table: Table, rows: Sequence[dict[str, Any]]) -> int:
        if not rows:
            return 0
        if self.engine.dialect.name == "postgresql":
            stmt: Any = postgresql.insert(table).on_conflict_do_nothing()
        else:
            stmt = sqlite.insert(table).on_conflict_do_nothing()
        with self.engine.begin() as conn:
            result = conn.execute(stmt, list(rows))
        return int(result.rowcount or 0)

    def write_decisions(self, records: Iterable[AuditRecord]) -> int:
        rows = []
        for r in records:
            row = asdict(r)
            row["gateways"] = json.dumps(list(r.gateways))
            row["fields"] = json.dumps(r.fields, sort_keys=True)
            row["notes"] = json.dumps(list(r.notes))
            rows.append(row)
        return self._insert_ignore(decisions, rows)

    def write_dead_letters(self, records: Iterable[DeadLetterRecord]) -> int:
        return self._insert_ignore(dead_letters, [asdict(r) for r in records])

    def count_decisions(self, outcome: str | None = None) -> int:
        stmt = select(func.count()).select_from(decisions)
        if outcome is not None:
            stmt = stmt.where(decisions.c.outcome == outcome)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def count_dead_letters(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(dead_letters)).scalar_one())

    def decisions_for_event(self, event_id: str) -> list[dict[str, Any]]:
        stmt = select(decisions).where(decisions.c.event_id == event_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def all_decisions(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(decisions))]

    def all_dead_letters(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(dead_letters))]

    def close(self) -> None:
        self.engine.dispose()
