"""Kafka client settings in one place.

The embedded Tansu broker needs a short session timeout: with librdkafka's 45 s default
the first consumer-group join takes about 23 s. Idempotent producers with acks=all are
on everywhere so a retry never duplicates a record inside the broker.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaError, TopicPartition

from hub.membership import static_membership
from hub.outage import error_callback, kafka_logger

log = logging.getLogger("hub.kafka")


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


# How long a fetch may wait for data. Apache Kafka answers as soon as data is there
# (fetch.min.bytes 1), so there the wait costs only idle requests. The embedded Tansu broker
# (0.6, tansu-storage service/fetch.rs) scans for data at halving intervals of the wait (at
# 0, W/2, 3W/4, ...) and answers at the first scan that finds some: a record waits for that
# scan, up to W/2 and W/6 on average, on every consumer hop (partner topic -> processor,
# recipient topic -> sink). Measured one hop at 200 events/s (bench/README.md, "Latency
# budget"): p50 7.8-9.1 ms at 20 ms, 1.9-4.7 ms at 5 (254 ms at librdkafka's 500 default).
# The price is idle scans: four idle consumers cost the broker 5.2% of a core at 20 ms,
# 14.2% at 5. HUB_FETCH_WAIT_MS sets it (a larger value suits Apache Kafka).
FETCH_WAIT_MS = 5


def commit_reported(err: KafkaError | None, partitions: list[TopicPartition]) -> None:
    """An offset commit that failed is not lost work: the records after the group's last
    committed offsets are handled again after a restart or rebalance (outputs are
    idempotent by their ids), and the next batch's commit covers them."""
    if err is not None:
        log.warning(
            "offset commit failed (%s) for %s: those records are handled again after a "
            "restart or rebalance unless a later commit covers them",
            err,
            ", ".join(f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in partitions[:5]),
        )


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
        "fetch.wait.max.ms": FETCH_WAIT_MS,
        "log.connection.close": False,
        # Commits go out without waiting for the answer (hub/kafka/loop.py): a failure is
        # reported here instead of raised.
        "on_commit": commit_reported,
        **_reporting(bootstrap),
        # HUB_GROUP_INSTANCE_ID: static membership for Apache Kafka (hub/membership.py).
        **static_membership(),
    }
    conf.update(extra)
    return conf


def admin_config(bootstrap: str) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, **_reporting(bootstrap)}
