"""The SQL upsert sink on SQLite and a real PostgreSQL, behind the real processor: each
disclosure is written once, receipted once per status, and a redelivery changes nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from connectors.base.runtime import build
from connectors.base.sink import SinkRunner
from connectors.sinks.sql_upsert import SqlUpsertWriter
from tests.connectors.conftest import (
    Hub,
    for_msn,
    hub_env,
    police_events,
    publish_police,
    read_receipts,
    sink_config,
    start_sink,
)

pytestmark = pytest.mark.integration
MSN = "modern-slavery-network"


def test_msn_case_list_written_once_and_receipted(
    hub: Hub, tmp_path: Path, database_url: str
) -> None:
    events = police_events(250, seed=5)
    expected = {e["envelope"]["event_id"] for e in events if for_msn(e)}
    publish_police(hub, events)
    config = sink_config(
        hub, tmp_path, MSN, {"type": "sql-upsert", "url_env": "MSN_DB_URL", "table": "msn_cases"}
    )
    sink = start_sink(hub, config, hub_env(hub, MSN_DB_URL=database_url), len(expected))
    time.sleep(0.5)
    assert isinstance(sink.writer, SqlUpsertWriter)
    rows = sink.writer.rows()
    assert {r["event_id"] for r in rows} == expected
    assert len({r["disclosure_id"] for r in rows}) == len(rows)
    for r in rows:  # the pseudonymised shape the agreement allows, in the summary columns too
        assert r["person_token"].startswith("tok.") and "given_name" not in r["record"]
        assert r["category"] in {"CCE", "CSE", "COUNTY_LINES", "MODERN_SLAVERY"}
    assert sum(1 for r in rows if r["age_band"]) > 0.9 * len(rows)  # a few dobs are unknown
    first = {r["disclosure_id"]: r["delivered_at"] for r in rows}

    # Redelivery: a second consumer group reads the whole stream again.
    again = build(
        config.model_copy(update={"name": "msn-replay"}), hub_env(hub, MSN_DB_URL=database_url)
    )
    assert isinstance(again, SinkRunner)
    again.run(threading.Event(), until=lambda s: s.counts.receipts >= len(expected))
    again.close()
    assert {r["disclosure_id"]: r["delivered_at"] for r in sink.writer.rows()} == first

    receipts = read_receipts(hub, 2 * len(expected))
    assert len(receipts) == 2 * len(expected)
    by_id: dict[str, set[str]] = {}
    for receipt in receipts:
        assert receipt.status == "delivered" and receipt.recipient == MSN
        assert receipt.sink == f"{MSN}-system"
        by_id.setdefault(receipt.receipt_id, set()).add(receipt.at)
    # Same receipt id and the same "delivered at" (the first delivery) both times.
    assert set(by_id) == {f"{d}:delivered" for d in first}
    assert all(len(ats) == 1 for ats in by_id.values())
