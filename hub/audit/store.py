"""The audit store: SQLAlchemy 2 Core, SQLite by default, PostgreSQL in production.

Writes are idempotent on the decision id and the dead letter id, so a redelivered batch
never creates a second record. Every record is appended to a hash chain, and each write
signs a checkpoint of the chain head (``hub audit verify`` checks both).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
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
    insert,
    select,
    update,
)

from hub.audit.chain import GENESIS, link, sign_checkpoint
from hub.audit.records import AuditRecord, DeadLetterRecord, shallow
from hub.identity.keys import SigningKey

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
}


class AuditStore:
    def __init__(self, url: str, signer: SigningKey | None = None) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url)
        self._signer = signer
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            if conn.execute(select(chain_head.c.id)).first() is None:
                conn.execute(insert(chain_head).values(id=1, seq=0, hash=GENESIS))

    def _append(self, kind: str, rows: Sequence[dict[str, Any]]) -> int:
        """Insert the records not yet stored and chain them, in one transaction."""
        if not rows:
            return 0
        table, key = KINDS[kind]
        with self.engine.begin() as conn:
            conn.execute(
                update(chain_head).where(chain_head.c.id == 1).values(seq=chain_head.c.seq)
            )
            seq, head = conn.execute(select(chain_head.c.seq, chain_head.c.hash)).one()
            ids = [r[key] for r in rows]
            stored = set(conn.execute(select(table.c[key]).where(table.c[key].in_(ids))).scalars())
            new: list[dict[str, Any]] = []
            links: list[dict[str, Any]] = []
            for row in rows:
                if row[key] in stored:
                    continue  # redelivered: already recorded (and chained) once
                stored.add(row[key])
                seq += 1
                digest = link(head, seq, kind, row[key], row)
                links.append(
                    {
                        "seq": seq,
                        "kind": kind,
                        "record_id": row[key],
                        "prev_hash": head,
                        "hash": digest,
                    }
                )
                head = digest
                new.append(row)
            if not new:
                return 0
            conn.execute(insert(table), new)
            conn.execute(insert(chain), links)
            conn.execute(update(chain_head).where(chain_head.c.id == 1).values(seq=seq, hash=head))
            if self._signer is not None:
                conn.execute(
                    insert(checkpoints).values(
                        seq=seq,
                        hash=head,
                        signed_at=datetime.now(UTC).isoformat(),
                        key_id=self._signer.key_id,
                        signature=sign_checkpoint(self._signer, seq, head),
                    )
                )
        return len(new)

    def write_decisions(self, records: Iterable[AuditRecord]) -> int:
        rows = []
        for r in records:
            row = shallow(r)
            row["gateways"] = json.dumps(list(r.gateways))
            row["fields"] = json.dumps(r.fields, sort_keys=True)
            row["notes"] = json.dumps(list(r.notes))
            rows.append(row)
        return self._append("decision", rows)

    def write_dead_letters(self, records: Iterable[DeadLetterRecord]) -> int:
        return self._append("dead_letter", [shallow(r) for r in records])

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
