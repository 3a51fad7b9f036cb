"""The audit store: SQLAlchemy 2 Core, SQLite by default, PostgreSQL in production.

Writes are idempotent on the decision id and the dead letter id, so a redelivered batch
never creates a second record. Every record is appended to a hash chain, and each write
signs a checkpoint of the chain head (``hub audit verify`` checks both).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from hub.audit.chain import GENESIS, link, sign_checkpoint
from hub.audit.migrate import upgrade
from hub.audit.records import AuditRecord, DeadLetterRecord, ReceiptRecord, shallow
from hub.audit.tables import (
    KINDS,
    chain,
    chain_head,
    checkpoints,
    dead_letters,
    decision_subjects,
    decisions,
    receipts,
)
from hub.identity.keys import SigningKey


class AuditStore:
    def __init__(self, url: str, signer: SigningKey | None = None) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url)
        self._signer = signer
        upgrade(self.engine)
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(chain_head.c.id)).first() is None:
                    conn.execute(insert(chain_head).values(id=1, seq=0, hash=GENESIS))
        except IntegrityError:
            pass  # another service opening the same store seeded the head first

    def _append(
        self,
        kind: str,
        rows: Sequence[dict[str, Any]],
        also: Callable[[Connection, Sequence[dict[str, Any]]], None] | None = None,
    ) -> int:
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
            if also is not None:
                also(conn, new)
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
            row["subjects"] = json.dumps(list(r.subjects))
            rows.append(row)
        return self._append("decision", rows, self._index_subjects)

    @staticmethod
    def _index_subjects(conn: Connection, new: Sequence[dict[str, Any]]) -> None:
        index = [
            {"token": t, "decision_id": row["decision_id"]}
            for row in new
            for t in json.loads(row["subjects"])
        ]
        if index:
            conn.execute(insert(decision_subjects), index)

    def append(self, kind: str, rows: Sequence[dict[str, Any]]) -> int:
        """Chain records of any kind in ``KINDS`` (e.g. the console's consultations and
        agreement actions); idempotent on the kind's id column."""
        if kind not in KINDS:
            raise ValueError(f"unknown audit record kind {kind!r}")
        return self._append(kind, rows)

    def write_dead_letters(self, records: Iterable[DeadLetterRecord]) -> int:
        return self._append("dead_letter", [shallow(r) for r in records])

    def write_receipts(self, records: Iterable[ReceiptRecord]) -> int:
        return self._append("receipt", [shallow(r) for r in records])

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

    def all_receipts(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(receipts))]

    def close(self) -> None:
        self.engine.dispose()
