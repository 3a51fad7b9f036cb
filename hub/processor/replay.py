"""Replay dead letters to their original topics once the partner has fixed the cause.

A dead letter holds the partner's original bytes and headers (signature included), so a
replayed record is exactly what the partner sent; the processor then decides it afresh and
the audit records the new outcome. Replay never edits a record: fixing data is the partner's
job, and the signature would not verify if the hub changed it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition

from hub.broker.admin import end_offsets
from hub.broker.client_config import consumer_config, producer_config
from hub.broker.records import coordinates, headers_bytes
from hub.catalogue.topics import DEADLETTER_TOPIC, REPLAY_GROUP
from hub.errors import BrokerUnavailable


@dataclass(frozen=True)
class DeadLetter:
    dlq_partition: int
    dlq_offset: int
    topic: str
    partition: int
    offset: int
    partner: str
    reason_code: str
    reason: str


def _describe(msg: Message) -> DeadLetter:
    h = {k: v.decode(errors="replace") for k, v in headers_bytes(msg).items()}
    _t, partition, offset = coordinates(msg)
    return DeadLetter(
        dlq_partition=partition,
        dlq_offset=offset,
        topic=h.get("hub.dlq.topic", ""),
        partition=int(h.get("hub.dlq.partition", "-1")),
        offset=int(h.get("hub.dlq.offset", "-1")),
        partner=h.get("hub.dlq.partner", ""),
        reason_code=h.get("hub.dlq.reason_code", ""),
        reason=h.get("hub.dlq.reason", ""),
    )


def replay(
    bootstrap: str,
    select: Callable[[DeadLetter], bool],
    timeout: float = 30.0,
) -> list[DeadLetter]:
    """Re-publish the selected dead letters (as originally sent) to their original topics."""
    ends = end_offsets(bootstrap, DEADLETTER_TOPIC)
    remaining = {p: o for p, o in ends.items() if o > 0}
    # Every partition assigned from its first offset, not subscribed: a replay must not
    # depend on an earlier one, and two operators replaying at once must each see every
    # dead letter (as members of one group they would split the partitions between them).
    consumer = Consumer(consumer_config(bootstrap, REPLAY_GROUP))
    producer = Producer(producer_config(bootstrap))
    replayed: list[DeadLetter] = []
    errors: list[str] = []
    try:
        consumer.assign([TopicPartition(DEADLETTER_TOPIC, p, OFFSET_BEGINNING) for p in remaining])
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.5):
                if msg.error() is not None:
                    continue
                _t, partition, offset = coordinates(msg)
                if offset + 1 >= remaining.get(partition, 0):
                    remaining.pop(partition, None)
                letter = _describe(msg)
                if not letter.topic or not select(letter):
                    continue
                original = [
                    (k, v) for k, v in headers_bytes(msg).items() if not k.startswith("hub.dlq.")
                ]
                producer.produce(
                    letter.topic,
                    value=msg.value(),
                    key=msg.key(),
                    headers=original,  # type: ignore[arg-type]  # stub is invariant
                    on_delivery=lambda err, _m: errors.append(str(err)) if err else None,
                )
                replayed.append(letter)
        if producer.flush(timeout) or errors:
            raise BrokerUnavailable(f"replay not acknowledged: {errors[:3]}")
    finally:
        consumer.close()
        producer.close()
    return replayed
