"""Read queries over the audit store, for the console, its JSON API and CSV exports.

SQLAlchemy Core only, portable between SQLite and PostgreSQL (tested on both). Every query
takes a :class:`Scope`: a partner admin's scope restricts the SQL itself to flows where
their organisation is the provider or operates the recipient, so no page, API route or
export can reach another partner's rows by forgetting a check in a template.

Times in the store are ISO 8601 strings in UTC, so ranges compare as strings: ``since`` is
inclusive, ``until`` exclusive.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    false,
    func,
    or_,
    select,
    true,
)

from hub.audit.tables import (
    agreement_actions,
    consultations,
    dead_letters,
    decision_subjects,
    decisions,
    receipts,
)

JSON_COLUMNS = ("gateways", "fields", "notes", "subjects")
MAX_PAGE = 500


@dataclass(frozen=True)
class Scope:
    """Which flows a reader may see. ``partner`` None means all (IG officer, auditor)."""

    partner: str | None = None
    # Recipients the partner operates (a MASH is operated by its council), plus itself.
    recipients: frozenset[str] = frozenset()

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    @classmethod
    def for_partner(cls, partner: str, operated: Iterable[str] = ()) -> Scope:
        return cls(partner, frozenset({partner, *operated}))

    @property
    def unrestricted(self) -> bool:
        return self.partner is None

    def decisions(self) -> ColumnElement[bool]:
        """Decisions the reader may see one by one (listed, searched, exported). A partner
        admin sees every decision on what their organisation provided, but of the rest only
        what was *shared* with a recipient they operate: a decision withheld from their
        recipient concerns a record they were not entitled to (issue 15, item 4), so it is
        only ever counted (:meth:`counted`), never listed or found by person."""
        if self.partner is None:
            return true()
        return or_(
            decisions.c.provider == self.partner,
            and_(
                decisions.c.recipient.in_(sorted(self.recipients)),
                # What their recipient received: disclosures, and the retraction notices
                # that withdraw them (issue 18; a notice only follows a disclosure).
                decisions.c.outcome.in_(("shared", "retracted")),
            ),
        )

    def counted(self) -> ColumnElement[bool]:
        """Decisions the reader may see in aggregate only: every decision in their flows,
        including those withheld from a recipient they operate."""
        if self.partner is None:
            return true()
        return or_(
            decisions.c.provider == self.partner,
            decisions.c.recipient.in_(sorted(self.recipients)),
        )

    def dead_letters(self) -> ColumnElement[bool]:
        if self.partner is None:
            return true()
        return dead_letters.c.partner == self.partner

    def receipts(self) -> ColumnElement[bool]:
        if self.partner is None:
            return true()
        provided = select(decisions.c.disclosure_id).where(
            decisions.c.provider == self.partner, decisions.c.disclosure_id.is_not(None)
        )
        return or_(
            receipts.c.recipient.in_(sorted(self.recipients)),
            receipts.c.disclosure_id.in_(provided),
        )

    def admin_logs(self) -> ColumnElement[bool]:
        """Consultations and agreement actions: a partner admin sees only their own."""
        if self.partner is None:
            return true()
        return false()


def day_bounds(start: date | None, end: date | None) -> tuple[str | None, str | None]:
    """Inclusive calendar days as the store's string range (``until`` exclusive)."""
    since = start.isoformat() if start else None
    until = (end + timedelta(days=1)).isoformat() if end else None
    return since, until


def decoded(row: Any) -> dict[str, Any]:
    """A decision row with its JSON columns parsed."""
    out = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    for name in JSON_COLUMNS:
        if isinstance(out.get(name), str):
            out[name] = json.loads(out[name])
    return out


# -- activity ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityRow:
    day: str
    agreement_id: str | None
    provider: str
    recipient: str
    outcome: str
    count: int


