"""Typed access to consumed records: a consumed message always has topic, partition, offset."""

from __future__ import annotations

from confluent_kafka import Consumer, Message

Headers = list[tuple[str, bytes]]


def coordinates(msg: Message) -> tuple[str, int, int]:
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError("message has no topic/partition/offset: it was not consumed")
    return topic, partition, offset


def header(msg: Message, name: str) -> str | None:
    raw = msg.headers() or []
    items = raw.items() if isinstance(raw, dict) else raw
    for key, value in items:
        if key == name and value is not None:
            return value.decode() if isinstance(value, bytes) else value
    return None


def headers_bytes(msg: Message) -> dict[str, bytes]:
    """Headers as bytes; when a name repeats, the last one wins (as Kafka clients read them)."""
    raw = msg.headers() or []
    items = raw.items() if isinstance(raw, dict) else raw
    return {k: (v.encode() if isinstance(v, str) else v) for k, v in items if v is not None}


def next_batch(consumer: Consumer, size: int, wait: float) -> list[Message]:
    """Whatever has arrived, up to ``size`` records, at once; when nothing has, the first
    record to arrive within ``wait`` and what came with it.

    ``consume(size, wait)`` holds until ``size`` records or the wait is over, so at a
    steady 2,000 events/s every record waited up to the whole wait for a batch to fill.
    Under load the client's queue fills while a batch is handled, so batches still grow to
    the full size: batching adapts to the rate.
    """
    messages = consumer.consume(size, 0)
    if messages:
        return messages
    messages = consumer.consume(1, wait)
    if messages and size > 1:
        messages.extend(consumer.consume(size - 1, 0))
    return messages
