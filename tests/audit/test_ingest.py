"""The audit ingester on the real broker: hub.audit.v1 and hub.receipts.v1 into the store,
idempotently; an unreadable receipt is reported and skipped; and a lost store is rebuilt
from the topics into an identical, verifiable chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Producer

from hub.audit.records import DEAD_LETTER, DECISION, KIND_HEADER, DeadLetterRecord, ReceiptRecord
from hub.audit.store import AuditStore
from hub.audit.verify import verify_store
from hub.broker import EmbeddedBroker, ensure_topics
from hub.broker.client_config import producer_config
from hub.catalogue import AUDIT_TOPIC, RECEIPTS_TOPIC
from hub.config import Settings
from hub.identity import PartnerKeyStore
from hub.processor.build import build_ingester
from tests.audit.test_store import record

pytestmark = pytest.mark.integration


def ingest(bootstrap: str, store: AuditStore, group: str) -> tuple[int, int]:
    ingester = build_ingester(Settings(audit_ingest_group=group), bootstrap=bootstrap, store=store)
    try:
        stats = ingester.run_until_idle(0.5, timeout=60)
    finally:
        ingester.close()
    return stats.stored, stats.rejected


def test_ingest_is_idempotent_and_the_store_rebuilds_from_the_topics(tmp_path: Path) -> None:
    keys = PartnerKeyStore(None, tmp_path / "audit-keys")
    signer = keys.dev_signing_key("hub-audit")
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, [AUDIT_TOPIC, RECEIPTS_TOPIC])
        producer = Producer(producer_config(broker.bootstrap))
        decisions = [record(f"d{i}") for i in range(40)]
        decision_kind = [(KIND_HEADER, DECISION.encode())]
        # Four records twice on the topic, as after a processor crash between flush and commit.
        for r in [*decisions, *(r for r in decisions if r.decision_id.endswith("7"))]:
            producer.produce(
                AUDIT_TOPIC, r.to_json(), r.decision_id.encode(), headers=decision_kind
            )
        dead = DeadLetterRecord(
            "t:0:9", "merseyside-police", "t", 0, 9, "unsigned", "no sig", "sign", "now"
        )
        producer.produce(
            AUDIT_TOPIC, dead.to_json(), b"t:0:9", headers=[(KIND_HEADER, DEAD_LETTER.encode())]
        )
        # A receipt for one of the shared decisions (verify checks receipts against them).
        disclosure = "disc-d0"
        receipt = ReceiptRecord(
            f"{disclosure}:delivered", disclosure, "liverpool-mash", "mash", "delivered", "now"
        )
        producer.produce(RECEIPTS_TOPIC, receipt.to_json(), disclosure.encode())
        producer.produce(RECEIPTS_TOPIC, b"{not json", b"y")  # a broken connector's receipt
        assert producer.flush(30) == 0

        first = AuditStore(f"sqlite:///{tmp_path / 'a.db'}", signer=signer)
        assert ingest(broker.bootstrap, first, "ingest") == (42, 1)
        assert ingest(broker.bootstrap, first, "ingest") == (0, 0)  # committed: nothing again
        assert ingest(broker.bootstrap, first, "replayed") == (0, 1)  # redelivered: stored once
        assert first.count_decisions() == 40 and first.count_dead_letters() == 1
        assert len(first.all_receipts()) == 1

        # The store is lost: a new one, rebuilt from the topics by a new group.
        rebuilt = AuditStore(f"sqlite:///{tmp_path / 'b.db'}", signer=signer)
        assert ingest(broker.bootstrap, rebuilt, "rebuild")[0] == 42
        assert sorted(d["decision_id"] for d in rebuilt.all_decisions()) == sorted(
            d["decision_id"] for d in first.all_decisions()
        )
        assert verify_store(rebuilt, keys.public_keys()).ok
        first.close()
        rebuilt.close()
