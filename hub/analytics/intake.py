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

from confluent_kafka import Message
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.agreements.partnership import load_partnership
from hub.analytics.core import Intake
from hub.catalogue.topics import partner_topic
from hub.codec.admission import decode_admitted, partner_topic_of
from hub.codec.schemas import SchemaCache
from hub.config import Settings
from hub.errors import HubError, Retryable
from hub.identity.signing import verify
from hub.kafka import BatchLoop, KafkaConnection, assign_from_start

log = logging.getLogger("hub.analytics")


def source_topics(settings: Settings, event_types: set[str]) -> list[str]:
    """Every partner's topic for the event types the analytics read."""
    partners = [p.id for p in load_partnership(settings.partnership_dir).partners]
    return sorted(partner_topic(p, et) for p in partners for et in event_types)


class IntakeLoop:
    def __init__(
        self,
        *,
        bootstrap: str | KafkaConnection,
        client: Mapping[str, Any] | None = None,
        topics: Sequence[str],
        internal_topic: str,
        intake: Intake,
        schemas: SchemaCache,
        public_keys: Mapping[str, Ed25519PublicKey],
        group: str,
        on_read: Callable[[bool], None],
    ) -> None:
        # ``client``: security properties for a bare address (else the environment's).
        self._kafka = (
            KafkaConnection(bootstrap, dict(client))
            if isinstance(bootstrap, str) and client is not None
            else KafkaConnection.of(bootstrap)
        )
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
        consumer = self._kafka.consumer(self._group)
        producer = self._kafka.producer()
        assign_from_start(consumer, self._topics, timeout=15)
        # No offsets kept (see the module doc): the loop only flushes what each batch
        # forwarded, and stops the worker if the broker refuses any of it.
        loop = BatchLoop(
            consumer, name="analytics intake", size=500, wait=0.5, producer=producer, commit=False
        )

        def forward(records: list[Message]) -> None:
            for msg in records:
                for m in self._messages(msg):
                    producer.produce(self._internal, json.dumps(m).encode(), b"all")
            producer.poll(0)

        try:
            loop.run(forward, self.stop)
        finally:
            producer.close()
            consumer.close()

    def _messages(self, msg: Any) -> list[dict[str, Any]]:
        topic, value = msg.topic(), msg.value()
        try:
            owner = partner_topic_of(topic)
            # The headers as sent (order, repeats, nulls): a batch-signed record covers them.
            signer = verify(msg.headers() or [], topic, msg.key(), value, self._keys)
            # The processor's checks: signer, event type of schema and topic, source partner.
            et, record = decode_admitted(self._schemas, owner, topic, value, signer)
            out = self._intake.messages(record, et, signer)
        except Retryable:
            raise  # the registry or the broker is away: stop, nothing skipped
        except Exception as exc:
            # What the processor dead-letters (with the reason) is skipped here, and any
            # other per-record failure too: one record never stops the analytics. Never
            # log the content: only where it was and what kind of problem.
            level = logging.INFO if isinstance(exc, (HubError, ValueError)) else logging.WARNING
            log.log(
                level,
                "skipped %s[%d]@%d: %s",
                topic,
                msg.partition(),
                msg.offset(),
                type(exc).__name__,
            )
            self._on_read(False)
            return []
        self._on_read(True)
        source = f"{topic}|{msg.partition()}|{msg.offset()}"
        log.debug("read %s %s", source, et.event_id(record))
        for m in out:
            m["source"] = source
        return out
