"""Promise (issue 18): what the SQL upsert sink erased at the end of its retention stays
erased when the recipient's stream delivers it again (a replay of the share topic, a consumer
group reset, a redelivery after a crash before the commit): it is not stored, and its
receipt says ``erased``, why, and which erasure run. A later revision (a correction shared
after the erasure) is a new disclosure: stored, its retention running from its own delivery.
The erasure marker is written in the delete's transaction: a crash leaves both or neither.

SQLite and a real PostgreSQL; the clock is injected, so years pass in a test."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import MetaData, event, inspect, select, text

from connectors.base.sink import Delivery
from connectors.sinks.retention import ErasureRun
from connectors.sinks.sql_upsert import SqlUpsertWriter
from hub.audit.store import AuditStore
from hub.audit.verify import verify_store
from hub.processor.build import build_ingester
from tests.connectors.conftest import ROOT, Hub, Stream, read_receipts, wait_for
from tests.connectors.sinks.helpers import (
    MASH,
    MSN_SQL,
    PERIODS,
    POLICE,
    T0,
    A,
    B,
    C,
    Clock,
    retraction,
    run_msn_sink,
)

TABLE = "mash_referrals"
TWO_YEARS = timedelta(days=2 * 366)


def share(disclosure: str, event_id: str, revision: int = 1, stream: Stream = MASH) -> Delivery:
    """A disclosure naming a person: ``Name-<event>-r<revision>`` is the personal data."""
    headers = {"hub.provider": POLICE.encode(), "hub.revision": str(revision).encode()}
    record = {
        "envelope": {"event_id": event_id},
        "subject": {
            "given_name": "Ada",
            "family_name": f"Name-{event_id}-r{revision}",
            "date_of_birth": "2012-03-04",
        },
        "risk_level": "HIGH",
    }
    return stream.delivery(disclosure, record, headers=headers)


def writer(url: str, clock: Clock) -> SqlUpsertWriter:
    return SqlUpsertWriter(url, TABLE, "mash-system", clock=clock)


def everything(w: SqlUpsertWriter) -> str:
    """Every cell of every table in the recipient's database, as one text."""
    out: list[str] = []
    names = inspect(w.engine).get_table_names()
    meta = MetaData()
    meta.reflect(w.engine, only=names)
    with w.engine.connect() as conn:
        for name in names:
            out += [repr(tuple(r)) for r in conn.execute(select(meta.tables[name]))]
    return "\n".join(out)


def markers(w: SqlUpsertWriter) -> dict[str, dict[str, Any]]:
    with w.engine.connect() as conn:
        return {r.disclosure_id: dict(r._mapping) for r in conn.execute(select(w.erased))}


