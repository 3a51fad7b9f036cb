"""``hub deadletter skip``: the operator's last resort for a record that stops a partition.

The processor dead-letters every record it cannot decide and goes on (issue 15), so this
should never be needed; if it is (a defect the per-record guard does not catch), the
operator skips the record *on the record*: it is dead-lettered by reference (coordinates,
size, SHA-256, signer when the signature verifies) and audited, and only then is the
processor group's offset moved past it. Nothing is skipped silently, and nothing but the
named record: if the group's next offset is not that record, it refuses.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import Message, TopicPartition
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.audit.records import DEAD_LETTER, KIND_HEADER, DeadLetterRecord
from hub.catalogue.topics import AUDIT_TOPIC, parse_partner_topic
from hub.errors import BrokerUnavailable, ConfigError, InputRejected
from hub.identity.signing import verify
from hub.kafka import BatchLoop, KafkaConnection, Offsets
from hub.processor.deadletter import OperatorSkipped, Received, dead_letter, send_reference


@dataclass(frozen=True)
class Skipped:
    record: DeadLetterRecord
    committed: int  # the group's next offset in the partition now


def skip(
    kafka: KafkaConnection,
    *,
    group: str,
    topic: str,
    partition: int,
    offset: int,
    public_keys: Mapping[str, Ed25519PublicKey],
    operator: str,
    timeout: float = 30.0,
) -> Skipped:
    """Dead-letter the record at ``topic:partition:offset`` by reference, audit it, then
    commit ``group`` past it. Refuses when the group's next offset is another record."""
    committer = kafka.consumer(group)
    try:
        [tp] = committer.committed([TopicPartition(topic, partition)], timeout=timeout)
        if tp.offset < 0:  # nothing committed yet: the group starts at the earliest record
            tp.offset, _high = committer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout
            )
        if tp.offset != offset:
            raise ConfigError(
                f"group {group} reads {topic}:{partition} from offset {tp.offset}, not "
                f"{offset}: skipping {offset} would "
                + (
                    "skip nothing (it is already past it)"
                    if tp.offset > offset
                    else f"also skip offsets {tp.offset}..{offset - 1} unprocessed"
                )
            )
        msg = _read(kafka, topic, partition, offset, timeout)
        letter = _dead_letter(kafka, msg, topic, partition, offset, public_keys, operator)
        positions = Offsets()
        positions.advance_to(topic, partition, offset + 1)
        try:
            positions.commit(committer, None)
        except BrokerUnavailable as exc:
            raise BrokerUnavailable(
                f"the dead letter is recorded, but the offset was not committed ({exc}); "
                f"stop every member of group {group} (the processors) and run this again"
            ) from exc
        return Skipped(letter, offset + 1)
    finally:
        committer.close()


def _read(
    kafka: KafkaConnection, topic: str, partition: int, offset: int, timeout: float
) -> Message | None:
    """The record at ``offset``, or None if the partition no longer holds it."""
    consumer = kafka.consumer(
        f"hub-deadletter-skip-{uuid.uuid4()}", **{"enable.partition.eof": True}
    )
    loop = BatchLoop(consumer, name="deadletter skip", size=1, wait=0.5, commit=False)
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = loop.poll()
            for msg in batch.records:
                return msg if msg.offset() == offset else None
            if batch.ended:
                return None
        raise BrokerUnavailable(f"could not read {topic}:{partition}:{offset} in {timeout:.0f}s")
    finally:
        consumer.close()


def _dead_letter(
    kafka: KafkaConnection,
    msg: Message | None,
    topic: str,
    partition: int,
    offset: int,
    public_keys: Mapping[str, Ed25519PublicKey],
    operator: str,
) -> DeadLetterRecord:
    owner = parse_partner_topic(topic)
    reason = OperatorSkipped(
        f"skipped by {operator} with `hub deadletter skip`"
        + ("" if msg is not None else " (the record is no longer on its topic)"),
        fix="ask the hub operator why the record was skipped; send a corrected record",
    )
    record, dlq_headers = dead_letter(
        reason,
        partner=owner.partner if owner else None,
        topic=topic,
        partition=partition,
        offset=offset,
        instance=f"hub deadletter skip ({operator})",
    )
    signer: str | None = None
    if msg is not None:
        try:
            signer = verify(msg.headers() or [], topic, msg.key(), msg.value(), public_keys)
        except InputRejected:
            signer = None
    producer = kafka.producer()
    # Always by reference: a copy of a record that stopped a processor could stop it again
    # when replayed, and an operator's skip is about where the record is, not its content.
    referenced = send_reference(producer, record, dlq_headers, Received.of(msg, signer))
    producer.produce(
        AUDIT_TOPIC,
        referenced.to_json(),
        referenced.dead_letter_id.encode(),
        [(KIND_HEADER, DEAD_LETTER.encode())],
    )
    producer.flush_or_raise()
    producer.close()
    return referenced
