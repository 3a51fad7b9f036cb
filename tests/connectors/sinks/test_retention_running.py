"""Promise (issue 18): ``hub connector run`` enforces a file export's and an HTTP push's
retention on its timer, as it does a SQL sink's, and the audit records each erasure (DPA 2018
s62). Real broker, processor, sink, recipient API and audit ingester; the retention clock is
injected, so two years pass in a test."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.sinks.file_export import FileExportWriter
from connectors.sinks.http_push import EXPIRED, HttpPushWriter
from connectors.sinks.retention import RetentionTimer
from hub.audit.store import AuditStore
from hub.audit.verify import verify_store
from hub.processor.build import build_ingester
from tests.connectors.conftest import (
    Hub,
    for_msn,
    hub_env,
    police_events,
    publish_police,
    sink_config,
    start_sink,
    wait_for,
)
from tests.connectors.sinks.case_api import CaseApi

pytestmark = pytest.mark.integration
MSN = "modern-slavery-network"


def _file_export(tmp_path: Path, _api: CaseApi) -> tuple[dict[str, Any], Callable[[], set[str]]]:
    folder = tmp_path / "exports"

    def held() -> set[str]:
        import json

        return {
            str(json.loads(x)["disclosure_id"])
            for p in (folder / MSN).glob("*.jsonl")
            for x in p.read_text().splitlines()
        }

    return {"type": "file-export", "directory": str(folder)}, held


def _http_push(_tmp_path: Path, api: CaseApi) -> tuple[dict[str, Any], Callable[[], set[str]]]:
    def held() -> set[str]:
        return {
            str(c["record"]["envelope"]["event_id"]) for c in api.cases.values() if "record" in c
        }

    return {"type": "http-push", "url": api.url}, held


@pytest.mark.parametrize("kind", [_file_export, _http_push], ids=["file-export", "http-push"])
def test_the_running_sink_erases_past_retention_and_the_audit_shows_it(
    hub: Hub, tmp_path: Path, kind: Any
) -> None:
    events = police_events(120, seed=11)
    expected = {e["envelope"]["event_id"] for e in events if for_msn(e)}
    publish_police(hub, events)
    now = [datetime.now(UTC)]
    with CaseApi() as api:
        sink, held = kind(tmp_path, api)
        config = sink_config(hub, tmp_path, MSN, sink, retention={"every_seconds": 3600})
        runner = start_sink(hub, config, hub_env(hub), len(expected), clock=lambda: now[0])
        assert isinstance(runner.writer, FileExportWriter | HttpPushWriter)
        timer = runner.housekeeping
        assert isinstance(timer, RetentionTimer)
        assert timer.runs and timer.runs[-1].erased == (), "the first run, at start"
        before = held()
        assert before and len(before) == len(expected)

        now[0] += timedelta(days=366)  # a year on: not yet due under the MSN's P2Y
        wait_for(lambda: len(timer.runs) >= 2, 20, "the second retention run")
        assert held() == before
        now[0] += timedelta(days=367)  # two years and two days on: everything goes
        wait_for(lambda: len(timer.runs) >= 3, 20, "the third retention run")
        erased_now = set(timer.runs[-1].erased)
        assert len(erased_now) == len(expected) and held() == set()
        if api.deletes:
            assert {b["reason_code"] for _k, b in api.deletes} == {EXPIRED}

        store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
        ingester = build_ingester(hub.settings, bootstrap=hub.bootstrap, store=store)

        def erased() -> dict[str, Any]:
            return {r["disclosure_id"]: r for r in store.all_receipts() if r["status"] == "erased"}

        ingester.run(threading.Event(), until=lambda _s: set(erased()) >= erased_now)
        assert set(erased()) == erased_now
        assert all("P2Y" in r["reason"] and r["recipient"] == MSN for r in erased().values())
        assert {d["disclosure_id"] for d in store.all_decisions()} >= erased_now
        wait_for(lambda: timer.enforcer.pending() == [], 20, "the outbox emptied")
        report = verify_store(store, {})  # each erasure names a disclosure the audit has
        assert report.ok, report.problems
        store.close()
