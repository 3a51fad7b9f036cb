"""The waits the runtime kit puts on every record's path (bench/README.md, "Latency
budget"): the consumers' fetch wait, and a commit that the next batch does not wait for."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import KafkaError, TopicPartition
from confluent_kafka.admin import NewTopic

from hub.broker import EmbeddedBroker
from hub.config import Settings
from hub.kafka import BatchLoop, CheckedProducer, KafkaConnection, Offsets
from hub.kafka.config import FETCH_WAIT_MS, commit_reported, consumer_config
from tests.processor.stubs import FakeMessage, FakeProducer


@dataclass
class CommitLog:
    """A consumer that notes how each commit was asked for."""

    commits: list[tuple[list[Any], bool]] = field(default_factory=list)

    def commit(self, offsets: list[Any], asynchronous: bool = False) -> None:
        self.commits.append((offsets, asynchronous))


def test_every_consumer_gets_the_short_fetch_wait() -> None:
    assert consumer_config("b:9092", "g")["fetch.wait.max.ms"] == FETCH_WAIT_MS
    assert KafkaConnection("b:9092").consumer_config("g")["fetch.wait.max.ms"] == FETCH_WAIT_MS
    # The settings' default is the kit's (two literals, kept equal here).
    assert Settings().fetch_wait_ms == FETCH_WAIT_MS


def test_the_fetch_wait_is_a_setting_and_a_caller_can_still_choose() -> None:
    kafka = KafkaConnection.from_settings(Settings(fetch_wait_ms=200), bootstrap="b:9092")
    assert kafka.consumer_config("g")["fetch.wait.max.ms"] == 200
    assert kafka.consumer_config("g", **{"fetch.wait.max.ms": 50})["fetch.wait.max.ms"] == 50
    with pytest.raises(ValueError):
        Settings(fetch_wait_ms=0)


def test_the_loop_sends_its_commit_without_waiting_but_only_after_the_flush() -> None:
    raw = FakeProducer()
    producer = CheckedProducer(raw, 1_000_000)  # type: ignore[arg-type]
    consumer = CommitLog()
    loop = BatchLoop(consumer, name="t", size=10, wait=0.01, producer=producer)  # type: ignore[arg-type]
    flushed_at_commit: list[int] = []
    commit = consumer.commit

    def noting(offsets: list[Any], asynchronous: bool = False) -> None:
        flushed_at_commit.append(len(raw.pending))  # records still unacknowledged
        commit(offsets, asynchronous)

    consumer.commit = noting  # type: ignore[method-assign]
    msgs = [FakeMessage("in", 0, 4, b"x")]
    loop.handle(msgs, lambda b: producer.produce("out", b"ok"))  # type: ignore[arg-type]
    [(offsets, asynchronous)] = consumer.commits
    assert asynchronous is True
    assert flushed_at_commit == [0]
    assert [(tp.topic, tp.partition, tp.offset) for tp in offsets] == [("in", 0, 5)]


def test_a_loop_can_still_wait_for_its_commits_and_offsets_wait_by_default() -> None:
    consumer = CommitLog()
    loop = BatchLoop(consumer, name="t", size=10, wait=0.01, commit_wait=True)  # type: ignore[arg-type]
    loop.handle([FakeMessage("in", 0, 0, b"x")], lambda b: None)  # type: ignore[arg-type]
    # `hub deadletter skip` commits through Offsets directly and must hear of a failure.
    offsets = Offsets()
    offsets.advance_to("in", 1, 3)
    offsets.commit(consumer, None)  # type: ignore[arg-type]
    assert [a for _o, a in consumer.commits] == [False, False]


def test_a_failed_commit_is_reported_and_a_good_one_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="hub.kafka"):
        commit_reported(None, [TopicPartition("in", 0, 5)])
        assert caplog.records == []
        commit_reported(KafkaError(KafkaError.REBALANCE_IN_PROGRESS), [TopicPartition("in", 0, 5)])
    [record] = caplog.records
    assert "in[0]@5" in record.getMessage() and "handled again" in record.getMessage()


@pytest.mark.integration
def test_commits_sent_without_waiting_are_durable_once_the_consumer_closes(
    broker: EmbeddedBroker,
) -> None:
    """The loop does not wait for its commits; closing the consumer does, so a stopped
    component's group resumes after the last batch it handled, not before."""
    topic, group = f"waits-{time.time_ns()}", f"waits-{time.time_ns()}"
    kafka = KafkaConnection(broker.bootstrap)
    admin = kafka.admin()
    [f.result(10) for f in admin.create_topics([NewTopic(topic, 2, 1)]).values()]
    producer = kafka.producer()
    for i in range(40):
        producer.produce(topic, b"v", str(i).encode())
    producer.flush_or_raise()

    consumer = kafka.consumer(group)
    consumer.subscribe([topic])
    loop = BatchLoop(consumer, name="t", size=7, wait=0.5, producer=producer)
    handled = 0
    deadline = time.monotonic() + 60
    while handled < 40 and time.monotonic() < deadline:
        batch = loop.poll()
        if batch.records:
            loop.handle(batch.records, lambda b: None)
            handled += len(batch.records)
    assert handled == 40
    consumer.close()

    probe = kafka.consumer(group)
    try:
        committed = probe.committed([TopicPartition(topic, p) for p in (0, 1)], timeout=10)
    finally:
        probe.close()
    # Offsets start at 0: each partition's committed offset is its record count.
    assert sum(tp.offset for tp in committed) == 40
