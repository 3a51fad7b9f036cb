"""Typed access to consumed records: a consumed message always has topic, partition, offset."""

from __future__ import annotations

from confluent_kafka import Message

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
