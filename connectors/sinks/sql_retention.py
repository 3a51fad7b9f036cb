"""Retention at the SQL upsert sink (connectors/sinks/retention.py): the table's rows past
their agreement's retention are deleted, their receipts written to an outbox table
(``<table>_erasures``) in the same transaction as the delete, and removed from it only once
the hub's broker has acknowledged them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, Text, and_, delete, insert, or_, select

from connectors.sinks.retention import Due
from hub.audit.records import ReceiptRecord

_KEPT = ("tombstone", "notice")  # no personal data: the evidence of a withdrawal


class SqlHolding:
    """The rows of a SQL upsert sink's table (``writer``: its engine, table and system)."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self.system: str = writer.system
        self._outbox = Table(
            f"{writer.table.name}_erasures",
            MetaData(),
            Column("receipt_id", String(200), primary_key=True),
            Column("receipt", Text, nullable=False),
        )
        self._outbox.create(writer.engine, checkfirst=True)

    def _erasable(self) -> Any:
        c = self._writer.table.c
        return and_(*(c.state.is_distinct_from(s) for s in _KEPT))

    def expired(self, cutoffs: Mapping[str, datetime]) -> list[tuple[str, str]]:
        c = self._writer.table.c
        out: list[tuple[str, str]] = []
        with self._writer.engine.connect() as conn:
            for agreement, cutoff in cutoffs.items():
                expired = and_(
                    or_(c.agreement == agreement, c.agreement.like(f"{agreement}@%")),
                    c.delivered_at < cutoff,
                    self._erasable(),
                )
                rows = conn.execute(select(c.disclosure_id).where(expired))
                out += [(str(r[0]), agreement) for r in rows]
        return out

    def erase(
        self, due: Sequence[Due], receipts: Mapping[str, ReceiptRecord]
    ) -> tuple[ReceiptRecord, ...]:
        table = self._writer.table
        c = table.c
        wanted = [d.disclosure_id for d in due]
        with self._writer.engine.begin() as conn:  # the delete and its receipts, at once
            # Checked again inside the transaction: only what is still erasable goes.
            still = select(c.disclosure_id).where(c.disclosure_id.in_(wanted), self._erasable())
            ids = [str(r[0]) for r in conn.execute(still)]
            if not ids:
                return ()
            conn.execute(delete(table).where(c.disclosure_id.in_(ids)))
            done = tuple(receipts[i] for i in ids)
            conn.execute(
                insert(self._outbox),
                [{"receipt_id": r.receipt_id, "receipt": r.to_json().decode()} for r in done],
            )
        return done

    def pending(self) -> list[ReceiptRecord]:
        with self._writer.engine.connect() as conn:
            rows = conn.execute(select(self._outbox.c.receipt).order_by(self._outbox.c.receipt_id))
            return [ReceiptRecord.from_json(str(r[0]).encode()) for r in rows]

    def sent(self, receipts: Iterable[ReceiptRecord]) -> None:
        ids = [r.receipt_id for r in receipts]
        if ids:
            with self._writer.engine.begin() as conn:
                conn.execute(delete(self._outbox).where(self._outbox.c.receipt_id.in_(ids)))
