"""Promise (issue 18): each sink keeps a row no longer than its agreement's retention, and
the audit records the erasure (DPA 2018 s62); a replay of the share topics afterwards brings
none of it back. The clock is injected: six years pass in a test. Real processor, audit
store and SQL sink (the corrections harness)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.base.sink import Outcome
from connectors.sinks.retention import parse_period, periods_for
from connectors.sinks.sql_upsert import SqlUpsertWriter
from hub.agreements import Agreement
from hub.audit.store import AuditStore
from hub.audit.verify import verify_store
from tests.processor.test_corrections import RETRACTION_IDS, CorrectionsWorld, revision_event
from tests.processor.test_event_identity import EVENT_IDS, POLICE, receipt

DELIVERED = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_periods_are_calendar_periods() -> None:
    assert parse_period("P6Y").before(DELIVERED) == datetime(2020, 11, 23, 12, tzinfo=UTC)
    assert parse_period("P18M").before(DELIVERED) == datetime(2025, 5, 23, 12, tzinfo=UTC)
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert parse_period("P1Y").before(leap) == datetime(2027, 2, 28, tzinfo=UTC)
    assert parse_period("P2W").before(DELIVERED) == DELIVERED - timedelta(days=14)
    for bad in ("6 years", "P", "PT6H", ""):
        with pytest.raises(ValueError, match="ISO 8601"):
            parse_period(bad)


def test_rows_past_retention_are_erased_and_the_audit_shows_it(
    tmp_path: Path, catalogue: Any, reference_agreements: list[Agreement], keys: Any
) -> None:
    world = CorrectionsWorld(tmp_path, catalogue, reference_agreements, keys)
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    now = [DELIVERED]
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))
    world.drain()
    world.ingest(store)
    world.sinks(store, clock=lambda: now[0])
    now[0] = DELIVERED + timedelta(days=400)  # a second event, delivered a year later
    world.send(POLICE, revision_event(EVENT_IDS[1], 1, "child-high"))
    world.send(POLICE, revision_event(EVENT_IDS[2], 1, "child-high"))
    world.retract(EVENT_IDS[2], RETRACTION_IDS[2])  # its tombstones carry no personal data
    world.drain()
    world.ingest(store)
    writers = world.sinks(store, clock=lambda: now[0])
    mash, msn = writers["liverpool-mash"], writers["modern-slavery-network"]
    periods = {r: periods_for(reference_agreements, r) for r in writers}
    agreement = {
        d["recipient"]: d["agreement_id"] for d in store.all_decisions() if d["outcome"] == "shared"
    }
    assert periods["liverpool-mash"][agreement["liverpool-mash"]].text == "P6Y"
    assert periods["modern-slavery-network"][agreement["modern-slavery-network"]].text == "P2Y"

    erased_all: set[str] = set()

    def enforce(at: datetime) -> dict[str, Any]:
        now[0] = at
        runs = {}
        for recipient, writer in writers.items():
            run = writer.retention_enforcer(recipient, periods[recipient], clock=lambda: at).run()
            store.write_receipts(run.receipts)
            runs[recipient] = run
            erased_all.update(run.erased)
        return runs

    # Two years and a day after the first delivery: the MSN's first row goes, nothing else.
    runs = enforce(DELIVERED + timedelta(days=2 * 366 + 1))
    assert runs["liverpool-mash"].erased == ()
    [gone] = runs["modern-slavery-network"].erased
    assert gone not in {r["disclosure_id"] for r in msn.rows()}
    assert {r["event_id"] for r in msn.rows() if r["state"] == "current"} == {EVENT_IDS[1]}
    # Six years and a day after: the MASH's first row; the later one stays a year more.
    runs = enforce(DELIVERED + timedelta(days=6 * 366))
    [mash_gone] = runs["liverpool-mash"].erased
    held = {r["event_id"]: r["state"] for r in mash.rows()}
    assert EVENT_IDS[0] not in held and held[EVENT_IDS[1]] == "current"
    assert held[EVENT_IDS[2]] == "tombstone", "the evidence of a withdrawal is kept"
    # The audit shows each erasure against its disclosure, once per run, and still verifies.
    erased = {r["disclosure_id"]: r for r in store.all_receipts() if r["status"] == "erased"}
    assert set(erased) >= {gone, mash_gone}
    assert (
        "P2Y" in erased[gone]["reason"]
        and runs["liverpool-mash"].run_id in erased[mash_gone]["reason"]
    )
    [decision] = [d for d in store.all_decisions() if d["disclosure_id"] == mash_gone]
    assert (decision["recipient"], decision["event_id"]) == ("liverpool-mash", EVENT_IDS[0])
    assert enforce(DELIVERED + timedelta(days=6 * 366))["liverpool-mash"].erased == ()
    # A replay of every share topic (a consumer group reset): nothing erased comes back.
    before = {r: w.rows() for r, w in writers.items()}
    outcomes = replay(world, writers, store)
    assert {d for d, o in outcomes.items() if o.status == "erased"} == erased_all
    assert all(o.status == "delivered" for d, o in outcomes.items() if d not in erased_all)
    assert {r: w.rows() for r, w in writers.items()} == before
    erasures = [r["disclosure_id"] for r in store.all_receipts() if r["status"] == "erased"]
    assert sorted(erasures) == sorted(erased_all), "one erasure receipt per disclosure"
    report = verify_store(store, {})
    assert report.ok, report.problems
    for w in writers.values():
        w.close()
    store.close()


def replay(
    world: CorrectionsWorld, writers: dict[str, SqlUpsertWriter], store: AuditStore
) -> dict[str, Outcome]:
    """Every share output into its recipient's sink again, in log order, each receipt into
    the audit as the sink runner sends it."""
    out: dict[str, Outcome] = {}
    for offset, p in enumerate(world.durable):
        if p["topic"].startswith("share."):
            d = world.delivery(offset, p, with_headers=True)
            writer = writers[d.recipient]
            [out[d.disclosure_id]] = writer.write([d])
            store.write_receipts([receipt(out[d.disclosure_id], d.recipient, writer.system)])
    return out
