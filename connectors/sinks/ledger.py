"""A sink's own durable memory for retention (issue 18), in one SQLite file (the standard
library's ``sqlite3``: an HTTP sink loads no SQLAlchemy).

- ``held``: what the sink handed over (disclosure id, provider, event id, event type,
  revision, whether a notice, agreement, delivered at) and when it was erased. The HTTP push
  sink needs it to know, years later, what the recipient's system holds; the file export
  keeps only what it erased (so a redelivered disclosure past retention is not written
  again).
- ``outbox``: erasure receipts not yet acknowledged by the hub's broker. ``ready = 0`` marks
  an erasure recorded before it was done (the file export's intent): the sink finishes it
  before the receipt may be sent.

Each change is one transaction (``synchronous=FULL``): a crash leaves it whole or absent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hub.audit.records import ReceiptRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS held (
    disclosure_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    revision INTEGER NOT NULL,
    notice INTEGER NOT NULL,
    agreement TEXT NOT NULL,
    agreement_id TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    erased_at TEXT
);
CREATE INDEX IF NOT EXISTS held_due ON held (agreement_id, delivered_at);
CREATE TABLE IF NOT EXISTS outbox (
    receipt_id TEXT PRIMARY KEY,
    disclosure_id TEXT NOT NULL,
    receipt TEXT NOT NULL,
    ready INTEGER NOT NULL
);
"""


def stamp(when: datetime) -> str:
    """Fixed width UTC, so that text order is time order."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


@dataclass(frozen=True)
class Held:
    disclosure_id: str
    provider: str
    event_id: str
    event_type: str
    revision: int
    notice: bool
    agreement: str
    delivered_at: datetime


class SinkLedger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # The sink runner's thread writes; tests read from another: one lock for both.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def hold(self, rows: Iterable[Held]) -> None:
        """Record what was handed over (a redelivery keeps the first time)."""
        values = _values(rows)
        if values:
            with self._tx() as db:
                db.executemany("INSERT OR IGNORE INTO held VALUES (?,?,?,?,?,?,?,?,?,?)", values)

    def expired(self, cutoffs: Mapping[str, datetime]) -> list[tuple[str, str]]:
        """Disclosures delivered before their agreement's cutoff, not erased, and not
        withdrawn by a notice of the same or a later revision (the recipient holds a
        tombstone for those: the evidence of a withdrawal, kept)."""
        out: list[tuple[str, str]] = []
        with self._lock:
            for agreement, cutoff in cutoffs.items():
                rows = self._db.execute(
                    """SELECT h.disclosure_id FROM held h
                       WHERE h.agreement_id = ? AND h.delivered_at < ? AND h.notice = 0
                         AND h.erased_at IS NULL
                         AND NOT EXISTS (SELECT 1 FROM held n WHERE n.notice = 1
                             AND n.provider = h.provider AND n.event_id = h.event_id
                             AND n.revision >= h.revision)
                       ORDER BY h.delivered_at""",
                    (agreement, stamp(cutoff)),
                )
                out += [(str(r[0]), agreement) for r in rows]
        return out

    def get(self, disclosure_id: str) -> Held | None:
        with self._lock:
            r = self._db.execute(
                "SELECT disclosure_id, provider, event_id, event_type, revision, notice, "
                "agreement, delivered_at FROM held WHERE disclosure_id = ?",
                (disclosure_id,),
            ).fetchone()
        if r is None:
            return None
        return Held(r[0], r[1], r[2], r[3], int(r[4]), bool(r[5]), r[6], _at(r[7]))

    def erased(
        self,
        receipts: Sequence[ReceiptRecord],
        *,
        ready: bool,
        at: datetime,
        held: Iterable[Held] = (),
    ) -> None:
        """Mark these disclosures erased (recording ``held`` first, where the sink kept no
        record of them) and put their receipts in the outbox, at once."""
        with self._tx() as db:
            db.executemany("INSERT OR IGNORE INTO held VALUES (?,?,?,?,?,?,?,?,?,?)", _values(held))
            db.executemany(
                "UPDATE held SET erased_at = ? WHERE disclosure_id = ?",
                [(stamp(at), r.disclosure_id) for r in receipts],
            )
            db.executemany(
                "INSERT OR IGNORE INTO outbox VALUES (?,?,?,?)",
                [
                    (r.receipt_id, r.disclosure_id, r.to_json().decode(), int(ready))
                    for r in receipts
                ],
            )

    def unready(self) -> list[tuple[str, datetime]]:
        """(disclosure id, delivered at) of each erasure recorded but not known done."""
        with self._lock:
            rows = self._db.execute(
                "SELECT o.disclosure_id, h.delivered_at FROM outbox o "
                "JOIN held h ON h.disclosure_id = o.disclosure_id WHERE o.ready = 0"
            )
            return [(str(r[0]), _at(r[1])) for r in rows]

    def ready(self, disclosure_ids: Iterable[str]) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE outbox SET ready = 1 WHERE disclosure_id = ?",
                [(d,) for d in disclosure_ids],
            )

    def pending(self) -> list[ReceiptRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT receipt FROM outbox WHERE ready = 1 ORDER BY receipt_id"
            )
            return [ReceiptRecord.from_json(str(r[0]).encode()) for r in rows]

    def sent(self, receipts: Iterable[ReceiptRecord]) -> None:
        with self._tx() as db:
            db.executemany(
                "DELETE FROM outbox WHERE receipt_id = ?", [(r.receipt_id,) for r in receipts]
            )

    def erased_delivery(self, disclosure_id: str) -> str | None:
        """When this disclosure was delivered, if it has since been erased at retention."""
        with self._lock:
            r = self._db.execute(
                "SELECT delivered_at FROM held WHERE disclosure_id = ? AND erased_at IS NOT NULL",
                (disclosure_id,),
            ).fetchone()
        return _at(r[0]).isoformat() if r else None

    def erased_at_delivery(self) -> dict[str, str]:
        """Disclosure id -> when it was delivered, for every erased one."""
        with self._lock:
            rows = self._db.execute(
                "SELECT disclosure_id, delivered_at FROM held WHERE erased_at IS NOT NULL"
            )
            return {str(r[0]): _at(r[1]).isoformat() for r in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _values(rows: Iterable[Held]) -> list[tuple[object, ...]]:
    return [
        (
            h.disclosure_id,
            h.provider,
            h.event_id,
            h.event_type,
            h.revision,
            int(h.notice),
            h.agreement,
            h.agreement.split("@", 1)[0],
            stamp(h.delivered_at),
            None,
        )
        for h in rows
    ]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)
