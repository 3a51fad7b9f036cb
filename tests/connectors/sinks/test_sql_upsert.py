"""The SQL upsert sink on SQLite and a real PostgreSQL, behind the real processor: each
disclosure is written once, receipted once per status, and a redelivery changes nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from connectors.sinks.sql_upsert import SqlUpsertWriter
from tests.connectors.conftest import (
    Hub,
    for_msn,
    publish_shared,
    read_receipts,
    start_sink,
)

pytestmark = pytest.mark.integration
MSN = "modern-slavery-network"


def test_msn_case_list_written_once_and_receipted(
    hub: Hub, tmp_path: Path, database_url: str
) -> None:
    expected = {e["envelope"]["event_id"] for e in publish_shared(hub, 250, 5, for_msn)}
    spec = {"type": "sql-upsert", "url_env": "MSN_DB_URL", "table": "msn_cases"}
    running = start_sink(hub, tmp_path, MSN, spec, len(expected), {"MSN_DB_URL": database_url})
    sink = running.runner
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
    running.replay(len(expected))
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
