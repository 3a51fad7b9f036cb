"""Retention at a recipient's sink (issue 18): rows kept past their agreement's retention
period are deleted, and the erasure is receipted into the audit (DPA 2018 s62 logs erasure).

The period is the agreement's ``retention`` (ISO 8601, e.g. ``P6Y``), per agreement id, from
the agreements the recipient receives under (``periods_for``). A row's age runs from when it
was delivered. Retraction notices and tombstones carry no personal data and are kept as the
evidence of the withdrawal. A run erases every row past its period at once; each erased
disclosure gets a receipt with status ``erased`` naming the run, so the audit's subject and
event views show the erasure next to the disclosure (a receipt must name a disclosure the
audit has: ``hub audit verify`` checks it).

The clock is injected (tests move it forward six years); the sink runner calls ``run`` on a
timer between batches.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, select

from hub.audit.records import ReceiptRecord

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

    def run(self) -> ErasureRun:
        now = self._clock()
        run_id = str(uuid.uuid4())
        at = now.isoformat()
        table = self._writer.table
        c = table.c
        erased: list[tuple[str, str]] = []
        with self._writer.engine.begin() as conn:
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
        receipts = tuple(
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
        return ErasureRun(run_id, at, tuple(d for d, _ in erased), receipts)
