"""Offsets as an object: where each partition's handled records end, committed only once
everything the batch produced is acknowledged.

The rule "never commit past an unacknowledged record" is written here, once
(:meth:`Offsets.commit`), and tested once (tests/kafka/test_offsets.py). The processor,
the sinks, the audit ingester and the dead-letter tools all commit through it.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from hub.errors import BrokerUnavailable
from hub.kafka.producer import CheckedProducer

# Nothing transactional should hang a stopping service for long; the broker's
# transaction timeout (60 s by default) aborts what we leave open.
TRANSACTION_TIMEOUT = 30.0


class Offsets:
    """The next offset to read in each partition, for records already handled."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: dict[tuple[str, int], int] = {}

    def advance(self, records: Iterable[Message]) -> None:
        """Mark ``records`` handled: their effects are produced (or durable) by now."""
        nxt = self._next
        for msg in records:
            # Records of one partition arrive in order: the last one wins.
            nxt[(msg.topic(), msg.partition())] = msg.offset() + 1  # type: ignore[index,operator]

    def advance_to(self, topic: str, partition: int, next_offset: int) -> None:
        self._next[(topic, partition)] = next_offset

    def forget(self) -> None:
        """Drop what was advanced and not committed: a batch that failed is handled again
        from the group's committed offsets, and its positions must never ride along with
        the commit of a later batch."""
        self._next.clear()

    def __bool__(self) -> bool:
        return bool(self._next)

    def next_offsets(self) -> dict[tuple[str, int], int]:
        return dict(self._next)

    def positions(self) -> list[TopicPartition]:
        return [TopicPartition(t, p, o) for (t, p), o in self._next.items()]

    def commit(
        self, consumer: Consumer, producer: CheckedProducer | None, *, wait: bool = True
    ) -> None:
        """Wait until every record ``producer`` queued is acknowledged, then commit.
        A record unacknowledged or refused raises, and nothing is committed: the batch is
        handled again after a restart (outputs are idempotent by their ids).

        ``wait=False`` sends the commit without waiting for the broker's answer (the batch
        loop: the next batch need not wait a round trip for it). The rule holds either way:
        the commit is sent only once everything is acknowledged. A commit that then fails
        is logged (hub/kafka/config.py ``commit_reported``) and its records are handled again
        after a restart, as after a crash before a commit; the consumer's close waits for
        commits still in flight."""
        if not self._next:
            return
        if producer is not None:
            producer.flush_or_raise()
        try:
            if wait:
                consumer.commit(offsets=self.positions(), asynchronous=False)
            else:
                consumer.commit(offsets=self.positions(), asynchronous=True)
        except KafkaException as exc:
            raise BrokerUnavailable(f"offset commit failed: {exc}") from exc
        self._next.clear()

    def commit_in_transaction(self, consumer: Consumer, producer: CheckedProducer) -> None:
        """Apache Kafka: outputs and offsets commit atomically, so read_committed readers
        never see a batch that is later handled again."""
        raw = producer.raw
        try:
            if self._next:
                raw.send_offsets_to_transaction(
                    self.positions(),
                    consumer.consumer_group_metadata(),
                    TRANSACTION_TIMEOUT,
                )
            raw.commit_transaction(TRANSACTION_TIMEOUT)
        except KafkaException as exc:
            raise BrokerUnavailable(
                f"transaction not committed: {exc}. The batch will be handled again."
            ) from exc
        errors = producer.take_errors()
        if errors:
            raise BrokerUnavailable(f"deliveries failed inside the transaction: {errors[:5]}")
        self._next.clear()
