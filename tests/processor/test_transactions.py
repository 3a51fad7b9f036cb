"""The transactional mode (``HUB_TRANSACTIONS=true``, for Apache Kafka): a batch's outputs,
audit records and consumer offsets commit together. Run here on the embedded broker, which
accepts transactions (it does not isolate aborted ones, which is why correctness never
depends on them): the committed path works end to end and a restart resumes after it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from connectors.synthetic.police import PoliceFeed
from hub.audit.store import AuditStore
from hub.broker import EmbeddedBroker
from hub.broker.client_config import consumer_config
from hub.catalogue import partner_topic, share_topic
from hub.config import Settings
from hub.processor import build_processor
from hub.processor.build import partner_keys
from tests.ingest import ingest
from tests.plugin import HUB_TOPICS, POLICE, PolicePublisher

pytestmark = pytest.mark.integration

TOPIC = partner_topic("merseyside-police", "safeguarding-concern")
CANDIDATES = ["knowsley-mash", "liverpool-mash", "modern-slavery-network"]


def test_transactional_batches_commit_outputs_and_offsets(
    tmp_path: Path, broker: EmbeddedBroker, registry_url: str, police_publisher: PolicePublisher
) -> None:
    settings = Settings(data_dir=tmp_path, transactions=True, processor_instance="tx-0")
    outputs = [share_topic(r, "safeguarding-concern") for r in CANDIDATES]
    signer = partner_keys(settings).dev_signing_key(POLICE)
    publisher = police_publisher(signer, [*HUB_TOPICS, *outputs])
    for event in PoliceFeed(seed=12).events(60):
        publisher.publish(event)
    publisher.flush()

    processor = build_processor(settings, bootstrap=broker.bootstrap, registry_url=registry_url)
    stats = processor.run(threading.Event(), until=lambda s: s.consumed >= 60)
    processor.close()
    assert stats.consumed == 60 and stats.batches >= 1

    # The group's offsets were committed through the transaction.
    probe = Consumer(consumer_config(broker.bootstrap, settings.consumer_group))
    committed = probe.committed([TopicPartition(TOPIC, p) for p in range(3)], timeout=10)
    probe.close()
    assert sum(max(0, tp.offset) for tp in committed) == 60

    audit = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    assert ingest(broker.bootstrap, audit) == 60 * len(CANDIDATES)
    shared = audit.count_decisions("shared")
    assert shared == sum(stats.shared.values()) > 0

    # A restarted instance (same transactional id: it fences its predecessor) finds
    # nothing left to do, and nothing new reaches the audit.
    publisher.publish(PoliceFeed(seed=13).next_event())
    publisher.close()
    again = build_processor(settings, bootstrap=broker.bootstrap, registry_url=registry_url)
    second = again.run(threading.Event(), until=lambda s: s.consumed >= 1)
    again.close()
    assert second.consumed == 1
    assert ingest(broker.bootstrap, audit) == len(CANDIDATES)
    audit.close()
