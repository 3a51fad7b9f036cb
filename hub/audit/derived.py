"""The audit's derived tables checked against the chained records (``hub audit verify``).

The hash chain covers the records themselves; the console and the exports also read rows
that are derived from them and not chained: the subject index (``decision_subjects``, which
a subject access request reads), and the links between records (a receipt names a
disclosure, a conflict names a decision, a dead letter's id names its coordinates). An
insider who deletes, adds or alters such a row changes what an IG officer is shown without
touching the chain: each check here recomputes the derived rows from the chained records and
reports what is missing or extra.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from hub.audit.tables import (
    dead_letters,
    decision_conflicts,
    decision_subjects,
    decisions,
    receipts,
)

# Detail lines per check and direction; the summary line always has the full counts.
DETAIL = 20


@dataclass(frozen=True)
class Finding:
    table: str
    record: str | None
    message: str


@dataclass
class DerivedReport:
    checked: dict[str, int]  # rows checked per derived table
    findings: list[Finding]


def check_derived(conn: Connection) -> DerivedReport:
    report = DerivedReport({}, [])
    shared = _check_subjects(conn, report)
    _check_receipts(conn, report, shared)
    _check_conflicts(conn, report)
    _check_dead_letters(conn, report)
    return report


def _report(
    report: DerivedReport,
    table: str,
    rows: Iterable[Any],
    message: Callable[[Any], tuple[str | None, str]],
    summary: str,
) -> None:
    """Detail findings for the first DETAIL ``rows``, then one summary with the count."""
    items = sorted(rows, key=repr)
    for item in items[:DETAIL]:
        record, text = message(item)
        report.findings.append(Finding(table, record, text))
    if len(items) > DETAIL:
        report.findings.append(
            Finding(table, None, f"{len(items)} {summary} in all ({DETAIL} listed above)")
        )


def _check_subjects(conn: Connection, report: DerivedReport) -> dict[str, str]:
    """decision_subjects against decisions.subjects (chained); returns the shared decisions'
    disclosure id -> recipient, read in the same pass."""
    expected: set[tuple[str, str]] = set()
    shared: dict[str, str] = {}
    for row in conn.execute(
        select(
            decisions.c.decision_id,
            decisions.c.subjects,
            decisions.c.disclosure_id,
            decisions.c.recipient,
            decisions.c.outcome,
        )
    ):
        try:
            tokens = json.loads(row.subjects or "[]")
        except ValueError:
            tokens = []  # a changed record: the chain reports it
        expected.update((str(t), row.decision_id) for t in tokens)
        if row.disclosure_id and row.outcome in ("shared", "retracted"):  # notices: issue 18
            shared[row.disclosure_id] = row.recipient
    actual = {
        (r.token, r.decision_id)
        for r in conn.execute(select(decision_subjects.c.token, decision_subjects.c.decision_id))
    }
    report.checked["decision_subjects"] = len(actual)
    _report(
        report,
        "decision_subjects",
        expected - actual,
        lambda p: (
            p[1],
            f"subject index lacks token {p[0][:16]}… of this decision (deleted: a subject "
            "access request would not find the decision)",
        ),
        "subject index rows missing",
    )
    _report(
        report,
        "decision_subjects",
        actual - expected,
        lambda p: (
            p[1],
            f"subject index row for token {p[0][:16]}… matches no subject of this decision "
            "(inserted or altered: it points a person at a decision not about them)",
        ),
        "subject index rows extra",
    )
    return shared


def _check_receipts(conn: Connection, report: DerivedReport, shared: dict[str, str]) -> None:
    """Every receipt names a disclosure the audit has, made to the recipient it names."""
    bad: list[tuple[str, str]] = []
    n = 0
    for r in conn.execute(
        select(receipts.c.receipt_id, receipts.c.disclosure_id, receipts.c.recipient)
    ):
        n += 1
        to = shared.get(r.disclosure_id)
        if to is None:
            bad.append(
                (
                    r.receipt_id,
                    f"receipt names disclosure {r.disclosure_id}, which no shared decision has "
                    "(a delivery the audit does not record, or its decision not ingested yet)",
                )
            )
        elif to != r.recipient:
            bad.append(
                (
                    r.receipt_id,
                    f"receipt from {r.recipient} for disclosure {r.disclosure_id}, which was "
                    f"made to {to}",
                )
            )
    report.checked["receipts"] = n
    _report(report, "receipts", bad, lambda b: b, "receipts without their disclosure")


def _check_conflicts(conn: Connection, report: DerivedReport) -> None:
    """A conflict's columns (what the console lists) say what its record says, and name a
    stored decision."""
    known = set(conn.execute(select(decisions.c.decision_id)).scalars())
    bad: list[tuple[str, str]] = []
    n = 0
    for c in conn.execute(select(decision_conflicts)):
        n += 1
        try:
            record = json.loads(c.record)
        except ValueError:
            record = {}
        cols = ("decision_id", "event_id", "provider", "recipient")
        wrong = [k for k in cols if record.get(k) != getattr(c, k)]
        if wrong:
            bad.append((c.conflict_id, f"conflict columns {wrong} differ from its record"))
        if c.decision_id not in known:
            bad.append((c.conflict_id, f"conflict names decision {c.decision_id}, not stored"))
    report.checked["decision_conflicts"] = n
    _report(report, "decision_conflicts", bad, lambda b: b, "conflicts inconsistent")


def _check_dead_letters(conn: Connection, report: DerivedReport) -> None:
    """A dead letter whose id is its coordinates ("topic:partition:offset") has those
    coordinates in its columns: the decision page finds dead letters by them."""
    bad: list[tuple[str, str]] = []
    n = 0
    cols = (dead_letters.c.dead_letter_id, dead_letters.c.topic)
    for d in conn.execute(select(*cols, dead_letters.c.partition, dead_letters.c.offset)):
        n += 1
        topic, sep, rest = d.dead_letter_id.rpartition(":")
        head, sep2, part = topic.rpartition(":")
        if not (sep and sep2 and rest.isdigit() and part.isdigit()):
            continue  # another id scheme (e.g. by reference): nothing derived to compare
        if (head, int(part), int(rest)) != (d.topic, d.partition, d.offset):
            bad.append(
                (
                    d.dead_letter_id,
                    f"dead letter's columns say {d.topic}:{d.partition}:{d.offset}",
                )
            )
    report.checked["dead_letters"] = n
    _report(report, "dead_letters", bad, lambda b: b, "dead letters inconsistent")
