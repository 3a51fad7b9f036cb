"""Retention at a recipient's sink (issue 18): rows kept past their agreement's retention
period are deleted, and the erasure is receipted into the audit (DPA 2018 s62 logs erasure).

The period is the agreement's ``retention`` (ISO 8601, e.g. ``P6Y``), per agreement id, from
the agreements the recipient receives under (``periods_for``). A row's age runs from when it
was delivered. Retraction notices and tombstones carry no personal data and are kept as the
evidence of the withdrawal. A run erases every row past its period at once; each erased
disclosure gets a receipt with status ``erased`` naming the run, so the audit's subject and
event views show the erasure next to the disclosure (a receipt must name a disclosure the
audit has: ``hub audit verify`` checks it).

The clock is injected (tests move it forward six years). ``RetentionTimer`` runs it inside
``hub connector run``: before a poll, once the interval has passed (the first run at start,
so a sink that was down catches up), and sends the receipts to ``hub.receipts.v1``.

A crash between the delete and the receipts must not lose the erasure from the audit: the
receipts are written to an outbox table (``<table>_erasures``) in the same transaction as the
delete, sent from there, and removed only once the broker has acknowledged them. A resend
after a crash carries the same receipt ids (``<disclosure>:erased``), stored once.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, Text, and_, delete, insert, select

from hub.audit.records import ReceiptRecord

log = logging.getLogger(__name__)
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


@dataclass(frozen=True)
class Period:
    """A calendar period: years and months count on the calendar, not as fixed days."""

    text: str
    years: int = 0
    months: int = 0
    days: int = 0

    def before(self, when: datetime) -> datetime:
        """``when`` minus this period (29 February falls back to the 28th)."""
        month0 = when.year * 12 + (when.month - 1) - (self.years * 12 + self.months)
        year, month = divmod(month0, 12)
        day = when.day
        while True:
            try:
                moved = when.replace(year=year, month=month + 1, day=day)
                break
            except ValueError:
                day -= 1
        return moved - timedelta(days=self.days)


def parse_period(text: str) -> Period:
    m = _DURATION.match(text.strip().upper())
    if m is None or not any(m.groups()):
        raise ValueError(
            f"retention {text!r} is not an ISO 8601 period of years, months, weeks or days "
            "(e.g. P6Y, P18M, P90D)"
        )
    years, months, weeks, days = (int(g or 0) for g in m.groups())
    return Period(text, years, months, days + 7 * weeks)


def periods_for(agreements: Iterable[Any], recipient: str) -> dict[str, Period]:
    """Agreement id -> retention, for the agreements that share with ``recipient``. Where
    versions differ, the shortest period applies (the recipient may keep it no longer)."""
    out: dict[str, Period] = {}
    for a in agreements:
        if recipient not in getattr(a, "recipients", ()):
            continue
        period = parse_period(a.retention)
        known = out.get(a.id)
        now = datetime(2000, 1, 1, tzinfo=UTC)
        if known is None or period.before(now) > known.before(now):
            out[a.id] = period
    return out


@dataclass(frozen=True)
class ErasureRun:
    run_id: str
    at: str
    erased: tuple[str, ...]  # disclosure ids
    receipts: tuple[ReceiptRecord, ...]


class RetentionEnforcer:
    """Deletes a SQL sink's rows past retention (connectors/sinks/sql_upsert.py)."""

    def __init__(
        self,
        writer: Any,
        recipient: str,
        periods: Mapping[str, Period],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._writer = writer
        self._recipient = recipient
        self._periods = dict(periods)
        self._clock = clock

        self._outbox = Table(
            f"{writer.table.name}_erasures",
            MetaData(),
            Column("receipt_id", String(200), primary_key=True),
            Column("receipt", Text, nullable=False),
        )
        self._outbox.create(writer.engine, checkfirst=True)

    def pending(self) -> list[ReceiptRecord]:
        """Erasure receipts written with their delete and not yet acknowledged by the hub."""
        with self._writer.engine.connect() as conn:
            rows = conn.execute(select(self._outbox.c.receipt).order_by(self._outbox.c.receipt_id))
            return [ReceiptRecord.from_json(str(r[0]).encode()) for r in rows]

    def sent(self, receipts: Iterable[ReceiptRecord]) -> None:
        ids = [r.receipt_id for r in receipts]
        if ids:
            with self._writer.engine.begin() as conn:
                conn.execute(delete(self._outbox).where(self._outbox.c.receipt_id.in_(ids)))

    def run(self) -> ErasureRun:
        now = self._clock()
        run_id = str(uuid.uuid4())
        at = now.isoformat()
        table = self._writer.table
        c = table.c
        erased: list[tuple[str, str]] = []
        with self._writer.engine.begin() as conn:  # the delete and its receipts, at once
            for agreement, period in sorted(self._periods.items()):
                cutoff = period.before(now)
                expired = and_(
                    c.agreement.like(f"{agreement}@%"),
                    c.delivered_at < cutoff,
                    c.state.is_distinct_from("tombstone"),
                    c.state.is_distinct_from("notice"),
                )
                ids = [str(r[0]) for r in conn.execute(select(c.disclosure_id).where(expired))]
                if ids:
                    conn.execute(delete(table).where(c.disclosure_id.in_(ids)))
                    erased += [(i, f"{agreement} retention {period.text}") for i in ids]
            receipts = self._receipts(erased, run_id, at)
            if receipts:
                conn.execute(
                    insert(self._outbox),
                    [
                        {"receipt_id": r.receipt_id, "receipt": r.to_json().decode()}
                        for r in receipts
                    ],
                )
        return ErasureRun(run_id, at, tuple(d for d, _ in erased), receipts)

    def _receipts(
        self, erased: list[tuple[str, str]], run_id: str, at: str
    ) -> tuple[ReceiptRecord, ...]:
        return tuple(
            ReceiptRecord(
                f"{disclosure}:erased",
                disclosure,
                self._recipient,
                self._writer.system,
                "erased",
                at,
                f"deleted at the end of its retention ({why}); erasure run {run_id}, "
                f"{len(erased)} row(s)",
            )
            for disclosure, why in erased
        )


class RetentionTimer:
    """Runs a :class:`RetentionEnforcer` every ``every`` by its clock, inside the sink
    runner's loop (before a poll), and sends the receipts of each run to the hub.

    A failed run or send (database or broker down) is logged and tried again at the next
    tick after ``retry_after``: retention is housekeeping and must not stop deliveries, but
    its receipts stay in the outbox until the broker has them."""

    def __init__(
        self,
        enforcer: RetentionEnforcer,
        every: timedelta,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry_after: timedelta = timedelta(minutes=1),
    ) -> None:
        if every <= timedelta(0):
            raise ValueError("the retention interval must be positive")
        self.enforcer = enforcer
        self.every = every
        self.retry_after = min(retry_after, every)
        self._clock = clock
        self._next: datetime | None = None  # None: run at the first tick (catch up at start)
        self._unsent = True  # the outbox may hold receipts from before a crash
        self._hold_until: datetime | None = None  # after a failure
        self.runs: list[ErasureRun] = []
        self.failures = 0

    def tick(self, send: Callable[[Sequence[ReceiptRecord]], None]) -> ErasureRun | None:
        now = self._clock()
        if self._hold_until is not None and now < self._hold_until:
            return None
        if self._next is not None and now < self._next and not self._unsent:
            return None
        ran: ErasureRun | None = None
        try:
            if self._next is None or now >= self._next:
                ran = self.enforcer.run()
                self.runs = [*self.runs[-9:], ran]
                self._unsent = self._unsent or bool(ran.receipts)
                self._next = now + self.every
                if ran.erased:
                    log.info("retention run %s: %d row(s) erased", ran.run_id, len(ran.erased))
            if self._unsent:
                pending = self.enforcer.pending()
                if pending:
                    send(pending)  # returns once the broker has acknowledged them
                    self.enforcer.sent(pending)
                self._unsent = False
        except Exception:  # logged and retried: a sink must not stop on its housekeeping
            self.failures += 1
            log.exception("retention: run or receipts failed; trying again shortly")
            self._hold_until = now + self.retry_after
        return ran
