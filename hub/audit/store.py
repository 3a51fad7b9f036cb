"""The audit store: SQLAlchemy 2 Core, SQLite by default, PostgreSQL in production.

Writes are idempotent on the decision id and the dead letter id, so a redelivered batch
never creates a second record. Every record is appended to a hash chain, and each write
signs a checkpoint of the chain head (``hub audit verify`` checks both).
"""

from __future__ import annotations

import hashlib
import json
import logging
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

from hub.audit.chain import GENESIS, canonical, link, sign_checkpoint
from hub.audit.migrate import upgrade
from hub.audit.records import MATERIAL, AuditRecord, DeadLetterRecord, ReceiptRecord, shallow
from hub.audit.sqlite import shared_sqlite
from hub.audit.tables import (
    KINDS,
    chain,
    chain_head,
    checkpoints,
    dead_letters,
    decision_conflicts,
    decision_subjects,
    decisions,
    receipts,
)
from hub.identity.keys import SigningKey

log = logging.getLogger("hub.audit.store")


def _decision_differs(stored: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """The material fields (records.MATERIAL) in which ``row`` says something else than the
    stored decision with its id; [] for a redelivery."""
    out = []
    for name in MATERIAL:
        a, b = stored.get(name), row.get(name)
        if name == "fields":  # stored as JSON text; compare what it says
            a = json.loads(a) if isinstance(a, str) else a
            b = json.loads(b) if isinstance(b, str) else b
        if a != b:
            out.append(name)
    return out


def _conflict_row(row: dict[str, Any], differs: list[str]) -> dict[str, Any]:
    body = canonical(row)
    return {
        # Same conflicting record again (redelivered): same id, stored once.
        "conflict_id": f"{row['decision_id']}:{hashlib.sha256(body).hexdigest()[:32]}",
        "decision_id": row["decision_id"],
        "event_id": row["event_id"],
        "provider": row["provider"],
        "recipient": row["recipient"],
        "differs": json.dumps(differs),
        "record": body.decode(),
        "at": datetime.now(UTC).isoformat(),
    }


def _link_all(
    links: list[dict[str, Any]],
    seq: int,
    head: str,
    kind: str,
    key: str,
    rows: Sequence[dict[str, Any]],
) -> tuple[int, str]:
    """Append chain links for ``rows`` after (seq, head); the new (seq, head)."""
    for row in rows:
        seq += 1
        digest = link(head, seq, kind, row[key], row)
        links.append(
            {"seq": seq, "kind": kind, "record_id": row[key], "prev_hash": head, "hash": digest}
        )
        head = digest
    return seq, head


class AuditStore:
    def __init__(self, url: str, signer: SigningKey | None = None) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        # WAL and a busy timeout: readers never stall the ingester (hub/audit/sqlite.py).
        self.engine: Engine = shared_sqlite(create_engine(url))
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
        differs: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None,
    ) -> int:
        """Insert the records not yet stored and chain them, in one transaction. With
        ``differs``, a record whose id is stored but whose content differs is chained as a
        conflict (``decision_conflicts``) instead of being dropped as a redelivery."""
        if not rows:
            return 0
        table, key = KINDS[kind]
        with self.engine.begin() as conn:
            conn.execute(
                update(chain_head).where(chain_head.c.id == 1).values(seq=chain_head.c.seq)
            )
            seq, head = conn.execute(select(chain_head.c.seq, chain_head.c.hash)).one()
            ids = list({r[key] for r in rows})
            stored = self._stored(conn, table, key, ids, whole=differs is not None)
            new: list[dict[str, Any]] = []
            conflicts: list[dict[str, Any]] = []
            for row in rows:
                known = stored.get(row[key])
                if known is None:
                    stored[row[key]] = row
                    new.append(row)
                elif differs is not None and (fields := differs(known, row)):
                    conflicts.append(_conflict_row(row, fields))
                # else: redelivered, already recorded (and chained) once
            conflicts = self._unseen_conflicts(conn, conflicts)
            if not new and not conflicts:
                return 0
            links: list[dict[str, Any]] = []
            seq, head = _link_all(links, seq, head, kind, key, new)
            seq, head = _link_all(links, seq, head, "conflict", "conflict_id", conflicts)
            if new:
                conn.execute(insert(table), new)
                if also is not None:
                    also(conn, new)
            if conflicts:
                conn.execute(insert(decision_conflicts), conflicts)
            conn.execute(insert(chain), links)
            conn.execute(update(chain_head).where(chain_head.c.id == 1).values(seq=seq, hash=head))
            self._checkpoint(conn, seq, head)
        if conflicts:
            log.warning(
                "audit: %d record(s) reuse a stored decision id with other content; kept as "
                "conflicts (hub audit conflicts)",
                len(conflicts),
            )
        return len(new) + len(conflicts)

    def _checkpoint(self, conn: Connection, seq: int, head: str) -> None:
        """Sign the new head with the audit key (``hub audit verify`` checks it)."""
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

    @staticmethod
    def _stored(
        conn: Connection, table: Any, key: str, ids: list[Any], *, whole: bool
    ) -> dict[Any, dict[str, Any]]:
        """The stored records among ``ids`` (only their ids unless ``whole``)."""
        out: dict[Any, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):  # bound the IN list (SQLite's variable limit)
            part = ids[i : i + 500]
            if whole:
                rows = conn.execute(select(table).where(table.c[key].in_(part)))
                out.update({r._mapping[key]: dict(r._mapping) for r in rows})
            else:
                found = conn.execute(select(table.c[key]).where(table.c[key].in_(part)))
                out.update({k: {} for k in found.scalars()})
        return out

    @staticmethod
    def _unseen_conflicts(
        conn: Connection, conflicts: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A redelivered conflicting record is stored once, like any record."""
        if not conflicts:
            return []
        ids = [c["conflict_id"] for c in conflicts]
        known = set(
            conn.execute(
                select(decision_conflicts.c.conflict_id).where(
                    decision_conflicts.c.conflict_id.in_(ids)
                )
            ).scalars()
        )
        out: dict[str, dict[str, Any]] = {}
        for c in conflicts:
            if c["conflict_id"] not in known:
                out.setdefault(c["conflict_id"], c)
        return list(out.values())

    def write_decisions(self, records: Iterable[AuditRecord]) -> int:
        rows = []
        for r in records:
            row = shallow(r)
            row["gateways"] = json.dumps(list(r.gateways))
            row["fields"] = json.dumps(r.fields, sort_keys=True)
            row["notes"] = json.dumps(list(r.notes))
            row["subjects"] = json.dumps(list(r.subjects))
            rows.append(row)
        return self._append("decision", rows, self._index_subjects, _decision_differs)

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

    def conflicts(self) -> list[dict[str, Any]]:
        """Records that reused a stored decision id with other content, oldest first."""
        stmt = select(decision_conflicts).order_by(decision_conflicts.c.at)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        for row in rows:
            row["differs"] = json.loads(row["differs"])
        return rows

    def events_with_several_contents(self) -> list[dict[str, Any]]:
        """(provider, event id) decided with more than one content digest: a reused id that
        two processor instances decided before either knew of the other's (ledger.py)."""
        n = func.count(func.distinct(decisions.c.content_digest)).label("contents")
        stmt = (
            select(decisions.c.provider, decisions.c.event_id, n)
            # a declared revision (issue 18) is a legitimate second content
            .where(decisions.c.content_digest.is_not(None), decisions.c.revision.is_(None))
            .group_by(decisions.c.provider, decisions.c.event_id)
            .having(n > 1)
            .order_by(decisions.c.provider, decisions.c.event_id)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def close(self) -> None:
        self.engine.dispose()
