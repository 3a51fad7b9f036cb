"""The events ledger loaded from a real ``hub.events.v1`` (embedded broker): the load ends at
each partition's end as the client reports it, not at a queried high watermark (which the
embedded broker reports short: the last produce batch's base offset + 1) nor after a quiet
period, and into the on-disk store the processor uses by default."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from hub.broker import EmbeddedBroker, end_offsets, ensure_topics
from hub.catalogue.topics import EVENTS_TOPIC
from hub.kafka.connection import KafkaConnection
from hub.processor.ledger import LedgerEntry, content_digest, topic_ledger
from hub.processor.ledger_store import CACHE_DIR, SqliteStore, open_store

pytestmark = pytest.mark.integration

P = "merseyside-police"


def entry(i: int) -> LedgerEntry:
    reached = {"liverpool-mash": [f"d-{i}", 1, True]} if i % 2 else None
    return LedgerEntry(P, f"e{i}", content_digest({"i": i}), f"t:0:{i}", "now", 1, reached=reached)


def test_the_load_reads_to_the_end_the_client_sees_into_the_disk_store(tmp_path: Path) -> None:
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, [EVENTS_TOPIC], partitions=1)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 50})
        n = 0
        for batch in (10, 7):
            for _ in range(batch):
                e = entry(n)
                producer.produce(EVENTS_TOPIC, e.to_json(), e.key(), 0)
                n += 1
            assert producer.flush(10) == 0
        assert end_offsets(broker.bootstrap, EVENTS_TOPIC)[0] < 17  # the broker's answer
        kafka = KafkaConnection(broker.bootstrap)
        store = open_store("disk", tmp_path, "hub-processor-0")
        ledger = topic_ledger(kafka, f"test-{uuid.uuid4()}", store)
        try:
            assert ledger.loaded == 17
            for i in range(17):
                assert ledger.entry(P, f"e{i}") is not None
                assert ledger.seen(P, f"e{i}", content_digest({"i": i})) is True
        finally:
            ledger.close()
        assert isinstance(store, SqliteStore) and not store.path.exists()
        assert list((tmp_path / CACHE_DIR).iterdir()) == []


def test_an_empty_or_partly_empty_topic_ends_without_waiting(tmp_path: Path) -> None:
    """Three partitions, two of them empty: each reports its end at once."""
    with EmbeddedBroker() as broker:
        kafka = KafkaConnection(broker.bootstrap)
        started = time.monotonic()
        empty = topic_ledger(kafka, f"test-{uuid.uuid4()}")  # creates the topic (3 partitions)
        empty.close()
        assert empty.loaded == 0
        producer = Producer({"bootstrap.servers": broker.bootstrap})
        for i in range(5):
            e = entry(i)
            producer.produce(EVENTS_TOPIC, e.to_json(), e.key(), 0)
        assert producer.flush(10) == 0
        ledger = topic_ledger(kafka, f"test-{uuid.uuid4()}", open_store("disk", tmp_path))
        ledger.close()
        assert ledger.loaded == 5
        # Far under the load's timeout (120 s): neither load waited for anything.
        assert time.monotonic() - started < 60
