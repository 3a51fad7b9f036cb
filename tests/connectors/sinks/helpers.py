"""What the sink retention tests share: the clock they move, the disclosures and notices
they hand a writer, the broker a retention timer sends its receipts to, and (against the
real hub) the MSN's sink running with retention and the audit of what it erased."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.base.sink import Delivery, SinkRunner
from connectors.sinks.retention import RetentionEnforcer, RetentionTimer, parse_period
from hub.audit.records import ReceiptRecord
from hub.audit.store import AuditStore
from hub.processor.build import build_ingester
from tests.connectors.conftest import (
    Hub,
    RunningSink,
    Stream,
    for_msn,
    publish_shared,
    start_sink,
)

MASH = Stream("liverpool-mash", "safeguarding-concern", "police-liverpool-mash@v1")
MSN = "modern-slavery-network"
MSN_SQL = {"type": "sql-upsert", "url_env": "MSN_DB_URL", "table": "msn_cases"}  # its sink
POLICE = "merseyside-police"
PERIODS = {"police-liverpool-mash": parse_period("P2Y")}  # the MASH agreement's retention
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
A, B, C = (f"c0a2e1d0-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))


class Clock:
    """The writer's and the enforcer's clock: a test sets ``now`` and years pass."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def share(disclosure: str, event: str, revision: int = 1, stream: Stream = MASH) -> Delivery:
    """Revision ``revision`` of the police's ``event``; ``<event>-r<revision>`` is its data."""
    headers = {"hub.provider": POLICE.encode(), "hub.revision": str(revision).encode()}
    record = {"envelope": {"event_id": event}, "name": f"{event}-r{revision}"}
    return stream.delivery(disclosure, record, headers=headers)


def retraction(disclosure: str, event: str, revision: int = 1) -> Delivery:
    record = {
        "notice_id": disclosure,
        "event_id": event,
        "event_type": MASH.event_type,
        "provider": POLICE,
        "revision": revision,
        "reason_code": "WRONG_PERSON",
        "reason": "retracted",
        "withdraws": None,
        "issued_at": T0.isoformat(),
    }
    return MASH.delivery(disclosure, record, headers={"hub.notice": b"retraction"})


class Crash(BaseException):
    """The process dying mid-run: not an Exception, so no handler in the code under test
    catches it, as none would run on a real crash."""


class Broker:
    """The hub's receipts topic as a retention timer sends to it: refusing while ``down``
    (an outage), keeping what it acknowledged in ``sent``."""

    def __init__(self, down: bool = True) -> None:
        self.down = down
        self.sent: list[ReceiptRecord] = []

    def __call__(self, receipts: Sequence[ReceiptRecord]) -> None:
        if self.down:
            raise OSError("broker unavailable")
        self.sent.extend(receipts)

    def ids(self) -> list[str]:
        return sorted(r.receipt_id for r in self.sent)


def hourly(enforcer: RetentionEnforcer, clock: Clock, **kw: Any) -> RetentionTimer:
    """A timer running ``enforcer`` every hour by ``clock`` (``kw``: e.g. its retry_after)."""
    return RetentionTimer(enforcer, timedelta(hours=1), clock=clock, **kw)


@dataclass
class Running:
    """The MSN's sink running with retention against the hub, on a clock a test moves."""

    sink: RunningSink
    timer: RetentionTimer
    clock: Clock
    expected: set[str]  # the event ids the MSN agreement shares

    @property
    def runner(self) -> SinkRunner:
        return self.sink.runner


def run_msn_sink(hub: Hub, tmp_path: Path, sink: dict[str, Any], **env: str) -> Running:
    """120 police concerns published, and the MSN's ``sink`` (retention every hour, on a
    clock starting now) once it has receipted each the MSN agreement shares."""
    expected = {e["envelope"]["event_id"] for e in publish_shared(hub, 120, 11, for_msn)}
    clock = Clock(datetime.now(UTC))
    retention = {"retention": {"every_seconds": 3600}}
    running = start_sink(hub, tmp_path, MSN, sink, len(expected), env, retention, clock=clock)
    assert isinstance(running.runner.housekeeping, RetentionTimer)
    return Running(running, running.runner.housekeeping, clock, expected)


def audit_erasures(hub: Hub, tmp_path: Path, erased: set[str]) -> AuditStore:
    """The audit, once it has ingested the erasure receipts of ``erased``: exactly those,
    each naming the MSN's P2Y and a disclosure the audit has a decision for. The caller
    closes it."""
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    ingester = build_ingester(hub.settings, bootstrap=hub.bootstrap, store=store)

    def receipts() -> dict[str, Any]:
        return {r["disclosure_id"]: r for r in store.all_receipts() if r["status"] == "erased"}

    ingester.run(threading.Event(), until=lambda _s: set(receipts()) >= erased)
    assert set(receipts()) == erased
    assert all("P2Y" in r["reason"] and r["recipient"] == MSN for r in receipts().values())
    assert {d["disclosure_id"] for d in store.all_decisions()} >= erased
    return store
