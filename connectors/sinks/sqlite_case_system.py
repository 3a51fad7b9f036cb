"""A SQLite database standing in for a recipient's case system.

It consumes ``share.<recipient>.*`` with the stock Confluent ``AvroDeserializer`` (what a
recipient's own connector would use) and upserts each disclosure keyed by its disclosure
id, so a redelivered record never creates a second case-system entry. Offsets are
committed only after the database transaction commits.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from hub.broker.client_config import consumer_config
from hub.broker.records import coordinates, header, headers_bytes
from hub.errors import SinkRejected
from hub.telemetry.tracing import PROCESS, extract_context, messaging_attributes, tracer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS disclosures (
    disclosure_id     TEXT PRIMARY KEY,
    event_id          TEXT NOT NULL,
    event_type        TEXT NOT NULL,
    agreement         TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    source_topic      TEXT NOT NULL,
    source_partition  INTEGER NOT NULL,
    source_offset     INTEGER NOT NULL,
    record            TEXT NOT NULL
)
"""


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class SqliteCaseSystemSink:
    def __init__(self, *, recipient: str, db_path: Path, bootstrap: str, registry_url: str) -> None:
        self.recipient = recipient
        self.db_path = db_path
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(db_path, check_same_thread=False)
        self._db.execute(_SCHEMA)
        self._db.commit()
        self._consumer = Consumer(
            consumer_config(
                bootstrap,
                f"sink-{recipient}",
                **{"topic.metadata.refresh.interval.ms": 5000},
            )
        )
        self._deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
        self.consumed = 0

    def run(
        self,
        stop: threading.Event,
        *,
        until: Callable[[SqliteCaseSystemSink], bool] | None = None,
        poll_timeout: float = 0.5,
    ) -> None:
        self._consumer.subscribe([rf"^share\.{re.escape(self.recipient)}\..*"])
        while not stop.is_set() and not (until and until(self)):
            messages = self._consumer.consume(500, poll_timeout)
            rows = []
            offsets: dict[tuple[str, int], int] = {}
            for msg in messages:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise SinkRejected(f"consumer error for {self.recipient}: {err}")
                topic, partition, offset = coordinates(msg)
                offsets[(topic, partition)] = offset + 1
                disclosure = header(msg, "hub.disclosure_id")
                if not disclosure:
                    raise SinkRejected(
                        f"record at {topic}:{partition}:{offset} has no disclosure id header"
                    )
                # Continue the partner's trace: the delivery is the last hop of the concern.
                with tracer().start_as_current_span(
                    f"process {topic}",
                    context=extract_context(headers_bytes(msg)),
                    kind=PROCESS,
                    attributes=messaging_attributes(
                        "process",
                        topic,
                        partition=partition,
                        offset=offset,
                        group=f"sink-{self.recipient}",
                    ),
                ):
                    record = self._deserialize(
                        msg.value(), SerializationContext(topic, MessageField.VALUE)
                    )
                envelope = record.get("envelope") or {}
                rows.append(
                    (
                        disclosure,
                        str(envelope.get("event_id")),
                        str(envelope.get("event_type")),
                        header(msg, "hub.agreement") or "",
                        datetime.now(UTC).isoformat(),
                        topic,
                        partition,
                        offset,
                        json.dumps(record, default=_json_default, sort_keys=True),
                    )
                )
            if rows:
                with self._db:
                    self._db.executemany(
                        "INSERT OR IGNORE INTO disclosures VALUES (?,?,?,?,?,?,?,?,?)", rows
                    )
            if offsets:
                self._consumer.commit(
                    offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                    asynchronous=False,
                )
            self.consumed += len(rows)

    def count(self) -> int:
        row = self._db.execute("SELECT count(*) FROM disclosures").fetchone()
        return int(row[0])

    def records(self) -> list[dict[str, Any]]:
        cur = self._db.execute("SELECT disclosure_id, agreement, record FROM disclosures")
        return [
            {"disclosure_id": d, "agreement": a, "record": json.loads(r)}
            for d, a, r in cur.fetchall()
        ]

    def close(self) -> None:
        self._consumer.close()
        self._db.close()
