"""Publish a partner's events in the Confluent wire format, signed.

The bytes are exactly what the stock Confluent ``AvroSerializer`` writes (magic byte 0,
4-byte schema id, Avro body), which is what a partner's connector in any language sends:
the schema is registered (or looked up) once under the same subject, with the serializer's
own settings, and each event is then encoded with fastavro's schemaless writer
(hub/codec/wire.py) instead of going through the serializer's per-call machinery; a test
compares both byte for byte. Records are signed with the partner's Ed25519 key once per
batch (hub/identity/batch.py): a batch is signed when it is full or when the publisher
flushes, and reaches the broker then. Every record carries a W3C ``traceparent`` (the
current trace's, else a new one), set before it is signed: the signature covers the
headers, so the hub can trust the trace id too. With an exporter configured each record
gets its own ``send`` span; without one, no span is made (the API would only build a no-op
one) and the traceparent is formatted from random bits.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, cast

import fastavro
from confluent_kafka.schema_registry import (
    Schema,
    SchemaRegistryClient,
    topic_subject_name_strategy,
)
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError
from opentelemetry import trace

from hub.catalogue.schemas import EventType
from hub.catalogue.topics import partner_topic
from hub.codec import wire
from hub.errors import RegistryUnavailable
from hub.identity.batch import BatchSigner, Outgoing, sign_batch
from hub.identity.keys import SigningKey
from hub.kafka import CheckedProducer, KafkaConnection, RecordTooLarge, record_size
from hub.telemetry.tracing import (
    SEND,
    ensure_traceparent,
    inject_context,
    messaging_attributes,
    tracer,
    tracing_active,
)

_VALUE = MessageField.VALUE


def _fresh_traceparent() -> bytes:
    """A W3C ``traceparent`` starting a trace (what ``new_traceparent`` makes), from one
    read of the OS's random source: 16 bytes of trace id, 8 of parent id."""
    ids = os.urandom(24).hex()
    if not ids[:32].strip("0"):  # an all-zero trace id is invalid (W3C); 2**-128 odds
        ids = "1" + ids[1:]
    return f"00-{ids[:32]}-{ids[32:]}-01".encode()


class WireEncoder:
    """The stock ``AvroSerializer``'s output, encoded directly: the schema is registered
    (``auto.register.schemas``) or looked up under the serializer's subject
    (``{topic}-value``, its default strategy) once, through the same registry client and
    with the same settings; each event is then one fastavro write. A value the schema
    refuses raises ``SerializationError``, the record's fault (not the registry's)."""

    # The serializer's defaults, which the publisher has always used.
    AUTO_REGISTER = True
    NORMALIZE = False

    def __init__(self, registry: SchemaRegistryClient, event_type: EventType, topic: str) -> None:
        self._registry = registry
        # The declaration as the serializer registers it (stripped; a record, so not wrapped
        # as a primitive would be): the registry sees the same text and answers the same id.
        self._schema = Schema(event_type.schema_str.strip(), schema_type="AVRO")
        self._parsed = fastavro.parse_schema(json.loads(event_type.schema_str))
        subject = topic_subject_name_strategy(SerializationContext(topic, _VALUE), None)
        assert subject is not None  # the strategy always names {topic}-value
        self.subject: str = subject
        self.schema_id: int | None = None
        self._lock = threading.Lock()

    def _register(self) -> int:
        with self._lock:  # one registry call however many threads publish the first event
            if self.schema_id is None:
                if self.AUTO_REGISTER:
                    found = self._registry.register_schema_full_response(
                        self.subject, self._schema, normalize_schemas=self.NORMALIZE
                    )
                else:
                    found = self._registry.lookup_schema(
                        self.subject, self._schema, normalize_schemas=self.NORMALIZE
                    )
                if found.schema_id is None:
                    raise RegistryUnavailable(f"the registry gave no schema id for {self.subject}")
                self.schema_id = found.schema_id
            return self.schema_id

    def __call__(self, event: dict[str, Any]) -> bytes:
        schema_id = self.schema_id if self.schema_id is not None else self._register()
        try:
            return wire.encode(schema_id, self._parsed, event)
        except Exception as exc:  # fastavro raises ValueError, TypeError, KeyError...
            raise SerializationError(f"{type(exc).__name__}: {exc}") from exc


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
        self._serialize = WireEncoder(self._registry, event_type, self.topic)
        self._batch = BatchSigner(signer) if signer is not None else None
        # The signature headers' size, counted once: each record is checked against the
        # producer's limit with them (refused as itself, not later with its batch).
        self._reserved_bytes = (
            record_size(None, None, self._batch.reserved()) - record_size(None, None)
            if self._batch is not None
            else 0
        )

    def serialize(self, event: dict[str, Any]) -> bytes:
        return self._serialize(event)

    def _trace_headers(self) -> list[tuple[str, bytes]]:
        """The trace context of a record sent with no span of its own (no exporter): the
        current trace's if there is one (a web hook's caller), else a new trace."""
        if trace.get_current_span().get_span_context().is_valid:
            headers: list[tuple[str, bytes]] = []
            inject_context(headers)
            ensure_traceparent(headers)
            return headers
        return [("traceparent", _fresh_traceparent())]

    def _send(self, value: bytes | None, key: bytes | None, signer: SigningKey | None) -> None:
        if not tracing_active():
            self._queue(value, key, signer, self._trace_headers())
            return
        # A `send` span whose W3C context travels in the headers: the hub and the recipient's
        # sink continue the same trace. Injected before signing: the batch form covers it.
        with tracer().start_as_current_span(
            f"send {self.topic}", kind=SEND, attributes=messaging_attributes("send", self.topic)
        ):
            headers: list[tuple[str, bytes]] = []
            inject_context(headers)
            ensure_traceparent(headers)  # a sampler may leave the span without a context
            self._queue(value, key, signer, headers)

    def _queue(
        self,
        value: bytes | None,
        key: bytes | None,
        signer: SigningKey | None,
        headers: list[tuple[str, bytes]],
    ) -> None:
        record = Outgoing(self.topic, key, value, [*headers])
        batch = self._batch
        if batch is not None and signer is batch.signer:
            # Too large for the producer with its signature headers: refused now, as this
            # event's RecordTooLarge, not later with its batch.
            size = record_size(value, key, headers) + self._reserved_bytes
            if size > self._producer.max_bytes:
                raise RecordTooLarge(self.topic, size, self._producer.max_bytes)
            sealed = batch.add(record)
            if sealed:
                self._send_checked(sealed)
        else:
            self._produce(self.seal())  # what waits goes first: the order is kept
            self._produce(sign_batch(signer, [record]) if signer is not None else [record])
            self._producer.poll(0)

    def _send_checked(self, records: list[Outgoing]) -> None:
        """Produce a signed batch whose records were checked with room for the signature
        headers (the batch's stand-ins are as large as any it adds): no second check."""
        send = self._producer.send
        for r in records:
            send(r.topic, r.value, r.key, cast(list[tuple[str, bytes]], r.headers))
        self._producer.poll(0)  # serve delivery reports once a batch, not once a record

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
        self._send(self._serialize(event), event_id.encode(), self._signer)
        return event_id

    def flush(self, timeout: float = 30.0) -> None:
        """Return once the broker acknowledged every queued event; raise
        ``DeliveryFailed`` (retryable) for any it did not."""
        self._send_checked(self.seal())
        self._producer.flush_or_raise(timeout)

    def close(self) -> None:
        self.flush()
        if self._owns_producer:
            self._producer.close()