def at(value: str | datetime) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def test_an_erased_disclosure_delivered_again_is_not_stored(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    w = writer(database_url, clock)
    w.write([share("d-a1", A)])
    clock.now = T0 + timedelta(days=10)  # A's correction, before the erasure
    w.write([share("d-a2", A, revision=2)])
    clock.now = T0 + timedelta(days=400)
    w.write([share("d-b1", B)])
    enforcer = w.retention_enforcer(MASH.recipient, PERIODS, clock=clock)
    clock.now = T0 + TWO_YEARS + timedelta(days=11)
    run = enforcer.run()
    assert sorted(run.erased) == ["d-a1", "d-a2"]

    # The sink restarts and its stream is read again from the start (a group reset).
    w.close()
    clock.now += timedelta(days=1)
    w = writer(database_url, clock)
    with caplog.at_level(logging.WARNING, logger="connectors.sinks.sql_upsert"):
        again = {o.disclosure_id: o for o in w.write([share("d-a1", A), share("d-a2", A, 2)])}
        [b] = w.write([share("d-b1", B)])
    assert b.status == "delivered" and at(b.at) == T0 + timedelta(days=400)
    for d in ("d-a1", "d-a2"):
        o = again[d]
        assert o.status == "erased" and at(o.at) == at(run.at), o
        reason = o.reason or ""
        assert reason.startswith("not stored: redelivered") and run.run_id in reason
        assert "police-liverpool-mash retention P2Y" in reason
        [line] = [r.getMessage() for r in caplog.records if f"disclosure {d} " in r.getMessage()]
        assert MASH.recipient in line and run.run_id in line
    assert {r["disclosure_id"] for r in w.rows()} == {"d-b1"}
    assert "Name-" + A not in everything(w), "no personal data of the erased event anywhere"
    kept = markers(w)
    assert set(kept) == {"d-a1", "d-a2"}
    assert {(m["event_id"], m["revision"], m["run_id"]) for m in kept.values()} == {
        (A, 1, run.run_id),
        (A, 2, run.run_id),
    }
    assert all(m["agreement"] == MASH.agreement and m["period"] == "P2Y" for m in kept.values())

    # The same revision, or an older one, under another disclosure id (shared again under a
    # new agreement version): not stored either; the receipt names the erased revision.
    other = Stream(MASH.recipient, MASH.event_type, "police-liverpool-mash@v2")
    [old] = w.write([share("d-a1-v2", A, revision=2, stream=other)])
    assert old.status == "erased" and "revision 2 (d-a2) was erased" in (old.reason or "")
    # A retraction notice carries no personal data: stored, the tombstone of the event.
    [notice] = w.write([retraction("n-a2", A, revision=2)])
    assert notice.status == "delivered"
    assert w.held()[(POLICE, A)]["state"] == "tombstone"
    assert "Name-" + A not in everything(w)
    # Nothing erased twice; the outbox holds the first run's receipts only.
    assert enforcer.run().erased == ()
    assert sorted(r.receipt_id for r in enforcer.pending()) == ["d-a1:erased", "d-a2:erased"]
    w.close()


def test_a_later_revision_after_the_erasure_is_stored_with_its_own_retention(
    database_url: str,
) -> None:
    clock = Clock()
    w = writer(database_url, clock)
    w.write([share("d-a1", A)])
    enforcer = w.retention_enforcer(MASH.recipient, PERIODS, clock=clock)
    clock.now = T0 + TWO_YEARS
    assert enforcer.run().erased == ("d-a1",)
    corrected = T0 + TWO_YEARS + timedelta(days=30)
    clock.now = corrected
    [o] = w.write([share("d-a3", A, revision=3)])
    assert o.status == "delivered" and at(o.at) == corrected
    held = w.held()[(POLICE, A)]
    assert (held["disclosure_id"], held["state"]) == ("d-a3", "current")
    [replayed] = w.write([share("d-a1", A)])  # the erased one, still not back
    assert replayed.status == "erased" and w.held()[(POLICE, A)]["disclosure_id"] == "d-a3"
    clock.now = corrected + TWO_YEARS - timedelta(days=1)
    assert enforcer.run().erased == (), "its retention runs from its own delivery"
    clock.now = corrected + TWO_YEARS + timedelta(days=1)
    assert enforcer.run().erased == ("d-a3",)
    assert w.rows() == [] and set(markers(w)) == {"d-a1", "d-a3"}
    w.close()


# A retention run in its own process, killed (os._exit: no rollback from Python, no
# cleanup) just before one statement of the erasure's transaction.
_CRASH = """
import os, sys
from datetime import datetime
from sqlalchemy import event
from connectors.sinks.retention import parse_period
from connectors.sinks.sql_upsert import SqlUpsertWriter
url, before, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
w = SqlUpsertWriter(url, "mash_referrals", "mash-system")
@event.listens_for(w.engine, "before_cursor_execute")
def crash(conn, cursor, statement, *rest):
    if statement.startswith(f"INSERT INTO {before} ("):
        os._exit(9)
periods = {"police-liverpool-mash": parse_period("P2Y")}
w.retention_enforcer("liverpool-mash", periods, clock=lambda: now).run()
"""


@pytest.mark.parametrize("before", [f"{TABLE}_erased", f"{TABLE}_erasures"])
def test_the_marker_and_the_delete_commit_together(database_url: str, before: str) -> None:
    """Killed after the delete (and, second case, after the marker too) but before the
    commit: the row is still held, with no marker and no receipt; the next run erases it
    with both."""
    clock = Clock()
    w = writer(database_url, clock)
    w.write([share("d-a1", A), share("d-b1", B)])
    clock.now = T0 + TWO_YEARS + timedelta(days=1)
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASH, database_url, before, clock.now.isoformat()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == 9, crashed.stderr
    assert {r["disclosure_id"] for r in w.rows()} == {"d-a1", "d-b1"}
    assert markers(w) == {}
    enforcer = w.retention_enforcer(MASH.recipient, PERIODS, clock=clock)
    assert enforcer.pending() == []
    assert sorted(enforcer.run().erased) == ["d-a1", "d-b1"]
    assert w.rows() == [] and set(markers(w)) == {"d-a1", "d-b1"}
    assert len(enforcer.pending()) == 2
    assert [o.status for o in w.write([share("d-a1", A), share("d-b1", B)])] == ["erased"] * 2
    assert "Name-" not in everything(w)
    w.close()


def test_an_erasure_committed_while_a_batch_is_written_still_wins(database_url: str) -> None:
    """Another process's retention run commits between this writer's check and its insert
    (two sinks on one table): what the erasure forbids is taken out before this commits."""
    clock = Clock()
    w = writer(database_url, clock)
    w.write([share("d-a2", A, revision=2)])
    other = writer(database_url, clock)  # its own engine: another process's sink
    enforcer = other.retention_enforcer(MASH.recipient, PERIODS, clock=clock)
    clock.now = T0 + TWO_YEARS + timedelta(days=1)
    runs: list[ErasureRun] = []

    @event.listens_for(w.engine, "before_cursor_execute")
    def erase_first(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.startswith(f"INSERT INTO {TABLE} (") and not runs:
            runs.append(enforcer.run())

    # Revision 1 arrives late, checked before the erasure of revision 2 committed.
    [late] = w.write([share("d-a1", A, revision=1)])
    assert runs and runs[0].erased == ("d-a2",)
    assert late.status == "erased" and "revision 2 (d-a2) was erased" in (late.reason or "")
    assert w.rows() == [] and "Name-" not in everything(w)
    other.close()
    w.close()


def test_a_refused_row_fails_alone_and_an_erased_one_stays_out(database_url: str) -> None:
    """The batch the database refuses is written row by row: the refused row fails, the
    erased one is still not stored, the others are."""
    clock = Clock()
    w = writer(database_url, clock)
    w.write([share("d-a1", A)])
    clock.now = T0 + TWO_YEARS + timedelta(days=1)
    assert w.retention_enforcer(MASH.recipient, PERIODS, clock=clock).run().erased == ("d-a1",)
    refused = replace(share("d-c1", C), event_type=cast(str, None))  # NOT NULL violated
    outcomes = w.write([share("d-a1", A), refused, share("d-b1", B)])
    assert [o.status for o in outcomes] == ["erased", "failed", "delivered"]
    assert "mash-system refused the row" in (outcomes[1].reason or "")
    assert {r["disclosure_id"] for r in w.rows()} == {"d-b1"}
    w.close()


def test_a_table_from_before_the_markers_gains_them(database_url: str) -> None:
    clock = Clock()
    w = writer(database_url, clock)
    w.write([share("d-a1", A)])
    with w.engine.begin() as conn:  # the database of a sink from before the markers
        conn.execute(text(f"DROP TABLE {TABLE}_erased"))
        conn.execute(text(f"DROP INDEX ix_{TABLE}_event"))
    w.close()
    w = writer(database_url, clock)
    writer(database_url, clock).close()  # and again: nothing to add
    assert f"{TABLE}_erased" in inspect(w.engine).get_table_names()
    assert f"ix_{TABLE}_event" in {i["name"] for i in inspect(w.engine).get_indexes(TABLE)}
    clock.now = T0 + TWO_YEARS + timedelta(days=1)
    assert w.retention_enforcer(MASH.recipient, PERIODS, clock=clock).run().erased == ("d-a1",)
    assert [o.status for o in w.write([share("d-a1", A)])] == ["erased"]
    w.close()


@pytest.mark.integration
def test_a_group_reset_after_the_erasure_stores_nothing_again(hub: Hub, tmp_path: Path) -> None:
    """The running sink erases everything past P2Y; a sink under a new consumer group then
    reads the whole stream again: nothing is stored, each disclosure is receipted erased,
    and the audit (one erasure receipt per disclosure) still verifies."""
    msn = run_msn_sink(hub, tmp_path, MSN_SQL, MSN_DB_URL=f"sqlite:///{tmp_path / 'msn.db'}")
    sink, timer, clock = msn.runner, msn.timer, msn.clock
    assert isinstance(sink.writer, SqlUpsertWriter)
    held = {r["disclosure_id"] for r in sink.writer.rows()}
    wait_for(lambda: len(timer.runs) >= 1, 20, "the first retention run")
    clock.now += timedelta(days=2 * 366 + 1)
    wait_for(lambda: len(timer.runs) >= 2, 20, "the retention run two years on")
    assert set(timer.runs[-1].erased) == held and sink.writer.rows() == []

    replay = msn.sink.replay(len(held), clock=clock)
    assert (replay.counts.not_stored, replay.counts.delivered, replay.counts.failed) == (
        len(held),
        0,
        0,
    )
    assert sink.writer.rows() == []

    sent = read_receipts(hub, 3 * len(held))  # delivered, erased by the run, erased again
    again = [r for r in sent if (r.reason or "").startswith("not stored")]
    assert {r.disclosure_id for r in again} == held
    assert all(r.status == "erased" and r.receipt_id.endswith(":erased") for r in again)
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    ingester = build_ingester(hub.settings, bootstrap=hub.bootstrap, store=store)
    ingester.run_until_idle()  # every receipt on the topic, the replay's included
    statuses: dict[str, list[str]] = {}
    for r in store.all_receipts():
        statuses.setdefault(r["disclosure_id"], []).append(r["status"])
    assert {d: sorted(s) for d, s in statuses.items()} == {
        d: ["delivered", "erased"] for d in held
    }, "one delivery and one erasure per disclosure, the replay's receipt stored once"
    report = verify_store(store, {})
    assert report.ok, report.problems
    store.close()
