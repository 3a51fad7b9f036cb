"""Promise (issue 18): ``hub connector run`` enforces a file export's and an HTTP push's
retention on its timer, as it does a SQL sink's, and the audit records each erasure (DPA 2018
s62). Real broker, processor, sink, recipient API and audit ingester; the retention clock is
injected, so two years pass in a test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.sinks.file_export import FileExportWriter
from connectors.sinks.http_push import EXPIRED, HttpPushWriter
from hub.audit.verify import verify_store
from tests.connectors.conftest import Hub, wait_for
from tests.connectors.sinks.case_api import CaseApi
from tests.connectors.sinks.helpers import MSN, audit_erasures, run_msn_sink

pytestmark = pytest.mark.integration


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
    with CaseApi() as api:
        sink, held = kind(tmp_path, api)
        msn = run_msn_sink(hub, tmp_path, sink)
        runner, timer, clock = msn.runner, msn.timer, msn.clock
        assert isinstance(runner.writer, FileExportWriter | HttpPushWriter)
        assert timer.runs and timer.runs[-1].erased == (), "the first run, at start"
        before = held()
        assert before and len(before) == len(msn.expected)

        clock.now += timedelta(days=366)  # a year on: not yet due under the MSN's P2Y
        wait_for(lambda: len(timer.runs) >= 2, 20, "the second retention run")
        assert held() == before
        clock.now += timedelta(days=367)  # two years and two days on: everything goes
        wait_for(lambda: len(timer.runs) >= 3, 20, "the third retention run")
        erased_now: set[str] = set(timer.runs[-1].erased)
        assert len(erased_now) == len(msn.expected) and held() == set()
        if api.deletes:
            assert {b["reason_code"] for _k, b in api.deletes} == {EXPIRED}

        store = audit_erasures(hub, tmp_path, erased_now)
        wait_for(lambda: timer.enforcer.pending() == [], 20, "the outbox emptied")
        report = verify_store(store, {})  # each erasure names a disclosure the audit has
        assert report.ok, report.problems
        store.close()
