"""Publish a partner's events with the stock Confluent Avro serializer, signed.

Using the standard serializer (not the hub's own encoder) is deliberate: it is what a
partner's connector in any language does, so the demo exercises the real contract. Every
record is signed with the partner's Ed25519 key over (topic, key, value).
"""

from __future__ import annotations

from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from hub.catalogue.schemas import EventType
from hub.catalogue.topics import partner_topic
from hub.identity.keys import SigningKey
from hub.identity.signing import sign
from hub.kafka import CheckedProducer, KafkaConnection
from hub.telemetry.tracing import SEND, inject_context, messaging_attributes, tracer


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

    def serialize(self, event: dict[str, Any]) -> bytes:
        value: bytes = self._serialize(event, SerializationContext(self.topic, MessageField.VALUE))
        return value

    def _send(self, value: bytes | None, key: bytes | None, signer: SigningKey | None) -> None:
        headers = sign(signer, self.topic, key, value) if signer is not None else []
        # A `send` span whose W3C context travels in the headers: the hub and the recipient's
        # sink continue the same trace. (Headers are outside the signature by design.)
        with tracer().start_as_current_span(
            f"send {self.topic}", kind=SEND, attributes=messaging_attributes("send", self.topic)
        ):
            inject_context(headers)
            # Too large for the producer: RecordTooLarge names the topic, size and limit.
            self._producer.produce(self.topic, value, key, headers)
        self._producer.poll(0)

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
        self._producer.flush_or_raise(timeout)

    def close(self) -> None:
        self.flush()
        if self._owns_producer:
            self._producer.close()
