"""Replay dead letters to their original topics once the partner has fixed the cause.

A dead letter holds the partner's original bytes and headers (signature included), so a
replayed record is exactly what the partner sent; the processor then decides it afresh and
the audit records the new outcome. Replay never edits a record: fixing data is the partner's
job, and the signature would not verify if the hub changed it. A dead letter *by reference*
(a record too large to copy) holds no bytes: it is listed, never replayed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from confluent_kafka import Message

from hub.catalogue.topics import DEADLETTER_TOPIC, REPLAY_GROUP
from hub.errors import BrokerUnavailable
from hub.kafka import BatchLoop, KafkaConnection, assign_from_start, coordinates, headers_bytes
from hub.kafka.records import Headers
from hub.processor.deadletter import BY_REFERENCE_HEADER


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
    by_reference: bool = False


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
        by_reference=BY_REFERENCE_HEADER in h,
    )


def replay(
    bootstrap: str | KafkaConnection,
    select: Callable[[DeadLetter], bool],
    timeout: float = 30.0,
    skipped: list[DeadLetter] | None = None,
) -> list[DeadLetter]:
    """Re-publish the selected dead letters (as originally sent) to their original topics.
    Selected dead letters held by reference are appended to ``skipped``, not replayed.

    It reads every partition of the dead letter topic to its end, as the client's
    end-of-partition event reports it (not a queried high watermark, which the embedded
    broker under-reports)."""
    kafka = KafkaConnection.of(bootstrap)
    # Every partition assigned from its first offset, not subscribed: a replay must not
    # depend on an earlier one, and two operators replaying at once must each see every
    # dead letter (as members of one group they would split the partitions between them).
    consumer = kafka.consumer(REPLAY_GROUP, **{"enable.partition.eof": True})
    producer = kafka.producer()
    loop = BatchLoop(consumer, name="dead-letter replay", size=500, wait=0.5, commit=False)
    replayed: list[DeadLetter] = []
    try:
        pending = set(assign_from_start(consumer, [DEADLETTER_TOPIC], timeout))
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(
                    f"replay did not reach the end of {DEADLETTER_TOPIC} in {timeout:.0f}s"
                )
            batch = loop.poll()
            pending.difference_update(batch.ended)
            for msg in batch.records:
                letter = _describe(msg)
                if not letter.topic or not select(letter):
                    continue
                if letter.by_reference:
                    if skipped is not None:
                        skipped.append(letter)
                    continue
                # The partner's headers exactly as kept (order, repeats, nulls: a batch
                # signature covers them), without the dead letter's own.
                original = [
                    (k, v)
                    for k, v in cast(Headers, msg.headers() or [])
                    if not k.startswith("hub.dlq.")
                ]
                producer.produce(letter.topic, msg.value(), msg.key(), original)
                replayed.append(letter)
        producer.flush_or_raise(timeout)
    finally:
        consumer.close()
        producer.close()
    return replayed
