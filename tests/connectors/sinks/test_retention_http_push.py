"""Promise (issue 18): an HTTP push sink enforces its agreement's retention by telling the
recipient's system to delete what it was pushed, the way a retraction is sent; the erasure
is receipted only once the recipient's API acknowledged it. Real HTTP server (the case API
keeps the push contract), real ledger file; the clock is injected, so years pass."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from connectors.base.sink import Delivery
from connectors.sinks.http_push import EXPIRED, HttpPushWriter
from connectors.sinks.ledger import SinkLedger
from tests.connectors.sinks.case_api import CaseApi
from tests.connectors.sinks.helpers import (
    MASH,
    PERIODS,
    POLICE,
    T0,
    A,
    B,
    Broker,
    C,
    Clock,
    Crash,
    hourly,
    retraction,
    share,
)


def writer(api: CaseApi, tmp_path: Path, clock: Clock) -> HttpPushWriter:
    return HttpPushWriter(api.url, "mash-cases", ledger=tmp_path / "pushed.db", clock=clock)


def deliver(w: HttpPushWriter, clock: Clock, at: datetime, *ds: Delivery) -> None:
    clock.now = at
    assert [o.status for o in w.write(list(ds))] == ["delivered"] * len(ds)


def test_expired_cases_are_deleted_at_the_recipient_and_receipted(tmp_path: Path) -> None:
    clock = Clock()
    with CaseApi() as api:
        w = writer(api, tmp_path, clock)
        deliver(w, clock, T0, share("d-a1", A), share("d-c1", C))
        deliver(w, clock, T0 + timedelta(days=10), retraction("n-c1", C))
        deliver(w, clock, T0 + timedelta(days=100), share("d-a2", A, revision=2))
        deliver(w, clock, T0 + timedelta(days=400), share("d-b1", B))
        enforcer = w.retention_enforcer(MASH.recipient, PERIODS, clock=clock)

        clock.now = T0 + timedelta(days=2 * 366)  # two years on: only d-a1 is past P2Y
        run = enforcer.run()
        assert run.erased == ("d-a1",), "the retracted d-c1 keeps its tombstone, unsent"
        assert [k for k, _ in api.deletes] == ["n-c1", "d-a1:erased"]  # the retraction, then
        key, body = api.deletes[-1]
        assert key == "d-a1:erased" and body["reason_code"] == EXPIRED
        assert body["revision"] == 1 and body["withdraws"] == "d-a1"
        assert "police-liverpool-mash retention P2Y" in body["reason"]
        # The API holds revision 2, delivered later: a revision-1 erasure does not touch it.
        assert api.cases[(POLICE, A)]["record"]["name"] == f"{A}-r2"
        [receipt] = run.receipts
        assert (receipt.receipt_id, receipt.status) == ("d-a1:erased", "erased")
        assert run.run_id in (receipt.reason or "") and "P2Y" in (receipt.reason or "")
        assert receipt.recipient == MASH.recipient and receipt.sink == "mash-cases"
        assert enforcer.pending() == [receipt]

        clock.now = T0 + timedelta(days=100 + 2 * 366)  # revision 2's turn; d-b1 stays
        run = enforcer.run()
        assert run.erased == ("d-a2",)
        assert api.cases[(POLICE, A)]["tombstone"]["reason_code"] == EXPIRED
        assert api.cases[(POLICE, B)]["record"]["name"] == f"{B}-r1"
        assert enforcer.run().erased == (), "nothing erased twice"
        assert len(api.deletes) == 3
        assert [r.receipt_id for r in enforcer.pending()] == ["d-a1:erased", "d-a2:erased"]
        enforcer.sent(enforcer.pending())
        assert enforcer.pending() == []
        # A replay redelivers an erased disclosure: it is not pushed again (nor erased again).
        w.close()
        w = writer(api, tmp_path, clock)
        [again] = w.write([share("d-a1", A)])
        assert again.status == "delivered" and datetime.fromisoformat(again.at) == T0
        assert api.posts.count("d-a1") == 1
        assert api.cases[(POLICE, A)]["tombstone"]["reason_code"] == EXPIRED
        enforcer = w.retention_enforcer(MASH.recipient, PERIODS, clock=clock)
        assert enforcer.run().erased == () and enforcer.pending() == []
        w.close()


def test_a_failing_api_is_tried_again_at_the_next_run_and_deliveries_go_on(
    tmp_path: Path,
) -> None:
    clock = Clock()
    with CaseApi(refuse_deletes=503) as api:
        w = writer(api, tmp_path, clock)
        deliver(w, clock, T0, share("d-a1", A), share("d-b1", B))
        enforcer = w.retention_enforcer(MASH.recipient, PERIODS, clock=clock)
        clock.now = T0 + timedelta(days=2 * 366)
        run = enforcer.run()
        assert run.erased == () and run.failed == ("d-a1", "d-b1") and enforcer.pending() == []
        assert len(api.deletes) == 1, "the API is down: the rest wait for the next run"
        deliver(w, clock, clock.now, share("d-c1", C))  # deliveries go on
        api.refuse_deletes = 400  # a refusal: each tried, none receipted
        assert enforcer.run().erased == () and len(api.deletes) == 3
        api.refuse_deletes = None
        run = enforcer.run()
        assert run.erased == ("d-a1", "d-b1") and (POLICE, C) in api.cases
        assert {r.receipt_id for r in enforcer.pending()} == {"d-a1:erased", "d-b1:erased"}
        w.close()


def test_a_crash_between_the_acknowledged_delete_and_the_receipt_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    with CaseApi() as api:
        w = writer(api, tmp_path, clock)
        deliver(w, clock, T0, share("d-a1", A))
        clock.now = T0 + timedelta(days=2 * 366)

        def die(*_a: object, **_k: object) -> None:
            raise Crash

        monkeypatch.setattr(SinkLedger, "erased", die)  # the API said 204, then the power went
        with pytest.raises(Crash):
            w.retention_enforcer(MASH.recipient, PERIODS, clock=clock).run()
        monkeypatch.undo()
        assert [k for k, _ in api.deletes] == ["d-a1:erased"]

        w = writer(api, tmp_path, clock)  # the restart: the same ledger file
        broker = Broker()
        enforcer = w.retention_enforcer(MASH.recipient, PERIODS, clock=clock)
        timer = hourly(enforcer, clock, retry_after=timedelta(minutes=1))
        timer.tick(broker)  # the DELETE again (the same key), then a broker outage
        assert [k for k, _ in api.deletes] == ["d-a1:erased"] * 2 and timer.failures == 1
        w.close()
        w = writer(api, tmp_path, clock)  # and another restart before the broker is back
        timer = hourly(w.retention_enforcer(MASH.recipient, PERIODS, clock=clock), clock)
        broker.down = False
        timer.tick(broker)
        assert broker.ids() == ["d-a1:erased"]
        clock.now += timedelta(hours=2)
        timer.tick(broker)
        assert len(broker.sent) == 1 and len(api.deletes) == 2, "erased and receipted once"
        w.close()


def test_without_a_ledger_the_push_cannot_enforce_retention(tmp_path: Path) -> None:
    w = HttpPushWriter("http://127.0.0.1:9/api", "mash-cases")
    with pytest.raises(ValueError, match="ledger"):
        w.retention_enforcer(MASH.recipient, PERIODS, clock=Clock())
    w.close()
