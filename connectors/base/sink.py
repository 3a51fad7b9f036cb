"""What every sink shares: consume a recipient's stream, write, receipt, then commit.

For each batch from ``share.<recipient>.*`` (decoded with the stock Confluent Avro
deserializer through the schema registry):

1. every record becomes a :class:`Delivery` keyed by its disclosure id (header
   ``hub.disclosure_id``, also the record key), continuing the W3C trace from its headers;
2. the :class:`SinkWriter` writes them, idempotently by disclosure id, so a redelivered
   record never creates a second entry in the recipient system. Transient failures
   (``Retryable``) are retried with backoff; a refusal (``Terminal``) becomes a *failed*
   delivery with the reason, and the rest of the batch goes on;
3. a receipt per disclosure goes to ``hub.receipts.v1`` (``ReceiptRecord`` JSON keyed by
   the disclosure id: delivered at a time, or failed with the reason) and is acknowledged;
4. only then are the consumer offsets committed.

Housekeeping (issue 18: a sink's retention, connectors/sinks/retention.py) runs before
each poll, on its own timer; the receipts it makes (``erased``) go the same way as the
others, so the audit records the erasure.

A crash anywhere replays the batch: the writer finds the disclosures already written and
the receipts carry the same ids (``<disclosure id>:<status>``), so nothing is doubled.
If a transient failure outlasts the retry policy, the sink stops without committing and
the service manager restarts it: a disclosure is never skipped silently.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from confluent_kafka import Message
from confluent_kafka.schema_registry import SchemaRegistryClient

from connectors.base.config import RetryConfig
from connectors.base.health import ConnectorMetrics
from connectors.base.rejects import RejectLog
from connectors.base.retry import retry
from connectors.base.share_decoder import ShareDecoder
from hub.audit.records import ReceiptRecord
from hub.catalogue.headers import AGREEMENT, DISCLOSURE_ID
from hub.catalogue.topics import RECEIPTS_TOPIC
from hub.errors import Terminal
from hub.kafka import BatchLoop, KafkaConnection, coordinates, header, headers_bytes, sort_out
from hub.telemetry.tracing import (
    PROCESS,
    SEND,
    extract_context,
    inject_context,
    messaging_attributes,
    tracer,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One disclosure to write into the recipient's system."""

    disclosure_id: str
    recipient: str
    event_id: str
    event_type: str
    agreement: str
    topic: str
    partition: int
    offset: int
    record: dict[str, Any]
    received_at: datetime
    headers: dict[str, bytes] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Outcome:
    disclosure_id: str
    status: str  # "delivered" | "failed" | "erased" (a redelivery not stored: its erasure)
    at: str
    reason: str | None = None


class SinkWriter(Protocol):
    """Writes disclosures into one recipient system, idempotent on the disclosure id.

    ``write`` returns when the write is durable. It raises a ``Retryable`` error when the
    whole system is unavailable (the batch is retried), and returns a *failed* outcome for
    a disclosure the system refuses (``Terminal``)."""

    system: str

    def write(self, deliveries: Sequence[Delivery]) -> list[Outcome]: ...

    def close(self) -> None: ...


def write_each(
    deliveries: Sequence[Delivery], write_one: Callable[[Delivery], str]
) -> list[Outcome]:
    """Outcomes of writing one by one: ``write_one`` returns when it was delivered (first
    time, if it was already there); a ``Terminal`` error fails only that disclosure."""
    out: list[Outcome] = []
    for d in deliveries:
        try:
            out.append(Outcome(d.disclosure_id, "delivered", write_one(d)))
        except Exception as exc:
            if not isinstance(exc, Terminal):
                raise
            out.append(Outcome(d.disclosure_id, "failed", _now(), str(exc)))
    return out


class Housekeeping(Protocol):
    """Work a sink does between batches on its own timer (retention): ``tick`` decides
    whether it is due, and hands any receipts it makes to ``send``."""

    def tick(self, send: Callable[[Sequence[ReceiptRecord]], None]) -> object: ...


@dataclass
class SinkCounts:
    consumed: int = 0
    delivered: int = 0
    failed: int = 0
    receipts: int = 0
    rejected: int = 0
    not_stored: int = 0  # redeliveries of disclosures erased at retention


