"""Publish a partner's events with the stock Confluent Avro serializer, signed.

Using the standard serializer (not the hub's own encoder) is deliberate: it is what a
partner's connector in any language does, so the demo exercises the real contract. Records
are signed with the partner's Ed25519 key once per batch (hub/identity/batch.py): a batch
is signed when it is full or when the publisher flushes, and reaches the broker then.
Every record carries a W3C ``traceparent`` (a new trace unless one is current), set before
it is signed: the signature covers the headers, so the hub can trust the trace id too.
"""

from __future__ import annotations

from typing import Any, cast

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from hub.catalogue.schemas import EventType
from hub.catalogue.topics import partner_topic
from hub.identity.batch import BatchSigner, Outgoing, sign_batch
from hub.identity.keys import SigningKey
from hub.kafka import CheckedProducer, KafkaConnection
from hub.telemetry.tracing import (
    SEND,
    ensure_traceparent,
    inject_context,
    messaging_attributes,
    tracer,
)


class PartnerPublisher:
    def __init__(
        self,
        *,
        partner: str,
        event_type: EventType,
        bootstrap: str | KafkaConnection,
        registry_url: str,
        signer: SigningKey | None,
        producer: CheckedProducer | None = None,
    ) -> None:
        self.partner = partner
        self.event_type = event_type
        self._signer = signer
        self.topic = partner_topic(partner, event_type.slug)
        # A connector publishing several event types shares one producer (one connection,
        # one flush); it then owns closing it.
        self._owns_producer = producer is None
        # A bare address gets the environment's HUB_KAFKA__* security settings.
        self._producer = (
            producer if producer is not None else KafkaConnection.of(bootstrap).producer()
        )
        self._registry = SchemaRegistryClient({"url": registry_url})
        self._serialize = AvroSerializer(self._registry, event_type.schema_str)
        self._batch = BatchSigner(signer) if signer is not None else None

    def serialize(self, event: dict[str, Any]) -> bytes:
        value: bytes = self._serialize(event, SerializationContext(self.topic, MessageField.VALUE))
        return value

    def _send(self, value: bytes | None, key: bytes | None, signer: SigningKey | None) -> None:
        headers: list[tuple[str, bytes]] = []
        # A `send` span whose W3C context travels in the headers: the hub and the recipient's
        # sink continue the same trace. Injected before signing: the batch form covers it.
        with tracer().start_as_current_span(
            f"send {self.topic}", kind=SEND, attributes=messaging_attributes("send", self.topic)
        ):
            inject_context(headers)
            # Tracing off (or no span around this send): a fresh context all the same, so
            # the audit, the receipts and the logs name this record's trace id.
            ensure_traceparent(headers)
            record = Outgoing(self.topic, key, value, [*headers])
            batch = self._batch
            if batch is not None and signer is batch.signer:
                # Too large for the producer (with room for the signature headers): refused
                # now, as this event's RecordTooLarge, not later with its batch.
                self._producer.check(self.topic, value, key, [*headers, *batch.reserved()])
                self._produce(batch.add(record))
            else:
                self._produce(self.seal())  # what waits goes first: the order is kept
                self._produce(sign_batch(signer, [record]) if signer is not None else [record])
        self._producer.poll(0)

    def _produce(self, records: list[Outgoing]) -> None:
        for r in records:
            headers = cast(list[tuple[str, bytes]], r.headers)
            self._producer.produce(r.topic, r.value, r.key, headers)

    def seal(self) -> list[Outgoing]:
        """Sign what waits in the current batch (the records to produce)."""
        return self._batch.seal() if self._batch is not None else []

    def send_raw(
        self, value: bytes, key: bytes | None = None, *, signer: SigningKey | bool | None = True
    ) -> None:
        """Publish bytes as they are: used to show what happens to malformed input.
        ``signer=True`` signs with this partner's key, ``None`` sends unsigned."""
        self._send(value, key, self._signer if signer is True else signer or None)

    def publish(self, event: dict[str, Any]) -> str:
        """Queue one signed event; returns its event id (acknowledged by :meth:`flush`)."""
        event_id = str(event["envelope"]["event_id"])
        key = event_id.encode()
        self._send(self.serialize(event), key, self._signer)
        return event_id

    def flush(self, timeout: float = 30.0) -> None:
        """Return once the broker acknowledged every queued event; raise
        ``DeliveryFailed`` (retryable) for any it did not."""
        self._produce(self.seal())
        self._producer.flush_or_raise(timeout)

    def close(self) -> None:
        self.flush()
        if self._owns_producer:
            self._producer.close()
