"""Topic administration: create what the hub needs, read end offsets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.cimpl import NewTopic

from hub.errors import BrokerUnavailable
from hub.kafka.connection import KafkaConnection
from hub.translate import already_exists


def _connection(kafka: str | KafkaConnection, client: Mapping[str, Any] | None) -> KafkaConnection:
    if client is not None and isinstance(kafka, str):
        return KafkaConnection(kafka, dict(client))
    return KafkaConnection.of(kafka)


def ensure_topics(
    kafka: str | KafkaConnection,
    topics: Iterable[str],
    partitions: int = 3,
    timeout: float = 15.0,
    client: Mapping[str, Any] | None = None,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are.
    ``client``: security properties for a bare address (else the environment's)."""
    conn = _connection(kafka, client)
    admin = conn.admin()
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise BrokerUnavailable(f"cannot list topics on {conn.bootstrap}: {exc}") from exc
    wanted = [NewTopic(t, partitions, 1) for t in sorted(set(topics)) if t not in existing]
    if not wanted:
        return
    for topic, future in admin.create_topics(wanted, operation_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            # Another process may have created it in the meantime: that is fine.
            if not already_exists(exc):
                raise BrokerUnavailable(f"cannot create topic {topic}: {exc}") from exc


def end_offsets(kafka: str | KafkaConnection, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """High watermark per partition of ``topic``."""
    consumer = KafkaConnection.of(kafka).consumer("hub-offsets-probe")
    try:
        meta = consumer.list_topics(topic, timeout=timeout)
        parts = meta.topics[topic].partitions if topic in meta.topics else {}
        out: dict[int, int] = {}
        for p in parts:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            out[p] = high
        return out
    finally:
        consumer.close()
