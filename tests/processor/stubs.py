"""In-memory stand-ins for the Kafka clients and the registry client, for unit tests of
the processor's batch logic. Integration tests use the real broker and registry."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka.schema_registry import Schema


@dataclass
class FakeMessage:
    _topic: str
    _partition: int
    _offset: int
    _value: bytes | None
    _key: bytes | None = None
    _headers: list[tuple[str, bytes]] | None = None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def headers(self) -> list[tuple[str, bytes]] | None:
        return self._headers

    def error(self) -> None:
        return None


@dataclass
class FakeProducer:
    undelivered: int = 0
    produced: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    def produce(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        headers: Any = None,
        on_delivery: Any = None,
    ) -> None:
        self.pending.append(
            {"topic": topic, "value": value, "key": key, "headers": dict(headers or [])}
        )

    def poll(self, _timeout: float = 0) -> int:
        return 0

    def flush(self, _timeout: float = 0) -> int:
        if self.undelivered:
            return self.undelivered
        self.produced.extend(self.pending)
        self.pending.clear()
        return 0

    def close(self) -> None:
        return None

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [p for p in self.produced if p["topic"] == topic]


@dataclass
class FakeConsumer:
    commits: list[list[Any]] = field(default_factory=list)

    def commit(self, offsets: list[Any], asynchronous: bool = False) -> None:
        self.commits.append(offsets)

    def close(self) -> None:
        return None


class FakeRegistry:
    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, int] = {}
        self.levels: dict[str, str] = {}

    def add(self, schema: dict[str, Any]) -> int:
        schema_id = len(self.schemas) + 1
        self.schemas[schema_id] = json.dumps(schema)
        return schema_id

    def get_schema(self, schema_id: int) -> Schema:
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        if schema_id not in self.schemas:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return Schema(self.schemas[schema_id], "AVRO")

    def set_compatibility(self, subject_name: str | None = None, level: str | None = None) -> None:
        self.levels[subject_name or ""] = level or ""

    def register_schema(self, subject: str, schema: Schema) -> int:
        schema_id = self.add(json.loads(schema.schema_str or "{}"))
        self.subjects[subject] = schema_id
        return schema_id
