"""Retention at a recipient's sink (issue 18): what a sink holds past its agreement's
retention period is erased, and the erasure is receipted into the audit (DPA 2018 s62 logs
erasure).

The period is the agreement's ``retention`` (ISO 8601, e.g. ``P6Y``), per agreement id, from
the agreements the recipient receives under (``periods_for``). A record's age runs from when
it was delivered. Retraction notices and tombstones carry no personal data and are kept as
the evidence of the withdrawal. A run erases every record past its period; each erased
disclosure gets a receipt with status ``erased`` naming the period and the run, so the
audit's subject and event views show the erasure next to the disclosure (a receipt must name
a disclosure the audit has: ``hub audit verify`` checks it).

What "erase" means is the sink's: a :class:`Holding` says which of its disclosures are past
their cutoff and erases them, keeping each erasure's receipt in a durable outbox until the
hub's broker has acknowledged it, so neither a crash nor a broker outage loses the audit's
record of an erasure (a resend carries the same receipt id, ``<disclosure>:erased``, stored
once). The holdings: the SQL upsert table (connectors/sinks/sql_retention.py: the delete,
its erasure markers and its receipts in one transaction), the export files
(connectors/sinks/file_export.py: lines removed, files replaced atomically) and what an
HTTP push handed to the recipient's system (connectors/sinks/http_push.py: the recipient's
API told to delete it; receipted only once it acknowledged).

Each sink remembers what it erased, so a redelivery of it (a replay of the share topic, a
consumer group reset) is not stored again; a later revision of the event is.

The clock is injected (tests move it forward six years). ``RetentionTimer`` runs it inside
``hub connector run``: before a poll, once the interval has passed (the first run at start,
so a sink that was down catches up), and sends the receipts to ``hub.receipts.v1``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

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


def agreement_id(agreement: str) -> str:
    """``police-msn@1`` -> ``police-msn``: periods are per agreement, whatever the version."""
    return agreement.split("@", 1)[0]


@dataclass(frozen=True)
class Due:
    """A disclosure past its retention: what a run erases."""

    disclosure_id: str
    agreement: str  # the agreement id
    period: str  # its retention, e.g. P6Y
    run_id: str = ""  # the erasure run (a sink may keep it with its erasure marker)

    @property
    def why(self) -> str:
        return f"{self.agreement} retention {self.period}"


@dataclass(frozen=True)
class ErasureRun:
    run_id: str
    at: str
    erased: tuple[str, ...]  # disclosure ids
    receipts: tuple[ReceiptRecord, ...]
    failed: tuple[str, ...] = ()  # due, not erased this run (tried again at the next)


class Holding(Protocol):
    """What a sink holds, as retention sees it."""

    system: str

    def expired(self, cutoffs: Mapping[str, datetime]) -> list[tuple[str, str]]:
        """(disclosure id, agreement id) of each record delivered before its agreement's
        cutoff and not yet erased; never a notice or a tombstone."""
        ...

    def erase(
        self, due: Sequence[Due], receipts: Mapping[str, ReceiptRecord]
    ) -> tuple[ReceiptRecord, ...]:
        """Erase ``due`` and put each erased one's receipt in the outbox, so that a crash
        loses no receipt of an erasure done; returns the receipts of those erased."""
        ...

    def pending(self) -> list[ReceiptRecord]:
        """Erasure receipts in the outbox, not yet acknowledged by the hub."""
        ...

    def sent(self, receipts: Iterable[ReceiptRecord]) -> None:
        """The hub's broker has these: out of the outbox."""
        ...


class RetentionEnforcer:
    """Erases what a :class:`Holding` keeps past its agreements' retention."""

    def __init__(
        self,
        holding: Holding,
        recipient: str,
        periods: Mapping[str, Period],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.holding = holding
        self._recipient = recipient
        self._periods = dict(periods)
        self._clock = clock

    def pending(self) -> list[ReceiptRecord]:
        return self.holding.pending()

    def sent(self, receipts: Iterable[ReceiptRecord]) -> None:
        self.holding.sent(list(receipts))

    def run(self) -> ErasureRun:
        now = self._clock()
        run_id = str(uuid.uuid4())
        at = now.isoformat()
        cutoffs = {a: p.before(now) for a, p in sorted(self._periods.items())}
        due = [
            Due(d, a, self._periods[a].text, run_id)
            for d, a in self.holding.expired(cutoffs)
            if a in self._periods
        ]
        receipts = {
            d.disclosure_id: ReceiptRecord(
                f"{d.disclosure_id}:erased",
                d.disclosure_id,
                self._recipient,
                self.holding.system,
                "erased",
                at,
                f"deleted at the end of its retention ({d.why}); erasure run {run_id}, "
                f"{len(due)} row(s)",
            )
            for d in due
        }
        done = self.holding.erase(due, receipts) if due else ()
        erased = tuple(r.disclosure_id for r in done)
        failed = tuple(sorted(set(receipts) - set(erased)))
        if failed:
            log.warning(
                "retention run %s: %d of %d not erased yet (tried again at the next run)",
                run_id,
                len(failed),
                len(due),
            )
        return ErasureRun(run_id, at, erased, done, failed)


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
