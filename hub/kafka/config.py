"""Kafka client settings in one place.

The embedded Tansu broker needs a short session timeout: with librdkafka's 45 s default
the first consumer-group join takes about 23 s. Idempotent producers with acks=all are
on everywhere so a retry never duplicates a record inside the broker.
"""

from __future__ import annotations

from typing import Any

from hub.membership import static_membership
from hub.outage import error_callback, kafka_logger


def _reporting(bootstrap: str) -> dict[str, Any]:
    """Broker loss as one line per outage (hub/outage.py), librdkafka's own lines under the
    ``hub.kafka`` logger (shown with ``hub -v``) instead of a FAIL line per reconnection."""
    return {"error_cb": error_callback(bootstrap), "logger": kafka_logger()}


# Apache Kafka's default largest record batch is 1,048,588 bytes (message.max.bytes on the
# broker, max.message.bytes per topic). The producer's own limit stays at or under it, so a
# record too large is refused by the hub, synchronously and with its coordinates, never left
# to fail asynchronously at the broker (which stalled a partition: issue 15). The embedded
# broker accepts far more (12 MB measured), so there the producer's limit is the only one.
DEFAULT_MAX_MESSAGE_BYTES = 1_048_576


def producer_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "none",
        "message.max.bytes": DEFAULT_MAX_MESSAGE_BYTES,
        # Idle connections closed by the broker are normal; do not log them as failures.
        "log.connection.close": False,
        **_reporting(bootstrap),
    }
    conf.update(extra)
    return conf


def consumer_config(bootstrap: str, group_id: str, **extra: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "auto.offset.reset": "earliest",
        # Offsets are committed by the hub after outputs are acknowledged, never automatically.
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "isolation.level": "read_committed",
        # The embedded broker answers a fetch only when this wait is over, even with data
        # ready (measured: p50 delivery 254 ms at librdkafka's 500 ms default, 12 ms at 10).
        # Apache Kafka answers as soon as data is there, so a short wait costs only idle polls.
        "fetch.wait.max.ms": 20,
        "log.connection.close": False,
        **_reporting(bootstrap),
        # HUB_GROUP_INSTANCE_ID: static membership for Apache Kafka (hub/membership.py).
        **static_membership(),
    }
    conf.update(extra)
    return conf


def admin_config(bootstrap: str) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, **_reporting(bootstrap)}
