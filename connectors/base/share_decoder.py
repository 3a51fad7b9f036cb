"""Decoding what the hub shares, for a recipient's sink: the registry asked once per writer
schema, the bytes decoded apart from it.

Why not confluent-kafka's ``AvroDeserializer``: it lets fastavro's own errors on bad bytes
(``EOFError`` on a truncated body, measured with 2.16) out of the same call that asks the
registry, so a damaged record could only be told from a registry outage by its exception
type, and taken for an outage it is retried and stalls its partition. Here only the
registry call can be an outage (``RegistryUnavailable``, retried); a record whose bytes do
not decode is that record's failure (``DeliveryFailed``: a failed receipt, and the sink goes
on), as the processor's own decoding (hub/codec/wire.py) treats a partner's record.
"""

from __future__ import annotations

import json
from typing import Any

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient

from connectors.base.errors import DeliveryFailed
from hub.codec import wire
from hub.errors import MalformedRecord
from hub.translate import registry_errors

_KEPT = 256  # writer schemas remembered; a recipient reads a handful


class ShareDecoder:
    """Confluent wire-format Avro records of share topics, as dicts."""

    def __init__(self, client: SchemaRegistryClient) -> None:
        self._client = client
        self._parsed: dict[int, Any] = {}

    def _writer(self, schema_id: int, topic: str) -> Any:
        parsed = self._parsed.get(schema_id)
        if parsed is not None:
            return parsed
        with registry_errors(
            f"the writer schema (id {schema_id}) of a record on {topic}",
            lambda message, _status: DeliveryFailed(f"schema not found: {message}"),
        ):
            schema = self._client.get_schema(schema_id)
        try:
            parsed = fastavro.parse_schema(json.loads(schema.schema_str or ""))
        except Exception as exc:  # fastavro raises several types for a schema it refuses
            raise DeliveryFailed(
                f"schema id {schema_id} of a record on {topic} is not an Avro schema: {exc}"
            ) from exc
        if len(self._parsed) >= _KEPT:
            self._parsed.clear()  # bounded
        self._parsed[schema_id] = parsed
        return parsed

    def decode(self, value: bytes | None, topic: str) -> dict[str, Any]:
        """The record; ``DeliveryFailed`` if its bytes are not a record of the schema they
        name, ``RegistryUnavailable`` if the registry cannot be asked for that schema."""
        try:
            schema_id, body = wire.split(value)
        except MalformedRecord as exc:
            raise DeliveryFailed(f"record cannot be decoded: {exc}") from exc
        writer = self._writer(schema_id, topic)
        try:
            return wire.decode(body, writer)
        except MalformedRecord as exc:
            raise DeliveryFailed(f"record cannot be decoded: {exc}") from exc
