"""Replay reads to the end it can see, not to a queried high watermark (issue 15 item 8).

The embedded broker answers a query for the end offset with the last produce batch's base
offset + 1: with 17 dead letters written in batches of 10 and 7 it says 11. A replay that
stopped there would leave the last 6 behind without a word."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from hub.broker import EmbeddedBroker, end_offsets, ensure_topics
from hub.catalogue import DEADLETTER_TOPIC
from hub.processor.replay import replay

pytestmark = pytest.mark.integration

TARGET = "partner.merseyside-police.safeguarding-concern.v1"


def test_replay_reads_to_the_end_it_can_see() -> None:
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, [DEADLETTER_TOPIC, TARGET], partitions=1)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 50})
        n = 0
        for batch in (10, 7):
            for _ in range(batch):
                headers = [
                    ("hub.dlq.topic", TARGET.encode()),
                    ("hub.dlq.partition", b"0"),
                    ("hub.dlq.offset", str(n).encode()),
                    ("hub.dlq.partner", b"merseyside-police"),
                    ("hub.dlq.reason_code", b"unknown-signer"),
                    ("hub.dlq.reason", b"key not registered yet"),
                ]
                producer.produce(
                    DEADLETTER_TOPIC, b"original bytes", f"k{n}".encode(), 0, headers=headers
                )
                n += 1
            assert producer.flush(10) == 0
        assert end_offsets(broker.bootstrap, DEADLETTER_TOPIC)[0] < 17  # the broker's answer
        done = replay(broker.bootstrap, lambda d: d.partner == "merseyside-police")
        assert sorted(d.offset for d in done) == list(range(17))