class SinkRunner:
    """The consume-write-receipt-commit loop around a :class:`SinkWriter`."""

    def __init__(
        self,
        *,
        name: str,
        recipient: str,
        writer: SinkWriter,
        bootstrap: str | KafkaConnection,
        registry_url: str,
        rejects: RejectLog,
        retry_policy: RetryConfig | None = None,
        metrics: ConnectorMetrics | None = None,
        group: str | None = None,
        batch_size: int = 500,
        housekeeping: Housekeeping | None = None,
    ) -> None:
        self.name = name
        self.recipient = recipient
        self.writer = writer
        self.group = group or f"sink-{name}"
        self.retry_policy = retry_policy or RetryConfig()
        self.metrics = metrics or ConnectorMetrics(name)
        self.rejects = rejects
        self.batch_size = batch_size
        self.counts = SinkCounts()
        self.housekeeping = housekeeping
        # A bare address gets the environment's HUB_KAFKA__* security settings.
        kafka = KafkaConnection.of(bootstrap)
        # New share topics (a new agreement naming this recipient) are picked up in 5 s.
        self._consumer = kafka.consumer(self.group, **{"topic.metadata.refresh.interval.ms": 5000})
        self._producer = kafka.producer()
        self._loop = BatchLoop(
            self._consumer, name=name, size=batch_size, wait=0.5, producer=self._producer
        )
        self._decoder = ShareDecoder(SchemaRegistryClient({"url": registry_url}))

    def run(
        self,
        stop: threading.Event,
        *,
        until: Callable[[SinkRunner], bool] | None = None,
        poll_timeout: float = 0.5,
    ) -> None:
        """Until ``stop``. Records are written as soon as they arrive (the kit's adaptive
        batches); ``poll_timeout`` is only how long a quiet poll waits."""
        self._consumer.subscribe([rf"^share\.{re.escape(self.recipient)}\..*"])
        self.metrics.state = "running"
        self._loop.run(
            lambda records: self._handle(records, stop),
            stop,
            until=(lambda: until(self)) if until else None,
            between=self.tidy,
            after=lambda _done: self.metrics.progress(),
            wait=poll_timeout,
        )

    def process(self, messages: Sequence[Message], stop: threading.Event | None = None) -> None:
        """One batch as the loop hands it over: written, receipted, then committed."""
        records = sort_out(messages, self.name).records
        if records:
            self._loop.handle(records, lambda batch: self._handle(batch, stop))
        self.metrics.progress()

    def tidy(self) -> None:
        """The housekeeping's turn (before a poll: quiet streams still get it)."""
        if self.housekeeping is not None:
            self.housekeeping.tick(self.send_receipts)

    def send_receipts(self, receipts: Sequence[ReceiptRecord]) -> None:
        """Receipts made outside a batch, sent and acknowledged (raises if refused)."""
        for r in receipts:
            self._producer.produce(RECEIPTS_TOPIC, r.to_json(), r.disclosure_id.encode())
        self._producer.flush_or_raise(15)
        self.counts.receipts += len(receipts)

    def _handle(self, records: list[Message], stop: threading.Event | None) -> None:
        """The handler: write each disclosure and send its receipt. The loop commits once
        the receipts are acknowledged (hub/kafka/offsets.py)."""
        deliveries: list[Delivery] = []
        outcomes: list[Outcome] = []
        contexts: dict[str, dict[str, bytes]] = {}
        for msg in records:
            topic, partition, offset = coordinates(msg)
            self.counts.consumed += 1
            delivery_or_outcome = self._delivery(msg, topic, partition, offset, stop)
            if isinstance(delivery_or_outcome, Outcome):
                outcomes.append(delivery_or_outcome)
            elif delivery_or_outcome is not None:
                deliveries.append(delivery_or_outcome)
                contexts[delivery_or_outcome.disclosure_id] = delivery_or_outcome.headers
        if deliveries:
            outcomes += self._write(deliveries, stop)
        for o in outcomes:
            if o.status == "failed":
                where = {"disclosure_id": o.disclosure_id, "recipient": self.recipient}
                self.rejects.write(where=where, code="delivery-failed", reason=o.reason or "")
        self._receipts(outcomes, contexts, stop)

    def _delivery(
        self, msg: Message, topic: str, partition: int, offset: int, stop: threading.Event | None
    ) -> Delivery | Outcome | None:
        raw_key = msg.key()
        key = raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else raw_key
        # The header is the contract; the record key carries the same id (older records).
        disclosure = header(msg, DISCLOSURE_ID) or key
        if not disclosure:
            # No id to receipt or deduplicate by: reported with where it sits, then skipped.
            self.counts.rejected += 1
            self.rejects.write(
                where={"topic": topic, "partition": partition, "offset": offset},
                code="no-disclosure-id",
                reason=f"record has no {DISCLOSURE_ID} header",
            )
            return None
        headers = headers_bytes(msg)
        with tracer().start_as_current_span(
            f"process {topic}",
            context=extract_context(headers),
            kind=PROCESS,
            attributes=messaging_attributes(
                "process", topic, partition=partition, offset=offset, group=self.group
            ),
        ):
            try:
                record = retry(
                    lambda: self._decode(msg, topic),
                    self.retry_policy,
                    stop=stop,
                    what=f"{self.name}: decoding",
                )
            except Exception as exc:
                if not isinstance(exc, Terminal):
                    raise
                return Outcome(disclosure, "failed", _now(), str(exc))
            carrier: list[tuple[str, bytes]] = []
            inject_context(carrier)  # the receipt continues this span's trace
        envelope = record.get("envelope") or {}
        return Delivery(
            disclosure_id=disclosure,
            recipient=self.recipient,
            event_id=str(envelope.get("event_id", "")),
            event_type=str(envelope.get("event_type", "")),
            agreement=header(msg, AGREEMENT) or "",
            topic=topic,
            partition=partition,
            offset=offset,
            record=record,
            received_at=datetime.now(UTC),
            # The trace context, and the hub's headers (provider, revision, notice: issue 18).
            headers={**{k: v for k, v in headers.items() if k.startswith("hub.")}, **dict(carrier)},
        )

    def _decode(self, msg: Message, topic: str) -> dict[str, Any]:
        """The disclosure's record (connectors/base/share_decoder.py: bad bytes fail this
        record; only the registry being away is retried)."""
        return self._decoder.decode(msg.value(), topic)

    def _write(self, deliveries: list[Delivery], stop: threading.Event | None) -> list[Outcome]:
        outcomes = retry(
            lambda: self.writer.write(deliveries),
            self.retry_policy,
            stop=stop,
            what=f"{self.name}: writing to {self.writer.system}",
            on_retry=lambda _e: self.metrics.retries.labels(self.name).inc(),
        )
        for o in outcomes:
            if o.status == "delivered":
                self.counts.delivered += 1
                self.metrics.delivered.labels(self.name).inc()
            elif o.status == "erased":  # erased at retention, redelivered: not stored again
                self.counts.not_stored += 1
            else:
                self.counts.failed += 1
                self.metrics.failed.labels(self.name).inc()
        return outcomes

    def _receipts(
        self,
        outcomes: list[Outcome],
        contexts: dict[str, dict[str, bytes]],
        stop: threading.Event | None,
    ) -> None:
        if not outcomes:
            return
        with tracer().start_as_current_span(
            f"send {RECEIPTS_TOPIC}",
            kind=SEND,
            attributes=messaging_attributes("send", RECEIPTS_TOPIC),
        ):
            for o in outcomes:
                receipt = ReceiptRecord(
                    receipt_id=f"{o.disclosure_id}:{o.status}",
                    disclosure_id=o.disclosure_id,
                    recipient=self.recipient,
                    sink=self.writer.system,
                    status=o.status,
                    at=o.at,
                    # Bounded: a writer's long error must not make the receipt too large
                    # to send, which would stop the sink on the same record at each restart.
                    reason=o.reason[:1000] if o.reason else o.reason,
                )
                headers = list(contexts.get(o.disclosure_id, {}).items())
                self._producer.produce(
                    RECEIPTS_TOPIC, receipt.to_json(), o.disclosure_id.encode(), headers
                )
        # Never commit past a receipt the broker refused: this raises, the sink stops and
        # is restarted, and the batch is written again (idempotently by disclosure id).
        self._producer.flush_or_raise(15)
        self.counts.receipts += len(outcomes)

    def close(self) -> None:
        self.metrics.state = "stopped"
        try:
            self._consumer.close()
        finally:
            self._producer.close()
            self.writer.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()
