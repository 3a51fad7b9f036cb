"""Topic administration: create what the hub needs, read end offsets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from hub.broker.client_config import admin_config
from hub.errors import BrokerUnavailable


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int = 3,
    timeout: float = 15.0,
    client: Mapping[str, Any] | None = None,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are.
    ``client``: extra client properties (security, from ``Settings.kafka``)."""
    admin = AdminClient({**admin_config(bootstrap), **(client or {})})
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise BrokerUnavailable(f"cannot list topics on {bootstrap}: {exc}") from exc
    wanted = [NewTopic(t, partitions, 1) for t in sorted(set(topics)) if t not in existing]
    if not wanted:
        return
    for topic, future in admin.create_topics(wanted, operation_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            # Another process may have created it in the meantime: that is fine.
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise BrokerUnavailable(f"cannot create topic {topic}: {exc}") from exc


def end_offsets(bootstrap: str, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """High watermark per partition of ``topic``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "hub-offsets-probe"})
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
