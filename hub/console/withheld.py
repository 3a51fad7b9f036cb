"""What a partner admin may know about decisions withheld from a recipient they operate:
counts, never rows.

Such a decision is about a record their organisation was not entitled to receive (say, a
police concern about a Knowsley child, withheld from the Liverpool MASH). Listing it, or
finding it by a person's name, would disclose the very thing the agreement withheld. Yet a
council needs to know that its MASH is not getting what it might expect, to take it up
under the agreement. So these decisions are shown as one table of counts, recipient by
provider, over the period asked for, with counts from 1 to 4 suppressed. No totals are
published: with a total, two suppressed cells summing to 2 would each be known to be 1
(a bound that linear secondary suppression does not see).

The same table feeds the activity page, its CSV and ``/api/withheld-summary``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from hub.audit.queries import Scope
from hub.audit.tables import decisions

THRESHOLD = 5  # counts 1..4 are suppressed, as in the VRP feed


@dataclass(frozen=True)
class WithheldSummary:
    """Recipient (rows) by provider (columns); ``None`` marks a suppressed count."""

    recipients: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    cells: dict[tuple[str, str], int | None] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.cells

    def rows(self) -> list[dict[str, Any]]:
        """Flat rows for CSV and JSON: one per recipient and provider."""
        return [
            {"recipient": r, "provider": p, "withheld": self.cells[(r, p)]}
            for r in self.recipients
            for p in self.providers
        ]


def withheld_from_operated(
    conn: Connection, scope: Scope, since: str | None, until: str | None
) -> WithheldSummary:
    """Counts of decisions withheld from the recipients ``scope``'s partner operates, about
    records other partners provided. Nothing for an unrestricted reader: an IG officer sees
    those decisions one by one anyway."""
    if scope.unrestricted:
        return WithheldSummary()
    stmt = (
        select(decisions.c.recipient, decisions.c.provider, func.count())
        .where(
            scope.counted(),
            decisions.c.recipient.in_(sorted(scope.recipients)),
            decisions.c.provider != scope.partner,
            decisions.c.outcome != "shared",
        )
        .group_by(decisions.c.recipient, decisions.c.provider)
    )
    if since:
        stmt = stmt.where(decisions.c.decided_at >= since)
    if until:
        stmt = stmt.where(decisions.c.decided_at < until)
    counts = {(str(r), str(p)): int(n) for r, p, n in conn.execute(stmt)}
    recipients = tuple(sorted({r for r, _ in counts}))
    providers = tuple(sorted({p for _, p in counts}))
    cells = {
        (r, p): (None if 0 < (n := counts.get((r, p), 0)) < THRESHOLD else n)
        for r in recipients
        for p in providers
    }
    return WithheldSummary(recipients, providers, cells)
