"""The analytics' intake: partner topics in, pseudonymous observations out.

A confluent-kafka thread, not a faust agent, for one measured reason: across a restart on
the embedded broker, faust's committed-offset handling skipped records (partitions that
were empty at the first start were never read after a restart, and a record at a restart
boundary could be passed over). So the intake keeps no offsets at all: each start reads
the partner topics from the beginning, and everything downstream is idempotent by event id
(the fold's state), which makes re-reading harmless. Partner topics are retention-bound
and the analytics' volumes small, so a re-read costs seconds.

Each record is verified and decoded exactly as the processor does; what the processor
would dead-letter is skipped here (it is dead-lettered there, with the reason).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.agreements.partnership import load_partnership
from hub.analytics.core import Intake
from hub.broker.client_config import consumer_config, producer_config
from hub.catalogue.topics import parse_partner_topic, partner_topic
from hub.codec import wire
from hub.codec.schemas import SchemaCache
from hub.config import Settings
from hub.errors import HubError
from hub.identity.signing import verify

log = logging.getLogger("hub.analytics")


def source_topics(settings: Settings, event_types: set[str]) -> list[str]:
    """Every partner's topic for the event types the analytics read."""
    partners = [p.id for p in load_partnership(settings.partnership_dir).partners]
    return sorted(partner_topic(p, et) for p in partners for et in event_types)


class IntakeLoop:
    def __init__(
        self,
        *,
        bootstrap: str,
        client: Mapping[str, Any],
        topics: Sequence[str],
        internal_topic: str,
        intake: Intake,
        schemas: SchemaCache,
        public_keys: Mapping[str, Ed25519PublicKey],
        group: str,
        on_read: Callable[[bool], None],
    ) -> None:
        self._bootstrap = bootstrap
        self._client = dict(client)
        self._topics = list(topics)
        self._internal = internal_topic
        self._intake = intake
        self._schemas = schemas
        self._keys = public_keys
        self._group = group
        self._on_read = on_read
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the worker, which then stops
            self.error = exc
            raise

    def _run(self) -> None:
        consumer = Consumer(
            {
                **consumer_config(self._bootstrap, self._group, **{"enable.auto.commit": False}),
                **self._client,
            }
        )
        producer = Producer({**producer_config(self._bootstrap), **self._client})
        meta = consumer.list_topics(timeout=15)
        consumer.assign(
            [
                TopicPartition(t, p, OFFSET_BEGINNING)
                for t in self._topics
                if t in meta.topics
                for p in meta.topics[t].partitions
            ]
        )
        errors: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        try:
            while not self.stop.is_set():
                batch = consumer.consume(500, 0.5)
                for msg in batch:
                    if msg.error() is not None:
                        continue
                    for m in self._messages(msg):
                        producer.produce(
                            self._internal,
                            key=b"all",
                            value=json.dumps(m).encode(),
                            on_delivery=delivered,
                        )
                    producer.poll(0)
                if (batch and producer.flush(30) > 0) or errors:
                    raise KafkaException(f"intake could not forward: {errors[:3]}")
        finally:
            producer.flush(10)
            consumer.close()

    def _messages(self, msg: Any) -> list[dict[str, Any]]:
        topic, value = msg.topic(), msg.value()
        try:
            owner = parse_partner_topic(topic)
            headers = {k: v for k, v in (msg.headers() or []) if v is not None}
            signer = verify(headers, topic, msg.key(), value, self._keys)
            schema_id, body = wire.split(value)
            writer = self._schemas.writer(schema_id)
            record = wire.decode(body, writer.parsed, writer.reader)
            et = writer.event_type
            if owner is None or signer != owner.partner or et.source_partner(record) != signer:
                raise ValueError("publisher does not match the topic")
        except (HubError, ValueError, TypeError, KeyError) as exc:
            # Never log the content: only where it was and what kind of problem.
            log.info(
                "skipped %s[%d]@%d: %s", topic, msg.partition(), msg.offset(), type(exc).__name__
            )
            self._on_read(False)
            return []
        self._on_read(True)
        source = f"{topic}|{msg.partition()}|{msg.offset()}"
        log.debug("read %s %s", source, et.event_id(record))
        out = self._intake.messages(record, et, signer)
        for m in out:
            m["source"] = source
        return out
