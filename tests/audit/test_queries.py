"""The console's read queries, on SQLite and on a real PostgreSQL server: activity, the
decision filter with paging, one decision with its receipts, subject reports, and the
partner scope enforced in SQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Connection

from hub.audit import AuditStore, DeadLetterRecord
from hub.audit.queries import (
    DecisionFilter,
    Scope,
    activity,
    attention,
    counts,
    day_bounds,
    decision_detail,
    distinct_values,
    events_decided,
    find_decisions,
    iter_decisions,
    list_dead_letters,
    list_receipts,
    subject_decisions,
)
from hub.audit.records import AuditRecord, ReceiptRecord
from tests.audit.test_store import record

POLICE, PROBATION = "merseyside-police", "probation-nw"
LIVERPOOL = Scope.for_partner("liverpool-cc", ["liverpool-mash"])
PROBATION_SCOPE = Scope.for_partner(PROBATION)
ALL = Scope.everything()


def decision(
    decision_id: str,
    event_id: str,
    recipient: str,
    outcome: str,
    at: str,
    *,
    provider: str = POLICE,
    agreement: str = "police-liverpool-mash",
    subjects: tuple[str, ...] = (),
    offset: int = 1,
) -> AuditRecord:
    shared = outcome == "shared"
    return dataclasses.replace(
        record(decision_id),
        event_id=event_id,
        provider=provider,
        recipient=recipient,
        outcome=outcome,
        reason="allowed" if shared else "condition false",
        agreement_id=agreement,
        disclosure_id=f"disc-{decision_id}" if shared else None,
        fields=record().fields if shared else {},
        decided_at=at,
        subjects=subjects,
        source_offset=offset,
    )


def populate(store: AuditStore) -> None:
    store.write_decisions(
        [
            decision("d1", "e1", "liverpool-mash", "shared", "2026-11-01T10:00:00+00:00",
                     subjects=("tokA",)),
            decision("d2", "e1", "modern-slavery-network", "withheld",
                     "2026-11-01T10:00:00+00:00", agreement="police-msn", subjects=("tokA",)),
            decision("d3", "e2", "knowsley-mash", "shared", "2026-11-02T09:00:00+00:00",
                     agreement="police-knowsley-mash", subjects=("tokB",), offset=2),
            decision("d4", "e3", "merseyside-iom", "shared", "2026-11-02T11:00:00+00:00",
                     provider=PROBATION, agreement="probation-iom", subjects=("tokA", "tokC"),
                     offset=7),
            decision("d5", "e4", "merseyside-vrp", "shared", "2026-11-03T08:00:00+00:00",
                     provider="nhs-cm", agreement="nhs-vrp-assaults", offset=3),
        ]
    )  # fmt: skip
    store.write_receipts(
        [
            ReceiptRecord("disc-d1:delivered", "disc-d1", "liverpool-mash", "mash", "delivered",
                          "2026-11-01T10:00:05+00:00"),
            ReceiptRecord("disc-d3:failed", "disc-d3", "knowsley-mash", "mash", "failed",
                          "2026-11-02T09:00:05+00:00", "case system down"),
            ReceiptRecord("disc-d4:delivered", "disc-d4", "merseyside-iom", "iom", "delivered",
                          "2026-11-02T11:00:05+00:00"),
        ]
    )  # fmt: skip
    store.write_dead_letters(
        [
            DeadLetterRecord("p:0:9", POLICE, "p", 0, 9, "unsigned", "no sig", "sign",
                             "2026-11-01T11:00:00+00:00"),
            DeadLetterRecord("pr:0:7", PROBATION, "pr", 0, 7,
                             "malformed", "bad", "fix", "2026-11-02T12:00:00+00:00"),
        ]
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def conn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Connection]:
    url = (
        f"sqlite:///{tmp_path / 'audit.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_db")
    )
    store = AuditStore(url)
    populate(store)
    with store.engine.connect() as c:
        yield c
    store.close()


def test_activity_per_day_and_dimension(conn: Connection) -> None:
    rows = activity(conn, ALL)
    assert [(r.day, r.recipient, r.outcome, r.count) for r in rows] == [
        ("2026-11-01", "liverpool-mash", "shared", 1),
        ("2026-11-01", "modern-slavery-network", "withheld", 1),
        ("2026-11-02", "knowsley-mash", "shared", 1),
        ("2026-11-02", "merseyside-iom", "shared", 1),
        ("2026-11-03", "merseyside-vrp", "shared", 1),
    ]
    since, until = day_bounds(date(2026, 11, 2), date(2026, 11, 2))
    assert {r.agreement_id for r in activity(conn, ALL, since, until)} == {
        "police-knowsley-mash",
        "probation-iom",
    }
    assert counts(conn, ALL, None, None) == {"shared": 4, "withheld": 1}


def test_filter_and_paging(conn: Connection) -> None:
    page = find_decisions(conn, ALL, DecisionFilter(), page=1, page_size=2)
    assert page.total == 5 and page.pages == 3
    assert [r["decision_id"] for r in page.rows] == ["d5", "d4"]  # newest first
    last = find_decisions(conn, ALL, DecisionFilter(), page=3, page_size=2)
    assert [r["decision_id"] for r in last.rows] == ["d2"]  # ties: by id
    flt = DecisionFilter(provider=POLICE, outcome="shared")
    assert {r["decision_id"] for r in iter_decisions(conn, ALL, flt)} == {"d1", "d3"}
    flt = DecisionFilter(event_id="e1")
    assert {r["recipient"] for r in find_decisions(conn, ALL, flt).rows} == {
        "liverpool-mash",
        "modern-slavery-network",
    }
    flt = DecisionFilter(since="2026-11-02", until="2026-11-03", agreement_id="probation-iom")
    [row] = find_decisions(conn, ALL, flt).rows
    assert row["decision_id"] == "d4" and row["subjects"] == ["tokA", "tokC"]
    assert row["fields"]["subject.given_name"]["clause"] == "subject-identified"
    assert distinct_values(conn, ALL, "provider") == ["merseyside-police", "nhs-cm", PROBATION]


def test_decision_detail_with_receipts_and_dead_letters(conn: Connection) -> None:
    detail = decision_detail(conn, ALL, "d4")
    assert detail is not None
    assert [r["status"] for r in detail.receipts] == ["delivered"]
    assert [d["dead_letter_id"] for d in detail.dead_letters] == []
    d1 = decision_detail(conn, ALL, "d1")
    assert d1 is not None and [s["decision_id"] for s in d1.siblings] == ["d2"]
    assert decision_detail(conn, ALL, "nope") is None


def test_subject_report_by_tokens(conn: Connection) -> None:
    assert [r["decision_id"] for r in subject_decisions(conn, ALL, ["tokA"])] == ["d1", "d4"]
    withheld_too = subject_decisions(conn, ALL, ["tokA"], include_withheld=True)
    assert [r["decision_id"] for r in withheld_too] == ["d1", "d2", "d4"]
    assert [r["decision_id"] for r in subject_decisions(conn, ALL, ["tokB", "tokC"])] == [
        "d3",
        "d4",
    ]
    assert subject_decisions(conn, ALL, []) == []


def test_partner_scope_is_enforced_in_every_query(conn: Connection) -> None:
    # Liverpool council operates the Liverpool MASH: it sees what that MASH got, nothing else.
    assert [r["decision_id"] for r in iter_decisions(conn, LIVERPOOL, DecisionFilter())] == ["d1"]
    assert decision_detail(conn, LIVERPOOL, "d3") is None
    d1 = decision_detail(conn, LIVERPOOL, "d1")
    assert d1 is not None and d1.siblings == []  # the MSN decision on the same event is hidden
    assert [r["decision_id"] for r in subject_decisions(conn, LIVERPOOL, ["tokA"], True)] == ["d1"]
    assert {r.recipient for r in activity(conn, LIVERPOOL)} == {"liverpool-mash"}
    assert [r["receipt_id"] for r in list_receipts(conn, LIVERPOOL)] == ["disc-d1:delivered"]
    assert list_dead_letters(conn, LIVERPOOL) == []
    assert distinct_values(conn, LIVERPOOL, "recipient") == ["liverpool-mash"]
    assert set(events_decided(conn, ["e1", "e2"], LIVERPOOL)) == {"e1"}
    # Probation provides to the IOM: it sees its own flow, receipt and dead letter.
    assert [r["decision_id"] for r in iter_decisions(conn, PROBATION_SCOPE, DecisionFilter())] == [
        "d4"
    ]
    assert [d["dead_letter_id"] for d in list_dead_letters(conn, PROBATION_SCOPE)] == ["pr:0:7"]
    assert [r["receipt_id"] for r in list_receipts(conn, PROBATION_SCOPE)] == ["disc-d4:delivered"]


def test_attention(conn: Connection) -> None:
    a = attention(conn, ALL)
    assert a.dead_letters == 2 and a.dead_letter_reasons == {"malformed": 1, "unsigned": 1}
    assert a.failed_receipts == 1
    assert a.undelivered == 2  # d3 failed, d5 has no receipt
    assert attention(conn, PROBATION_SCOPE).undelivered == 0


def test_a_disclosure_answered_erased_is_not_awaiting_delivery(tmp_path: Path) -> None:
    # A sink that erased an earlier copy at retention answers a redelivery "erased" and
    # stores nothing (connectors/sinks): settled, not a delivery still to chase.
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    populate(store)
    store.write_receipts(
        [
            ReceiptRecord("disc-d5:erased", "disc-d5", "merseyside-vrp", "vrp", "erased",
                          "2026-11-03T08:00:05+00:00", "not stored: erased at retention"),
        ]
    )  # fmt: skip
    with store.engine.connect() as c:
        assert attention(c, ALL).undelivered == 1  # d3 only


def test_decision_siblings_are_the_same_providers_event(tmp_path: Path) -> None:
    """Another partner's event that reuses the event id (issue 15 item 1) is not listed as
    another decision about this event."""
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    populate(store)
    store.write_decisions(
        [
            decision(
                "f1",
                "e1",
                "liverpool-mash",
                "shared",
                "2026-11-01T12:00:00+00:00",
                provider="merseyside-fire",
                agreement="fire-liverpool-mash",
            )
        ]
    )
    with store.engine.connect() as c:
        d1, f1 = decision_detail(c, ALL, "d1"), decision_detail(c, ALL, "f1")
    store.close()
    assert d1 is not None and [s["decision_id"] for s in d1.siblings] == ["d2"]
    assert f1 is not None and f1.siblings == []
