"""Audit queries for corrections and retractions (issue 18), as the console reads them.

* :func:`revision_chain` - one event's decisions for one recipient, ordered by revision
  (a retraction notice after the revision it withdraws), each with its receipts;
* :func:`sent_on` - the corrections (revisions after the first, shared) and retraction
  notices sent on for the events of a subject report's decisions, with their receipts;
* :func:`unreceipted_notices` - retraction notices with no *delivered* receipt, issued
  before a cut-off: the recipients an IG officer has to chase (UK GDPR Art 19).

Every query is scoped like the rest (hub/audit/queries.py ``Scope.decisions``): a partner
admin sees what their organisation provided, and what a recipient they operate received
(disclosures and notices), never a decision withheld from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from hub.audit.queries import Scope, decoded
from hub.audit.tables import decisions, receipts

RETRACTED = "retracted"
MAX_NOTICES = 500


def _with_receipts(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [r["disclosure_id"] for r in rows if r.get("disclosure_id")]
    by: dict[str, list[dict[str, Any]]] = {}
    if ids:
        stmt = select(receipts).where(receipts.c.disclosure_id.in_(ids)).order_by(receipts.c.at)
        for r in conn.execute(stmt):
            by.setdefault(r.disclosure_id, []).append(dict(r._mapping))
    for row in rows:
        row["receipts"] = by.get(row.get("disclosure_id") or "", [])
    return rows


def _order() -> tuple[Any, ...]:
    # By revision; a notice after the disclosure of the revision it withdraws.
    notice_last = case((decisions.c.outcome == RETRACTED, 1), else_=0)
    return (func.coalesce(decisions.c.revision, 1), notice_last, decisions.c.decided_at)


def revision_chain(
    conn: Connection, scope: Scope, provider: str, event_id: str, recipient: str
) -> list[dict[str, Any]]:
    """What one recipient was sent of one event, and what replaced or withdrew it."""
    stmt = (
        select(decisions)
        .where(
            decisions.c.provider == provider,
            decisions.c.event_id == event_id,
            decisions.c.recipient == recipient,
            scope.decisions(),
        )
        .order_by(*_order())
    )
    return _with_receipts(conn, [decoded(r) for r in conn.execute(stmt)])


def sent_on(
    conn: Connection, scope: Scope, about: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Corrections and retraction notices sent on for the events of ``about`` (a subject
    report's decisions): found by event, since a retraction carries no person."""
    events = sorted({(d["provider"], d["event_id"]) for d in about})
    if not events:
        return []
    out: list[dict[str, Any]] = []
    for start in range(0, len(events), 200):  # bounded statements for a long history
        chunk = events[start : start + 200]
        stmt = (
            select(decisions)
            .where(
                or_(
                    *(and_(decisions.c.provider == p, decisions.c.event_id == e) for p, e in chunk)
                ),
                or_(
                    decisions.c.outcome == RETRACTED,
                    and_(decisions.c.outcome == "shared", decisions.c.revision > 1),
                ),
                scope.decisions(),
            )
            .order_by(decisions.c.event_id, decisions.c.recipient, *_order())
        )
        out += [decoded(r) for r in conn.execute(stmt)]
    return _with_receipts(conn, out)


def unreceipted_notices(
    conn: Connection, scope: Scope, issued_before: str, limit: int = MAX_NOTICES
) -> list[dict[str, Any]]:
    """Retraction notices issued before ``issued_before`` (ISO time) that no recipient
    system has receipted as delivered, oldest first; a failed receipt's reason is kept."""
    delivered = select(receipts.c.disclosure_id).where(
        receipts.c.status == "delivered", receipts.c.disclosure_id.is_not(None)
    )
    stmt = (
        select(decisions)
        .where(
            decisions.c.outcome == RETRACTED,
            decisions.c.decided_at < issued_before,
            decisions.c.disclosure_id.is_not(None),
            decisions.c.disclosure_id.not_in(delivered),
            scope.decisions(),
        )
        .order_by(decisions.c.decided_at, decisions.c.recipient)
        .limit(limit)
    )
    return _with_receipts(conn, [decoded(r) for r in conn.execute(stmt)])
