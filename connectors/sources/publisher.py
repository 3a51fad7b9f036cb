"""Publish a partner's events with the stock Confluent Avro serializer.

Using the standard serializer (not the hub's own encoder) is deliberate: it is what a
partner's connector in any language does, so the demo exercises the real contract.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from hub.broker.client_config import producer_config
from hub.catalogue.schemas import EventType
from hub.catalogue.topics import partner_topic
from hub.errors import BrokerUnavailable


class PartnerPublisher:
    def __init__(
        self, *, partner: str, event_type: EventType, bootstrap: str, registry_url: str
    ) -> None:
        self.partner = partner
        self.topic = partner_topic(partner, event_type.slug)
        self._producer = Producer(producer_config(bootstrap))
        self._registry = SchemaRegistryClient({"url": registry_url})
        self._serialize = AvroSerializer(self._registry, event_type.schema_str)
        self._errors: list[str] = []

    def serialize(self, event: dict[str, Any]) -> bytes:
        value: bytes = self._serialize(event, SerializationContext(self.topic, MessageField.VALUE))
        return value

    def _on_delivery(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self._errors.append(str(err))

    def send_raw(self, value: bytes, key: bytes | None = None) -> None:
        """Publish bytes as they are: used to show what happens to malformed input."""
        self._producer.produce(self.topic, value=value, key=key, on_delivery=self._on_delivery)
        self._producer.poll(0)

    def publish(self, event: dict[str, Any]) -> None:
        key = str(event["envelope"]["event_id"]).encode()
        while True:
            try:
                self._producer.produce(
                    self.topic, value=self.serialize(event), key=key, on_delivery=self._on_delivery
                )
                break
            except BufferError:
                self._producer.poll(0.1)
        self._producer.poll(0)

    def flush(self, timeout: float = 30.0) -> None:
        remaining = self._producer.flush(timeout)
        if remaining or self._errors:
            raise BrokerUnavailable(
                f"{remaining} events not acknowledged on {self.topic}; errors: {self._errors[:3]}"
            )

    def close(self) -> None:
        self.flush()
        self._producer.close()
