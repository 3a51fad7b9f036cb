"""Reading the analytics' changelogs to their true end (hub/analytics/changelogs.py).

On the embedded broker, keyed JSON records are produced in multi-record batches, as faust's
producer sends table updates; the reader must return every key's latest value, deletions
applied, although the broker reports the partition's end short (the last batch's first
offset + 1), which is what made faust's own restore stop early.
"""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Producer

from hub.analytics.changelogs import make_equal, read_changelogs
from hub.broker import EmbeddedBroker, ensure_topics
from hub.broker.client_config import producer_config
from hub.kafka import KafkaConnection


def _j(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.integration
def test_every_record_of_every_batch_is_read(broker: EmbeddedBroker) -> None:
    topics = ["t-changelog-a", "t-changelog-b"]
    ensure_topics(broker.bootstrap, topics)
    # A long linger: each round goes to the broker as one batch of many records.
    producer = Producer({**producer_config(broker.bootstrap), "linger.ms": 200})
    expected: dict[str, dict[str, object]] = {t: {} for t in topics}
    for round_ in range(3):
        for i in range(20):
            for t in topics:
                producer.produce(t, key=_j(f"k{i}"), value=_j({"round": round_, "i": i}))
                expected[t][f"k{i}"] = {"round": round_, "i": i}
        producer.flush(30)
    producer.produce(topics[0], key=_j("k3"), value=None)  # a deletion, as faust writes one
    producer.flush(30)
    del expected[topics[0]]["k3"]

    states = read_changelogs(KafkaConnection.of(broker.bootstrap), topics, "t-reader", timeout=60)
    assert states == expected


def test_make_equal_sets_changes_and_deletes_only_what_differs() -> None:
    table: dict[str, object] = {"same": 1, "stale": 2, "gone": 3}
    changed = make_equal(table, {"same": 1, "stale": 20, "new": 4})
    assert table == {"same": 1, "stale": 20, "new": 4}
    assert changed == 3  # stale, gone, new; "same" untouched
    assert make_equal(table, dict(table)) == 0
