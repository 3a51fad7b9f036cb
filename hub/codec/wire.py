"""The Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body.

Decoding uses fastavro's schemaless reader with parsed schemas cached per id: the hot path
does no registry call and no schema parsing after the first record of each schema.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import fastavro

from hub.errors import MalformedRecord

MAGIC = 0
HEADER = struct.Struct(">bI")


def split(value: bytes | None) -> tuple[int, memoryview]:
    """Return (schema id, body) or raise MalformedRecord saying what is wrong."""
    if value is None or len(value) < HEADER.size:
        raise MalformedRecord(
            f"value is {0 if value is None else len(value)} bytes, shorter than the 5-byte "
            "Confluent wire-format header",
            fix="serialize with a Confluent Avro serializer (magic byte 0 + schema id + Avro)",
        )
    magic, schema_id = HEADER.unpack_from(value)
    if magic != MAGIC:
        raise MalformedRecord(
            f"magic byte is {magic}, expected 0 (Confluent wire format)",
            fix="serialize with a Confluent Avro serializer, not raw Avro or JSON",
        )
    return schema_id, memoryview(value)[HEADER.size :]


def decode(body: memoryview, writer: Any, reader: Any = None) -> dict[str, Any]:
    """One Avro record; ``reader`` None when it is the writer's schema (no resolution)."""
    buf = io.BytesIO(body)
    try:
        record = fastavro.schemaless_reader(buf, writer, reader)
    except Exception as exc:  # fastavro raises many types on bad bytes (EOFError, ValueError...)
        raise MalformedRecord(
            f"Avro body does not decode with its declared schema: {type(exc).__name__}: {exc}",
            fix="check the serializer uses the schema registered for this id",
        ) from exc
    if not isinstance(record, dict):
        raise MalformedRecord("Avro body is not a record", fix="publish one event record")
    if buf.tell() != len(body):
        raise MalformedRecord(
            f"{len(body) - buf.tell()} trailing bytes after the Avro record",
            fix="send exactly one Avro record per Kafka message",
        )
    return record


def encode(schema_id: int, parsed: Any, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    buf.write(HEADER.pack(MAGIC, schema_id))
    fastavro.schemaless_writer(buf, parsed, record)
    return buf.getvalue()
