"""Retention at the SQL upsert sink (connectors/sinks/retention.py): the table's rows past
their agreement's retention are deleted, their receipts written to an outbox table
(``<table>_erasures``) in the same transaction as the delete, and removed from it only once
the hub's broker has acknowledged them.

The same transaction writes an erasure marker per deleted row into ``<table>_erased``
(disclosure id, provider, event id, revision, agreement, period, erased at, run id: no
personal data), kept for good. A disclosure comes back after its erasure whenever the
recipient's share topic is read again (a replay, a consumer group reset, a redelivery after
a crash before the commit); the writer asks :func:`erased_before` and does not store it, nor
an older or equal revision of that event from that provider. A later revision (a correction
shared after the erasure) is a new disclosure, stored; its retention runs from its own
delivery. Rows erased by a sink from before the markers left no trace to check against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from connectors.sinks.retention import Due, agreement_id
from connectors.sinks.revisions import About
from hub.audit.records import ReceiptRecord

_KEPT = ("tombstone", "notice")  # no personal data: the evidence of a withdrawal


def insert_new(table: Table, dialect: str) -> Any:
    """An INSERT that leaves a row already there (same primary key) as it is."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    key = [c.name for c in table.primary_key.columns]
    return module.insert(table).on_conflict_do_nothing(index_elements=key)


def erased_table(name: str, metadata: MetaData) -> Table:
    """``<name>_erased``: one marker per disclosure erased at retention (no personal data)."""
    return Table(
        f"{name}_erased",
        metadata,
        Column("disclosure_id", String(128), primary_key=True),
        Column("provider", String(100), nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("revision", Integer, nullable=False),
        Column("agreement", String(128), nullable=False),
        Column("period", String(32), nullable=False),
        Column("erased_at", DateTime(timezone=True), nullable=False),
        Column("run_id", String(64), nullable=False),
        Index(f"ix_{name}_erased_event", "event_id", "provider"),
    )


@dataclass(frozen=True)
class Erased:
    """Why a delivery is not stored: the marker of the erasure that forbids it."""

    disclosure_id: str  # the erased disclosure (this one, or a later revision's)
    provider: str
    event_id: str
    revision: int
    agreement: str
    period: str
    erased_at: datetime
    run_id: str

    def reason(self, disclosure_id: str, revision: int) -> str:
        why = (
            f"erased at the end of its retention ({agreement_id(self.agreement)} retention "
            f"{self.period}) at {_iso(self.erased_at)}, erasure run {self.run_id}"
        )
        if disclosure_id == self.disclosure_id:
            return f"not stored: redelivered after it was {why}"
        return (
            f"not stored: revision {revision} of event {self.event_id} from {self.provider}, "
            f"and revision {self.revision} ({self.disclosure_id}) was {why}; only a later "
            "revision is stored"
        )


def erased_before(
    conn: Any, markers: Table, asked: Sequence[tuple[str, About]]
) -> dict[str, Erased]:
    """Disclosure id -> the erasure that forbids storing it: its own marker, else that of
    the same or a later revision of its event from its provider (the highest)."""
    if not asked:
        return {}
    c = markers.c
    ids = [d for d, _ in asked]
    events = sorted({a.event_id for _, a in asked})
    rows = conn.execute(
        select(markers).where(or_(c.disclosure_id.in_(ids), c.event_id.in_(events)))
    ).all()
    found = [Erased(**r._mapping) for r in rows]
    own = {e.disclosure_id: e for e in found}
    out: dict[str, Erased] = {}
    for disclosure, what in asked:
        later = [
            e for e in found if (e.provider, e.event_id) == what.key and e.revision >= what.revision
        ]
        hit = own.get(disclosure) or max(later, key=lambda e: e.revision, default=None)
        if hit is not None:
            out[disclosure] = hit
    return out


class SqlHolding:
    """The rows of a SQL upsert sink's table (``writer``: its engine, table, markers and
    system)."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self.system: str = writer.system
        self._markers: Table = writer.erased
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
        by_id = {d.disclosure_id: d for d in due}
        # The delete, its markers and its receipts commit together or not at all: a crash
        # cannot leave a row gone without the marker that keeps a replay from restoring it.
        with self._writer.engine.begin() as conn:
            # Checked again inside the transaction: only what is still erasable goes.
            cols = (c.disclosure_id, c.provider, c.event_id, c.revision, c.agreement)
            still = select(*cols).where(c.disclosure_id.in_(list(by_id)), self._erasable())
            rows = conn.execute(still).all()
            if not rows:
                return ()
            ids = [str(r.disclosure_id) for r in rows]
            conn.execute(delete(table).where(c.disclosure_id.in_(ids)))
            markers = [self._marker(r, by_id[r.disclosure_id], receipts) for r in rows]
            conn.execute(insert_new(self._markers, conn.dialect.name), markers)
            done = tuple(receipts[i] for i in ids)
            conn.execute(
                insert(self._outbox),
                [{"receipt_id": r.receipt_id, "receipt": r.to_json().decode()} for r in done],
            )
        return done

    @staticmethod
    def _marker(row: Any, due: Due, receipts: Mapping[str, ReceiptRecord]) -> dict[str, Any]:
        return {
            "disclosure_id": row.disclosure_id,
            "provider": row.provider or "",  # rows from before issue 18 have neither
            "event_id": row.event_id,
            "revision": row.revision or 1,
            "agreement": row.agreement,
            "period": due.period,
            "erased_at": datetime.fromisoformat(receipts[row.disclosure_id].at),
            "run_id": due.run_id,
        }

    def pending(self) -> list[ReceiptRecord]:
        with self._writer.engine.connect() as conn:
            rows = conn.execute(select(self._outbox.c.receipt).order_by(self._outbox.c.receipt_id))
            return [ReceiptRecord.from_json(str(r[0]).encode()) for r in rows]

    def sent(self, receipts: Iterable[ReceiptRecord]) -> None:
        ids = [r.receipt_id for r in receipts]
        if ids:
            with self._writer.engine.begin() as conn:
                conn.execute(delete(self._outbox).where(self._outbox.c.receipt_id.in_(ids)))


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite returns naive datetimes: they were written as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