def activity(
    conn: Connection, scope: Scope, since: str | None = None, until: str | None = None
) -> list[ActivityRow]:
    """Decisions per day by agreement, provider, recipient and outcome."""
    day = func.substr(decisions.c.decided_at, 1, 10).label("day")
    stmt = (
        select(
            day,
            decisions.c.agreement_id,
            decisions.c.provider,
            decisions.c.recipient,
            decisions.c.outcome,
            func.count().label("n"),
        )
        .where(scope.decisions(), *_time(decisions.c.decided_at, since, until))
        .group_by(
            day,
            decisions.c.agreement_id,
            decisions.c.provider,
            decisions.c.recipient,
            decisions.c.outcome,
        )
        .order_by(day, decisions.c.agreement_id, decisions.c.recipient, decisions.c.outcome)
    )
    return [
        ActivityRow(r.day, r.agreement_id, r.provider, r.recipient, r.outcome, int(r.n))
        for r in conn.execute(stmt)
    ]


def _time(column: Any, since: str | None, until: str | None) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if since:
        out.append(column >= since)
    if until:
        out.append(column < until)
    return out


# -- decision explorer ------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionFilter:
    since: str | None = None
    until: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    provider: str | None = None
    recipient: str | None = None
    agreement_id: str | None = None
    outcome: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        out = _time(decisions.c.decided_at, self.since, self.until)
        for column, value in (
            (decisions.c.event_id, self.event_id),
            (decisions.c.event_type, self.event_type),
            (decisions.c.provider, self.provider),
            (decisions.c.recipient, self.recipient),
            (decisions.c.agreement_id, self.agreement_id),
            (decisions.c.outcome, self.outcome),
        ):
            if value:
                out.append(column == value)
        return out


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _decision_query(scope: Scope, flt: DecisionFilter) -> Select[Any]:
    return select(decisions).where(scope.decisions(), *flt.clauses())


