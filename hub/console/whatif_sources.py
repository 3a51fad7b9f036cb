"""Where the what-if reads recorded events from: the partner topics on the broker, or a file of
recorded topic bytes. Both decode each record exactly as the processor did: the Confluent
wire format, the writer schema from the schema registry, the catalogue's reader schema.

A source that knows how much there is to read (``Measured``) says how far it got, so the
console and ``hub agreements whatif`` show a percentage, not only a count.
"""

from __future__ import annotations

import struct
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hub.catalogue.schemas import Catalogue, EventType
from hub.catalogue.topics import PartnerTopic, parse_partner_topic
from hub.policy.facts import event_time

if TYPE_CHECKING:
    from hub.codec.schemas import SchemaCache
    from hub.kafka import KafkaConnection


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RecordedEvent:
    provider: str
    event_type: EventType
    event: dict[str, Any]
    timestamp: datetime  # when the broker recorded it

    @cached_property  # read several times per event; the event never changes
    def occurred(self) -> datetime:
        """Event time: when it happened (its ``event-time`` field), else when recorded."""
        when = event_time(self.event, self.event_type)
        if when is None:
            return self.timestamp
        return when if when.tzinfo else when.replace(tzinfo=UTC)


class EventSource(Protocol):
    def read(
        self, topics: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> Iterator[RecordedEvent]:
        """At most ``limit`` events recorded from ``since`` on; at least every event that
        happened in [since, until). The caller filters by event time."""
        ...


@runtime_checkable
class Measured(Protocol):
    def position(self) -> tuple[int, int | None]:
        """(how much has been read, how much there is in all, or None when not known), in
        the source's own unit (records, bytes); read while :meth:`read` is iterated."""
        ...


def percent(done: int, total: int | None) -> float | None:
    """A percentage that never claims 100 before the end is reached (``done == total``)."""
    if not total:
        return None
    return min(100.0, 100.0 * done / total) if done >= total else min(99.9, 100.0 * done / total)


class _Decoder:
    """Wire bytes to a recorded event, as the processor decodes them; None for a record the
    processor would have dead-lettered (never decided, so never compared)."""

    def __init__(self, registry_url: str, catalogue: Catalogue) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        from hub.codec.schemas import SchemaCache

        self._schemas: SchemaCache = SchemaCache(
            SchemaRegistryClient({"url": registry_url}), catalogue
        )
        self._owners: dict[str, PartnerTopic | None] = {}  # a topic parsed once, not per record

    def __call__(self, topic: str, value: bytes | None, ms: int | None) -> RecordedEvent | None:
        from hub.codec.admission import decode_admitted
        from hub.errors import HubError, Retryable

        owner = self._owners.get(topic)
        if owner is None:
            owner = self._owners[topic] = parse_partner_topic(topic)
        if owner is None:
            return None
        try:
            # The processor's admission (hub/codec/admission.py) short of the signature,
            # which was checked when the record arrived: a record whose schema is of
            # another event type than its topic's, or whose event claims another source
            # partner, was dead-lettered, never decided, so it is not compared either.
            event_type, event = decode_admitted(
                self._schemas, owner, topic, value, signer=owner.partner
            )
        except Retryable:
            raise  # the registry is away: every event would look undecodable, say so instead
        except HubError:
            return None
        if ms is None:  # a file keeps no broker time: the event's own time stands in
            when = event_time(event, event_type)
            recorded = (when if when.tzinfo else when.replace(tzinfo=UTC)) if when else _EPOCH
            item = RecordedEvent(owner.partner, event_type, event, recorded)
            if when is not None:  # what ``occurred`` would work out again: its cached value
                item.__dict__["occurred"] = recorded
            return item
        return RecordedEvent(
            owner.partner, event_type, event, datetime.fromtimestamp(ms / 1000, UTC)
        )


class KafkaEventSource:
    """Partner topics on the broker, decoded through the schema registry.

    ``timeout`` bounds a stall (no record and no end of partition for that long), not the
    whole read: a million events take longer than any fixed budget."""

    def __init__(
        self,
        bootstrap: str | KafkaConnection,
        registry_url: str,
        catalogue: Catalogue,
        timeout: float = 20.0,
    ) -> None:
        self._bootstrap = bootstrap
        self._registry_url = registry_url
        self._catalogue = catalogue
        self._timeout = timeout
        self._starts: dict[tuple[str, int], int] = {}
        self._ends: dict[tuple[str, int], int] = {}
        self._at: dict[tuple[str, int], int] = {}

    def position(self) -> tuple[int, int | None]:
        """Records passed and records to pass, over the partitions read. The end of each is
        the larger of the queried high watermark, the one the last fetch returned and the
        next offset read (the embedded broker under-reports a queried watermark), and the
        exact next offset once the client reported the partition's end."""
        if not self._starts:
            return 0, None
        done = sum(self._at[tp] - s for tp, s in self._starts.items())
        total = sum(max(self._ends[tp], self._at[tp]) - s for tp, s in self._starts.items())
        return done, total

    def _watermarks(self, consumer: Any, assigned: Sequence[Any], cached: bool) -> None:
        from confluent_kafka import KafkaException

        for tp in assigned:
            key = (tp.topic, tp.partition)
            try:
                if cached:
                    _low, high = consumer.get_watermark_offsets(tp, cached=True)
                else:
                    _low, high = consumer.get_watermark_offsets(tp, timeout=self._timeout)
            except KafkaException:
                continue  # best effort: the offsets read and the partition's end still count
            if high is not None and high >= 0:
                self._ends[key] = max(self._ends.get(key, 0), high)

    def read(
        self, topics: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> Iterator[RecordedEvent]:
        # Imported here: the console works (without the what-if) where Kafka is not reachable.
        from confluent_kafka import TopicPartition

        from hub.errors import BrokerUnavailable
        from hub.kafka import BatchLoop, KafkaConnection

        decode = _Decoder(self._registry_url, self._catalogue)
        # A throwaway group that never commits: reading never moves anyone's offsets.
        consumer = KafkaConnection.of(self._bootstrap).consumer(
            f"hub-console-whatif-{uuid.uuid4()}", **{"enable.partition.eof": True}
        )
        loop = BatchLoop(consumer, name="what-if reader", size=2000, wait=0.5, commit=False)
        try:
            meta = consumer.list_topics(timeout=self._timeout)
            since_ms = int(since.timestamp() * 1000)
            starts: list[Any] = []
            for topic in topics:
                if topic in meta.topics:
                    parts = meta.topics[topic].partitions
                    starts += [TopicPartition(topic, p, since_ms) for p in parts]
            if not starts:
                return
            # The start from the broker's time index; then read to the end of each partition
            # (its EOF event, not a queried watermark: the embedded broker under-reports
            # those) and check every record against the period by its own timestamp. A
            # broker without a time index (the embedded one answers offset 0 for any time)
            # so reads more, never less, and never outside the period.
            first = consumer.offsets_for_times(starts, timeout=self._timeout)
            assign = [tp for tp in first if tp.offset >= 0]  # -1: nothing since the start
            if not assign:
                return
            self._starts = {(tp.topic, tp.partition): tp.offset for tp in assign}
            self._at = dict(self._starts)
            self._ends = dict(self._starts)
            self._watermarks(consumer, assign, cached=False)  # the total, for the percentage
            consumer.assign(assign)
            pending = {(tp.topic, tp.partition) for tp in assign}
            read = 0
            stalled_at = time.monotonic() + self._timeout
            while pending and read < limit and time.monotonic() < stalled_at:
                batch = loop.poll()
                if batch.records or batch.ended:
                    stalled_at = time.monotonic() + self._timeout
                for msg in batch.records:
                    topic = str(msg.topic())
                    key = (topic, msg.partition() or 0)
                    self._at[key] = max(self._at[key], (msg.offset() or 0) + 1)
                    _kind, ms = msg.timestamp()
                    if ms < since_ms:  # published before the period: it happened before
                        continue
                    item = decode(topic, msg.value(), ms)
                    if item is None:
                        continue
                    read += 1
                    yield item
                self._watermarks(consumer, assign, cached=True)
                for key in batch.ended:  # the end, exactly: whatever was queried before
                    pending.discard(key)
                    if key in self._ends:
                        self._ends[key] = self._at[key]
            if pending and read < limit:
                # A partial replay would understate the difference: say so instead.
                raise BrokerUnavailable(
                    f"no record for {self._timeout:.0f}s while reading the recorded events"
                )
        finally:
            consumer.close()


_LEN = struct.Struct(">I")


class TopicFileSource:
    """Recorded topic bytes in a file, all from one partner topic: each record's value
    (Confluent wire format) after its length as 4 bytes big-endian, as ``bench/stages.py``
    writes them. The file keeps no broker timestamps, so each event's own time stands in;
    the period is still by event time."""

    def __init__(self, path: Path, topic: str, registry_url: str, catalogue: Catalogue) -> None:
        self.path = path
        self.topic = topic
        self._registry_url = registry_url
        self._catalogue = catalogue
        self._done = 0
        self._total: int | None = None

    def position(self) -> tuple[int, int | None]:
        """Bytes read and the file's size."""
        return self._done, self._total

    def read(
        self, topics: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> Iterator[RecordedEvent]:
        from hub.errors import Rejected

        if self.topic not in topics:
            return  # not one the draft covers: nothing of it would be decided under it
        decode = _Decoder(self._registry_url, self._catalogue)
        self._total, self._done, read = self.path.stat().st_size, 0, 0
        with self.path.open("rb") as fh:
            while read < limit:
                head = fh.read(4)
                if not head:
                    return
                (n,) = _LEN.unpack(head) if len(head) == 4 else (-1,)
                value = fh.read(n) if n >= 0 else b""
                if n < 0 or len(value) != n:
                    raise Rejected(
                        f"{self.path}: cut short at byte {self._done} (a record's length "
                        "and value expected)",
                        fix="record the topic again",
                    )
                self._done += 4 + n
                item = decode(self.topic, value, None)
                if item is None:
                    continue
                read += 1
                yield item
