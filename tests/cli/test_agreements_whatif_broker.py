"""`hub agreements whatif` on the embedded broker: the partner topic read back and decoded as
the console reads it, the audit as the baseline. The CLI's result equals the console
engine's for the same draft, and its progress reaches 100% of the partitions' end offsets.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.synthetic.police import PoliceFeed
from hub.agreements import load_agreements
from hub.agreements.loader import load_agreement
from hub.audit.queries import events_decided
from hub.audit.records import AuditRecord
from hub.audit.store import AuditStore
from hub.broker import EmbeddedBroker
from hub.catalogue import EventType
from hub.catalogue.schemas import load_catalogue
from hub.cli.agreements_whatif import FIRST_DAY, LAST_DAY, as_dict
from hub.cli.main import main
from hub.console.whatif import KafkaEventSource, run_whatif
from hub.policy.engine import PolicyEngine
from tests.cli.test_agreements_whatif import ROOT, write_draft
from tests.plugin import POLICE, POLICE_TOPIC, PolicePublisher

pytestmark = pytest.mark.integration
DECIDED = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def record(store: AuditStore, events: list[dict[str, object]], concern_type: EventType) -> None:
    """The decisions the processor would have recorded under today's agreements."""
    engine = PolicyEngine(load_agreements(ROOT / "partnership" / "agreements"))
    store.write_decisions(
        AuditRecord.of_decision(
            d,
            legal_basis=None,
            gateways=(),
            decided_at=DECIDED.isoformat(),
            instance="p0",
            source=(POLICE_TOPIC, 0, 0),
            fields=d.plan.audit_fields() if d.plan is not None else None,
        )
        for e in events
        for d in engine.decide(e, concern_type, POLICE, DECIDED)
    )


def test_the_cli_equals_the_console_engine_on_the_broker(
    tmp_path: Path,
    broker: EmbeddedBroker,
    registry_url: str,
    concern_type: EventType,
    police_publisher: PolicePublisher,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = PoliceFeed(seed=23).events(400)
    publisher = police_publisher(None)
    for e in events:
        publisher.publish(e)
    publisher.send_raw(b"not avro at all")  # dead-lettered input: read past, never compared
    publisher.close()
    audit_url = f"sqlite:///{tmp_path / 'audit.db'}"
    store = AuditStore(audit_url)
    record(store, events[:350], concern_type)  # the last 50 were never decided
    draft = write_draft(tmp_path)
    code = main(
        ["agreements", "whatif", str(draft), "--bootstrap", broker.bootstrap,
         "--registry-url", registry_url, "--audit-url", audit_url, "--json"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    got = json.loads(out)
    got.pop("seconds")
    assert "what-if: 100.0% 400 events read" in err
    source = KafkaEventSource(broker.bootstrap, registry_url, load_catalogue(ROOT / "schemas/avro"))
    with store.engine.connect() as conn:
        expected = run_whatif(
            load_agreement(draft),
            load_agreements(ROOT / "partnership" / "agreements"),
            source,
            lambda ids: events_decided(conn, ids),
            FIRST_DAY,
            LAST_DAY,
        )
    assert got == as_dict(expected)
    assert got["events_read"] == 400 and got["compared"] == 350 and got["not_in_audit"] == 50
    msn = got["recipients"]["modern-slavery-network"]
    assert msn["newly_shared"] > 0 and "borough" in msn["fields_removed"]
    # The reader's own count: every offset of the partitions passed, the bad record included.
    done, total = source.position()
    assert done == total and total >= 401