def find_decisions(
    conn: Connection, scope: Scope, flt: DecisionFilter, page: int = 1, page_size: int = 50
) -> Page:
    page_size = max(1, min(page_size, MAX_PAGE))
    page = max(1, page)
    total = int(
        conn.execute(
            select(func.count()).select_from(decisions).where(scope.decisions(), *flt.clauses())
        ).scalar_one()
    )
    stmt = (
        _decision_query(scope, flt)
        .order_by(decisions.c.decided_at.desc(), decisions.c.decision_id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return Page([decoded(r) for r in conn.execute(stmt)], total, page, page_size)


def iter_decisions(conn: Connection, scope: Scope, flt: DecisionFilter) -> Iterator[dict[str, Any]]:
    """Every matching decision, oldest first (CSV export); streamed, not paged."""
    stmt = _decision_query(scope, flt).order_by(decisions.c.decided_at, decisions.c.decision_id)
    for r in conn.execution_options(yield_per=1000).execute(stmt):
        yield decoded(r)


def distinct_values(conn: Connection, scope: Scope, column: str) -> list[str]:
    """The values a filter drop-down offers (only those the reader may see)."""
    col = decisions.c[column]
    stmt = select(col).where(scope.decisions(), col.is_not(None)).distinct().order_by(col)
    return [str(v) for v in conn.execute(stmt).scalars()]


@dataclass
class DecisionDetail:
    decision: dict[str, Any]
    receipts: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    siblings: list[dict[str, Any]] = field(default_factory=list)  # same event, other recipients


def decision_detail(conn: Connection, scope: Scope, decision_id: str) -> DecisionDetail | None:
    row = conn.execute(
        select(decisions).where(decisions.c.decision_id == decision_id, scope.decisions())
    ).first()
    if row is None:
        return None
    d = decoded(row)
    detail = DecisionDetail(d)
    if d["disclosure_id"]:
        detail.receipts = [
            dict(r._mapping)
            for r in conn.execute(
                select(receipts)
                .where(receipts.c.disclosure_id == d["disclosure_id"])
                .order_by(receipts.c.at)
            )
        ]
    # Earlier attempts at the same input that were dead-lettered (e.g. before a replay).
    detail.dead_letters = [
        dict(r._mapping)
        for r in conn.execute(
            select(dead_letters).where(
                dead_letters.c.topic == d["source_topic"],
                dead_letters.c.partition == d["source_partition"],
                dead_letters.c.offset == d["source_offset"],
                scope.dead_letters(),
            )
        )
    ]
    detail.siblings = [
        decoded(r)
        for r in conn.execute(
            select(decisions)
            .where(
                decisions.c.event_id == d["event_id"],
                decisions.c.provider == d["provider"],  # another partner's id is another event
                decisions.c.decision_id != decision_id,
                scope.decisions(),
            )
            .order_by(decisions.c.recipient)
        )
    ]
    return detail


# -- subject disclosure report ----------------------------------------------------------


def subject_decisions(
    conn: Connection, scope: Scope, tokens: Sequence[str], include_withheld: bool = False
) -> list[dict[str, Any]]:
    """Every decision about a person, found by their subject tokens; disclosures only unless
    ``include_withheld``. Oldest first, as a subject access response reads."""
    if not tokens:
        return []
    ids = select(decision_subjects.c.decision_id).where(
        decision_subjects.c.token.in_(sorted(set(tokens)))
    )
    stmt = select(decisions).where(decisions.c.decision_id.in_(ids), scope.decisions())
    if not include_withheld:
        stmt = stmt.where(decisions.c.outcome == "shared")
    stmt = stmt.order_by(decisions.c.decided_at, decisions.c.recipient)
    return [decoded(r) for r in conn.execute(stmt)]


# -- dead letters, receipts, logs --------------------------------------------------------


def list_dead_letters(
    conn: Connection,
    scope: Scope,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    stmt = (
        select(dead_letters)
        .where(scope.dead_letters(), *_time(dead_letters.c.at, since, until))
        .order_by(dead_letters.c.at.desc(), dead_letters.c.dead_letter_id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def list_receipts(
    conn: Connection,
    scope: Scope,
    status: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    stmt = (
        select(receipts)
        .where(scope.receipts(), *_time(receipts.c.at, since, until))
        .order_by(receipts.c.at.desc(), receipts.c.receipt_id)
    )
    if status:
        stmt = stmt.where(receipts.c.status == status)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [dict(r._mapping) for r in conn.execute(stmt)]


@dataclass(frozen=True)
class Attention:
    """What needs someone: rejected input and failed deliveries."""

    dead_letters: int
    dead_letter_reasons: dict[str, int]
    failed_receipts: int
    undelivered: int  # shared decisions with neither a "delivered" nor an "erased" receipt


def attention(
    conn: Connection, scope: Scope, since: str | None = None, until: str | None = None
) -> Attention:
    reasons = {
        str(code): int(n)
        for code, n in conn.execute(
            select(dead_letters.c.reason_code, func.count())
            .where(scope.dead_letters(), *_time(dead_letters.c.at, since, until))
            .group_by(dead_letters.c.reason_code)
            .order_by(dead_letters.c.reason_code)
        )
    }
    failed = int(
        conn.execute(
            select(func.count())
            .select_from(receipts)
            .where(
                scope.receipts(), receipts.c.status == "failed", *_time(receipts.c.at, since, until)
            )
        ).scalar_one()
    )
    # An "erased" receipt settles a disclosure too: a sink that erased an earlier copy at
    # retention answers its redelivery with it and stores nothing (connectors/sinks).
    delivered = select(receipts.c.disclosure_id).where(
        receipts.c.status.in_(("delivered", "erased"))
    )
    undelivered = int(
        conn.execute(
            select(func.count())
            .select_from(decisions)
            .where(
                scope.decisions(),
                decisions.c.outcome == "shared",
                decisions.c.disclosure_id.not_in(delivered),
                *_time(decisions.c.decided_at, since, until),
            )
        ).scalar_one()
    )
    return Attention(sum(reasons.values()), reasons, failed, undelivered)


def list_consultations(
    conn: Connection, scope: Scope, user_name: str | None = None, limit: int | None = 500
) -> list[dict[str, Any]]:
    stmt = select(consultations).where(scope.admin_logs()).order_by(consultations.c.at.desc())
    if user_name:
        stmt = stmt.where(consultations.c.user_name == user_name)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def list_agreement_actions(
    conn: Connection, scope: Scope, agreement_id: str | None = None
) -> list[dict[str, Any]]:
    """Actions on agreements. Unlike consultations these are about agreements, not people,
    so a partner admin sees the actions on agreements their organisation is party to
    (``agreement_id`` given by a caller that checked the party) or their own."""
    stmt = select(agreement_actions).order_by(agreement_actions.c.at.desc())
    if agreement_id is not None:
        stmt = stmt.where(agreement_actions.c.agreement_id == agreement_id)
    elif not scope.unrestricted:
        stmt = stmt.where(agreement_actions.c.partner == scope.partner)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def counts(conn: Connection, scope: Scope, since: str | None, until: str | None) -> dict[str, int]:
    """Totals for the activity page header."""
    rows = conn.execute(
        select(decisions.c.outcome, func.count())
        .where(scope.decisions(), *_time(decisions.c.decided_at, since, until))
        .group_by(decisions.c.outcome)
    )
    out = {"shared": 0, "withheld": 0}
    out.update({str(k): int(v) for k, v in rows})
    return out


# What the what-if reads of a recorded decision (hub/console/whatif.py), and no more: a
# million events' decisions are read per run, and every further column costs.
WHATIF_COLUMNS = (
    "event_id", "provider", "recipient", "outcome", "reason", "decision_id", "decided_at",
    "fields",
)  # fmt: skip


def events_decided(
    conn: Connection, event_ids: Sequence[str], scope: Scope | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The recorded decisions of each event (the what-if's baseline): the columns in
    ``WHATIF_COLUMNS``, ``fields`` parsed, one parsed object per distinct text (the same plan's
    fields repeat on every disclosure under it; treat them as read-only). One query per
    2,000 ids, through the event id index."""
    out: dict[str, list[dict[str, Any]]] = {}
    parsed: dict[str, Any] = {}
    ids = sorted(set(event_ids))
    columns = [decisions.c[name] for name in WHATIF_COLUMNS]
    for start in range(0, len(ids), 2000):  # bounded IN lists
        chunk = ids[start : start + 2000]
        stmt = select(*columns).where(
            decisions.c.event_id.in_(chunk), (scope or Scope()).decisions()
        )
        for event_id, provider, recipient, outcome, reason, decision_id, at, text in conn.execute(
            stmt
        ):
            fields = parsed.get(text) if isinstance(text, str) else text
            if fields is None and isinstance(text, str):
                fields = parsed[text] = json.loads(text)
            # A literal, not dict(zip(...)): three rows an event, a million events a what-if.
            d = {
                "event_id": event_id, "provider": provider, "recipient": recipient,
                "outcome": outcome, "reason": reason, "decision_id": decision_id,
                "decided_at": at, "fields": fields,
            }  # fmt: skip
            out.setdefault(event_id, []).append(d)
    return out


def newest_decision_day(
    conn: Connection, providers: Sequence[str], event_types: Sequence[str]
) -> date | None:
    """The day of the newest decision on these providers' events of these types: the what-if's
    default period ends there (an event is decided after it happens)."""
    newest = conn.execute(
        select(func.max(decisions.c.decided_at)).where(
            decisions.c.provider.in_(list(providers)),
            decisions.c.event_type.in_(list(event_types)),
        )
    ).scalar()
    return date.fromisoformat(str(newest)[:10]) if newest else None


__all__ = [
    "ActivityRow",
    "Attention",
    "DecisionDetail",
    "DecisionFilter",
    "Page",
    "Scope",
    "activity",
    "attention",
    "counts",
    "day_bounds",
    "decision_detail",
    "decoded",
    "distinct_values",
    "events_decided",
    "find_decisions",
    "iter_decisions",
    "list_agreement_actions",
    "list_consultations",
    "list_dead_letters",
    "list_receipts",
    "newest_decision_day",
    "subject_decisions",
]
