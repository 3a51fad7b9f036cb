"""A trace id on every record with no exporter configured: a source starts a W3C trace per
record, the processor's audit records its id, and the sink's receipt continues it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from connectors.base.config import parse_config
from connectors.base.runtime import run
from hub.audit.store import AuditStore
from hub.catalogue import RECEIPTS_TOPIC, partner_topic
from hub.telemetry.tracing import trace_id_from, tracing_active
from tests.connectors.conftest import Hub, hub_env, read_topic, wait_for
from tests.ingest import ingest

pytestmark = pytest.mark.integration

FIRE, SLUG, MASH = "merseyside-fire", "safe-and-well-referral", "liverpool-mash"


def _trace(headers: list[tuple[str, bytes]] | None) -> str | None:
    return trace_id_from(dict(headers or []).get("traceparent"))


def test_source_audit_and_receipt_share_the_trace_id(hub: Hub, tmp_path: Path) -> None:
    assert not tracing_active(), "this test is about running without an exporter"
    source = parse_config(
        {
            "name": "dummy-fire",
            "partner": FIRE,
            "signing": {
                "key_id": f"{FIRE}/dev1",
                "dev_keys_dir": str(hub.settings.data_dir / "partner-keys"),
            },
            "state_dir": str(tmp_path / "src"),
            "source": {"kind": "dummy", "event_type": SLUG, "count": 40, "seed": 4},
        }
    )
    sink = parse_config(
        {
            "name": "dummy-mash",
            "recipient": MASH,
            "state_dir": str(tmp_path / "snk"),
            "sink": {"kind": "dummy", "path": str(tmp_path / "delivered.jsonl")},
        }
    )
    stop, env = threading.Event(), hub_env(hub)
    threads = [
        threading.Thread(target=run, args=(c, env), kwargs={"stop": stop, "install_signals": False})
        for c in (source, sink)
    ]
    for t in threads:
        t.start()
    wait_for(lambda: hub.processor.stats.consumed >= 40, 60, "the processor")
    shared = hub.processor.stats.shared[MASH]
    assert shared > 0
    receipts = read_topic(hub.bootstrap, RECEIPTS_TOPIC, shared, timeout=60)
    stop.set()
    for t in threads:
        t.join(20)

    # Every published record carries a trace of its own, set by the source.
    published = read_topic(hub.bootstrap, partner_topic(FIRE, SLUG), 40)
    by_event = {m.key().decode(): _trace(m.headers()) for m in published}
    assert len(by_event) == 40 and None not in by_event.values()
    assert len(set(by_event.values())) == 40, "one trace per record"

    audit = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    ingest(hub.bootstrap, audit)
    rows = audit.all_decisions()
    assert {r["event_id"] for r in rows} == set(by_event)
    for r in rows:
        assert r["trace_id"] == by_event[r["event_id"]], r["decision_id"]
    by_disclosure = {r["disclosure_id"]: r["trace_id"] for r in rows if r["disclosure_id"]}
    assert len(receipts) >= shared
    for m in receipts:
        disclosure = m.key().decode()
        assert _trace(m.headers()) == by_disclosure[disclosure], disclosure
    audit.close()
