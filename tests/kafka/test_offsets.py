"""The rule "never commit past an unacknowledged record", written once in
hub/kafka/offsets.py, tested once here, for every component that commits through the kit."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import BrokerUnavailable
from hub.kafka import BatchLoop, CheckedProducer, DeliveryFailed, Offsets
from tests.processor.stubs import FakeConsumer, FakeMessage, FakeProducer


class RefusingProducer(FakeProducer):
    """The broker refuses one record: its delivery report says so."""

    def produce(self, topic: str, value: Any = None, key: Any = None, **kw: Any) -> None:
        super().produce(topic, value, key, kw.get("headers"))
        if value == b"refused":
            kw["on_delivery"](RuntimeError("MSG_SIZE_TOO_LARGE"), FakeMessage(topic, 0, -1, value))


def records(*coords: tuple[str, int, int]) -> list[FakeMessage]:
    return [FakeMessage(t, p, o, b"x") for t, p, o in coords]


def test_offsets_advance_to_the_record_after_the_last_handled_in_each_partition() -> None:
    offsets = Offsets()
    offsets.advance(records(("a", 0, 4), ("a", 1, 9), ("a", 0, 5)))  # type: ignore[arg-type]
    assert offsets.next_offsets() == {("a", 0): 6, ("a", 1): 10}
    assert sorted((tp.topic, tp.partition, tp.offset) for tp in offsets.positions()) == [
        ("a", 0, 6),
        ("a", 1, 10),
    ]


@pytest.mark.parametrize("failure", ["unacknowledged", "refused"])
def test_never_commit_past_an_unacknowledged_record(failure: str) -> None:
    """A record still queued, or refused by the broker: nothing is committed, and the
    caller hears of it (the batch is handled again after a restart)."""
    raw = RefusingProducer(undelivered=1 if failure == "unacknowledged" else 0)
    producer = CheckedProducer(raw, 1_000_000)  # type: ignore[arg-type]
    consumer = FakeConsumer()
    loop = BatchLoop(consumer, name="t", size=10, wait=0.01, producer=producer)  # type: ignore[arg-type]

    def handler(batch: list[Any]) -> None:
        producer.produce("out", b"refused" if failure == "refused" else b"ok")

    with pytest.raises(DeliveryFailed):
        loop.handle(records(("in", 0, 0)), handler)  # type: ignore[arg-type]
    assert consumer.commits == []
    assert issubclass(DeliveryFailed, BrokerUnavailable)  # retryable: restart, nothing lost


def test_commit_after_everything_is_acknowledged() -> None:
    raw = FakeProducer()
    producer = CheckedProducer(raw, 1_000_000)  # type: ignore[arg-type]
    consumer = FakeConsumer()
    loop = BatchLoop(consumer, name="t", size=10, wait=0.01, producer=producer)  # type: ignore[arg-type]
    loop.handle(records(("in", 0, 0), ("in", 0, 1)), lambda b: producer.produce("out", b"ok"))  # type: ignore[arg-type]
    assert [p["topic"] for p in raw.produced] == ["out"]  # flushed before the commit
    [[tp]] = consumer.commits
    assert (tp.topic, tp.partition, tp.offset) == ("in", 0, 2)


def test_a_handler_that_fails_commits_nothing() -> None:
    consumer = FakeConsumer()
    loop = BatchLoop(consumer, name="t", size=10, wait=0.01)  # type: ignore[arg-type]

    def handler(batch: list[Any]) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        loop.handle(records(("in", 0, 0)), handler)  # type: ignore[arg-type]
    assert consumer.commits == []


def test_a_failed_batch_never_rides_along_with_a_later_commit() -> None:
    """Partition 0's batch fails to be acknowledged; partition 1's next batch succeeds:
    only partition 1 is committed (partition 0 is handled again from its committed offset)."""
    raw = FakeProducer(undelivered=1)
    producer = CheckedProducer(raw, 1_000_000)  # type: ignore[arg-type]
    consumer = FakeConsumer()
    loop = BatchLoop(consumer, name="t", size=10, wait=0.01, producer=producer)  # type: ignore[arg-type]
    with pytest.raises(DeliveryFailed):
        loop.handle(records(("in", 0, 7)), lambda b: producer.produce("out", b"x"))  # type: ignore[arg-type]
    raw.undelivered = 0
    raw.pending.clear()
    loop.handle(records(("in", 1, 3)), lambda b: producer.produce("out", b"y"))  # type: ignore[arg-type]
    [[tp]] = consumer.commits
    assert (tp.topic, tp.partition, tp.offset) == ("in", 1, 4)
