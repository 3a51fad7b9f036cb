"""Kill a sink process with SIGKILL mid-stream and restart it: every disclosure ends up in
the recipient database exactly once, every one is receipted, and a disclosure written
before the kill keeps its first delivery time in every receipt."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest
import yaml

from tests.connectors.conftest import (
    Hub,
    for_msn,
    hub_env,
    kill_and_restart,
    police_events,
    publish_police,
    read_receipts,
)

pytestmark = pytest.mark.integration


def test_sink_killed_mid_stream_loses_and_duplicates_nothing(hub: Hub, tmp_path: Path) -> None:
    events = police_events(2500, seed=21)
    expected = {e["envelope"]["event_id"] for e in events if for_msn(e)}
    publish_police(hub, events)
    db = tmp_path / "msn.db"
    cfg = tmp_path / "msn-sink.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "name": "msn-cases",
                "recipient": "modern-slavery-network",
                "state_dir": str(tmp_path / "state"),
                "batch_size": 20,  # many small batches: the kill lands between two of them
                "sink": {"type": "sql-upsert", "url_env": "MSN_DB_URL", "table": "msn_cases"},
            }
        )
    )
    env = os.environ | hub_env(hub, MSN_DB_URL=f"sqlite:///{db}")
    cmd = [sys.executable, "-m", "hub.cli.connector", "run", str(cfg)]

    def written() -> int:
        try:
            with sqlite3.connect(db) as conn:
                return int(conn.execute("SELECT count(*) FROM msn_cases").fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    at_kill = kill_and_restart(
        cmd, env, written, 60, lambda: written() >= len(expected), "deliveries"
    )
    assert at_kill < len(expected), "the kill came too late to test a restart"

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT disclosure_id, event_id, delivered_at FROM msn_cases"
        ).fetchall()
    # Each event once: none lost, none doubled.
    assert sorted(r[1] for r in rows) == sorted(expected)
    receipts = read_receipts(hub, len(expected))
    ats: dict[str, set[str]] = {}
    for r in receipts:
        assert r.status == "delivered"
        ats.setdefault(r.disclosure_id, set()).add(r.at)
    assert set(ats) == {r[0] for r in rows}
    # A batch written but not committed before the kill is receipted again after the
    # restart, with the same receipt id and the same (first) delivery time.
    assert all(len(v) == 1 for v in ats.values())
