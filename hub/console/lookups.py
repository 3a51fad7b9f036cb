"""Who looked up this person? The access log searched by a person's identifiers.

The access log never holds identifiers as typed: a subject report logs the person's audit
pseudonyms (``tokens``). So the IG officer's identifiers are turned into the same pseudonyms
and the log is searched for them. A person is also looked at without a subject report:
by opening one of their decisions, or downloading a report's CSV. Those entries name a
decision id or a report id, so they are found through the decisions recorded under the
person's pseudonyms and through the reports found first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, or_, select

from hub.audit.queries import Scope
from hub.audit.tables import consultations, decision_subjects

MAX_DECISIONS = 2_000  # one person's decisions; beyond this the search says it stopped


def _containing(conn: Connection, scope: Scope, needles: Iterable[str]) -> list[dict[str, Any]]:
    needles = sorted(set(needles))
    out: list[dict[str, Any]] = []
    for start in range(0, len(needles), 200):  # bounded OR lists
        chunk = needles[start : start + 200]
        stmt = select(consultations).where(
            scope.admin_logs(), or_(*[consultations.c.target.contains(f'"{n}"') for n in chunk])
        )
        out += [dict(r._mapping) for r in conn.execute(stmt)]
    return out


def who_looked_up(
    conn: Connection, scope: Scope, tokens: Sequence[str]
) -> tuple[list[dict[str, Any]], bool]:
    """Access-log entries about the person with these pseudonyms, newest first, and whether
    the person's decisions were too many to follow them all."""
    if not tokens:
        return [], False
    found = {c["consultation_id"]: c for c in _containing(conn, scope, tokens)}
    reports = [c["consultation_id"] for c in found.values() if c["action"] == "subject-report"]
    decision_ids = [
        str(r[0])
        for r in conn.execute(
            select(decision_subjects.c.decision_id)
            .where(decision_subjects.c.token.in_(sorted(set(tokens))))
            .limit(MAX_DECISIONS + 1)
        )
    ]
    capped = len(decision_ids) > MAX_DECISIONS
    for c in _containing(conn, scope, [*reports, *decision_ids[:MAX_DECISIONS]]):
        found.setdefault(c["consultation_id"], c)
    rows = sorted(found.values(), key=lambda c: str(c["at"]), reverse=True)
    return rows, capped
