"""bench/scaling.py counts a topic's records by reading to the end the client reports."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from bench.scaling import end_offsets
from hub.broker import EmbeddedBroker, ensure_topics
from hub.broker.client_config import producer_config


@pytest.mark.integration
def test_end_offsets_count_every_record_of_multi_record_batches(broker: EmbeddedBroker) -> None:
    ensure_topics(broker.bootstrap, ["t-bench-ends"], partitions=3)
    producer = Producer({**producer_config(broker.bootstrap), "linger.ms": 100})
    for i in range(150):
        producer.produce("t-bench-ends", value=b"x", partition=i % 3)
    producer.flush(30)
    assert end_offsets(broker.bootstrap, "t-bench-ends", 3) == 150
