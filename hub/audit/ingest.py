"""The audit ingester: ``hub.audit.v1`` and ``hub.receipts.v1`` into the audit store.

Processors only produce audit records to the topic (acknowledged by the broker before they
commit their input offsets); this single writer appends them to the hash-chained store and
commits its own offsets only after the store has committed. The store is idempotent on
record ids, so a crash and redelivery stores nothing twice, and a new consumer group
reading the topics from the start rebuilds the store (``hub audit ingest --rebuild``).
Keeping the database out of the processors' loop also keeps one writer on the chain.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer, Message

from hub.audit.records import (
    DEAD_LETTER,
    DECISION,
    DECISIONS,
    KIND_HEADER,
    AuditRecord,
    DeadLetterRecord,
    ReceiptRecord,
    decisions_from_json,
)
from hub.audit.store import AuditStore
from hub.catalogue.topics import AUDIT_TOPIC, RECEIPTS_TOPIC
from hub.kafka import BatchLoop, coordinates, header, sort_out

log = logging.getLogger("hub.audit.ingest")

TOPICS = (AUDIT_TOPIC, RECEIPTS_TOPIC)

Parsed = AuditRecord | DeadLetterRecord | ReceiptRecord


def parse(topic: str, raw: bytes | None, kind: str | None) -> list[Parsed]:
    """What one record of the audit or receipts topic holds; ValueError when it is not one."""
    if raw is None:
        raise ValueError("empty record")
    if topic == RECEIPTS_TOPIC:
        return [ReceiptRecord.from_json(raw)]
    kind = kind or DECISION  # records written before the kind header: decisions
    if kind == DECISIONS:
        return list(decisions_from_json(raw))  # list[Parsed]: lists are invariant
    if kind == DECISION:
        return [AuditRecord.from_json(raw)]
    if kind == DEAD_LETTER:
        return [DeadLetterRecord(**json.loads(raw))]
    raise ValueError(f"unknown audit record kind {kind!r}")


def store_records(store: AuditStore, records: Sequence[Parsed]) -> int:
    """Append a batch to the store (one transaction per kind); how many were new."""
    return (
        store.write_decisions([r for r in records if isinstance(r, AuditRecord)])
        + store.write_dead_letters([r for r in records if isinstance(r, DeadLetterRecord)])
        + store.write_receipts([r for r in records if isinstance(r, ReceiptRecord)])
    )


@dataclass
class IngestStats:
    consumed: int = 0
    stored: int = 0
    rejected: int = 0
    batches: int = 0
    last_record_at: float = field(default=0.0)


class AuditIngester:
    """The runtime kit's batch loop with one handler: parse, store, then commit."""

    def __init__(self, consumer: Consumer, store: AuditStore, batch_size: int = 5000) -> None:
        self._consumer = consumer
        self._store = store
        self._loop = BatchLoop(consumer, name="audit ingest", size=batch_size, wait=0.5)
        self.stats = IngestStats()

    def run(
        self,
        stop: threading.Event,
        *,
        until: Callable[[IngestStats], bool] | None = None,
        poll_timeout: float = 0.5,
    ) -> IngestStats:
        """``poll_timeout`` is how long a quiet poll waits (records are stored as soon as
        they arrive): how soon ``stop`` and ``until`` are seen."""
        self._consumer.subscribe(list(TOPICS))
        self._loop.run(
            self._store_batch,
            stop,
            until=(lambda: until(self.stats)) if until else None,
            after=self._stored,
            wait=poll_timeout,
        )
        return self.stats

    def run_until_idle(self, idle_seconds: float = 2.0, timeout: float = 120.0) -> IngestStats:
        """Ingest until at the end of every partition and nothing has arrived for
        ``idle_seconds`` (rebuilds, drains, tests)."""
        started = time.monotonic()
        self.stats.last_record_at = started

        def idle(stats: IngestStats) -> bool:
            now = time.monotonic()
            if now - started > timeout:
                raise TimeoutError(f"audit ingest still receiving after {timeout:.0f}s")
            # Quiet for a while and at the end of every partition: a slow first fetch after
            # joining the group must not pass for an empty topic.
            return now - stats.last_record_at > idle_seconds and self._caught_up()

        return self.run(threading.Event(), until=idle, poll_timeout=0.2)

    def _caught_up(self) -> bool:
        parts = self._consumer.assignment()
        if not parts:
            return False  # still joining the group
        for tp in self._consumer.position(parts):
            # The end the last fetch saw, not a queried one: the embedded broker answers a
            # query with the last batch's base offset + 1 (tests/broker/test_embedded.py).
            low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if high < 0:
                return False  # no fetch answered for it yet
            pos = tp.offset
            if pos < 0:  # nothing fetched yet: from the committed offset, or the start
                [committed] = self._consumer.committed([tp], timeout=5)
                pos = committed.offset if committed.offset >= 0 else low
            if pos < high:
                return False
        return True

    def ingest(self, messages: Sequence[Message]) -> None:
        """One batch as the loop would hand it over: stored, then committed."""
        records = sort_out(messages, "audit ingest").records
        if records:
            self._stored(self._loop.handle(records, self._store_batch))

    def _store_batch(self, records: list[Message]) -> None:
        """The handler: the store commits before the loop commits the offsets."""
        parsed: list[Parsed] = []
        for msg in records:
            topic, partition, offset = coordinates(msg)
            self.stats.consumed += 1
            try:
                parsed.extend(parse(topic, msg.value(), header(msg, KIND_HEADER)))
            except Exception as exc:  # parsing is pure: whatever it raises is the record's
                # Receipts come from recipients' connectors: a bad one is reported, never
                # allowed to stop the audit of everything else.
                self.stats.rejected += 1
                log.warning(
                    "audit ingest: unreadable record topic=%s partition=%s offset=%s: %s "
                    "(fix the connector that produced it)",
                    topic,
                    partition,
                    offset,
                    exc,
                )
        self.stats.stored += store_records(self._store, parsed)

    def _stored(self, _done: object) -> None:
        self.stats.batches += 1
        self.stats.last_record_at = time.monotonic()

    def close(self) -> None:
        self._consumer.close()
