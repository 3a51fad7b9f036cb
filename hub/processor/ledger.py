"""The processor's memory of seen events: (provider, event id) -> digest of the content.

Why: a partner reusing an event id for other content must be told (dead letter
``event-id-reused``), never silently disclosed a second time, and a redelivery of the same
content must stay a redelivery. Both are decided here, against every event any processor
instance has decided, across restarts.

Where it lives: the compacted topic ``hub.events.v1``, key ``<provider>|<event id>``, value
a small JSON ``LedgerEntry``. The processor produces an entry with every batch that decides
the event, so it is acknowledged before the batch's offsets are committed. Crash cases:

- entry produced, offsets not committed: the batch is redelivered with the same content,
  finds its own digest, and is decided again with the same ids (a redelivery);
- entry not produced (flush failed) and the process restarted: offsets were not committed
  either; the redelivery finds nothing and remembers it then;
- entry not produced and the same process retries the batch: its memory already has the
  event, the retry is a redelivery, and it produces the entry again (which is why the entry
  goes with every decision of the event, not only the first).

Every instance loads the whole topic at start and tails it between records (``refresh``), so
an id first seen by another instance is known here within the tail's latency. Two instances
deciding the same reused id in that window both decide it: each decision then carries its
own content digest, so the audit still records exactly what was sent, and ``hub audit
conflicts`` lists the event as having two contents.

Where it is kept (``LedgerStore``, hub/processor/ledger_store.py, setting
``HUB_LEDGER_STORE``): by default in a SQLite file of the process's own under the data dir,
rebuilt from the topic at every start and removed at close, so the process's memory stays
flat however many events it has decided (bench/memory.py); or in two dicts on the heap
(``memory``: tests, and operators who prefer memory to a file), about 143 bytes an entry
and 614 for one with recipients. Measured with bench/ledger.py on 200,000 entries, CPU an
entry, dicts against the file: load about 4 against 6 µs, a new event's ``entry`` + ``put``
+ its share of ``commit`` 3-4 against 9-11 µs, an ``entry`` miss 0.9 against 3-3.6 µs.
An instance's own entries coming back in the tail are recognised in memory (the recent
writes, two bounded generations), neither parsed nor read from the store. Start-up reads the
whole topic (``TopicSource``); national scale (tens of millions of events a year) would want
each instance to load only the keys of the partitions it processes: key the ledger topic
like the partner topics and load the matching partitions on assignment. Not built;
``EventLedger`` takes any ``LedgerSource`` for it.

Issue 18 (corrections and retractions): the entry is the event's latest state, "who received
what": the declared revision, the digests of earlier revisions, each recipient reached with
the disclosure id of the last record sent to it and whether it still holds the event, and the
retraction once there is one (hub/processor/corrections.py decides from it). Entries with
recipients are kept as their JSON (about 460 bytes for two recipients), a plain one as its
32-byte digest. Within a batch changes are kept apart (``begin``/``commit``/``rollback``,
one store transaction at ``commit``): the store never runs ahead of what the broker
acknowledged. Entries written before issue 18 carry no recipients:
a correction to such an event reaches nobody until the ledger is rebuilt from the audit (not
built yet).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from hub.catalogue.topics import EVENTS_TOPIC
from hub.errors import EventIdReused
from hub.processor.ledger_store import LedgerStore, MemoryStore, Row, rank_of

if TYPE_CHECKING:
    from hub.kafka.connection import KafkaConnection

log = logging.getLogger("hub.processor.ledger")

# Envelope fields that say how the event was serialised, not what it says: the same event
# written under schema v1 and v2 is the same content. The revision is not content either: it
# is kept beside the digest (an event written before the field existed reads as revision 1
# and keeps the digest it had then).
_NOT_CONTENT = frozenset(("schema_version", "revision"))


def _strip(value: Any) -> Any:
    """Absent and null the same (a field added to a later schema version, left null, is not
    a change), and the serialisation fields gone. Only containers are walked: orjson spells
    the scalars (UUIDs, dates and aware datetimes natively, one way each)."""
    kind = type(value)
    if kind is dict:
        return {k: _strip(v) for k, v in value.items() if v is not None and k not in _NOT_CONTENT}
    if kind is list or kind is tuple:
        return [_strip(v) for v in value]
    return value


def _spell(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} in a decoded event")


def content_digest(event: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the decoded event's canonical JSON (sorted keys). About 4 µs for a
    safeguarding concern with orjson; the same with ``json`` and a full walk was 115 µs,
    several times the decode."""
    body = orjson.dumps(_strip(dict(event)), option=orjson.OPT_SORT_KEYS, default=_spell)
    return hashlib.sha256(body).hexdigest()


# Who holds what, per recipient: [disclosure id of the last record sent, its revision, held]
# (held False: the last thing sent was a retraction notice). Lists, for orjson.
Reach = list[Any]


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger topic holds for one (provider, event id): the latest state of the event,
    so the compacted topic's last entry per key is all a restarted instance needs."""

    provider: str
    event_id: str
    digest: str  # of the latest revision decided ("" for a retraction of an unseen event)
    source: str  # "topic:partition:offset" of the record first decided with this content
    at: str  # when it was first decided (ISO 8601)
    revision: int | None = None  # the partner's declared revision (issue 18)
    # Issue 18: who received what, so corrections and retractions reach every recipient.
    event_type: str | None = None
    digests: dict[str, str] | None = None  # earlier revisions: "<revision>" -> digest
    reached: dict[str, Reach] | None = None  # recipient -> Reach, after this revision
    before: dict[str, Reach] | None = None  # the same before this revision (redeliveries)
    retraction: dict[str, str] | None = None  # {"id", "reason", "at"} once retracted

    def key(self) -> bytes:
        return ledger_key(self.provider, self.event_id)

    def to_json(self) -> bytes:
        return orjson.dumps(self)  # one per decided event: json.dumps cost 30 times more

    @classmethod
    def from_json(cls, raw: bytes) -> LedgerEntry:
        data = orjson.loads(raw)
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})

    @property
    def rich(self) -> bool:
        """More than a digest to remember (kept as its JSON, not 16 bytes)."""
        return _is_rich(self.__dict__)


def _is_rich(data: Mapping[str, Any]) -> bool:
    return bool(
        data.get("reached")
        or data.get("retraction")
        or data.get("digests")
        or (data.get("revision") or 1) > 1
    )


def _rank(data: Mapping[str, Any]) -> int:
    """Which of two entries for one key is the later state: a higher revision, then a
    retraction, then more recipients reached (entries only ever grow along these)."""
    return rank_of(
        data.get("revision") or 1, bool(data.get("retraction")), len(data.get("reached") or ())
    )


def ledger_key(provider: str, event_id: str) -> bytes:
    return f"{provider}|{event_id}".encode()


def _slot(provider: str, event_id: str) -> bytes:
    # 16 bytes instead of the text key: what the store keeps per entry.
    return hashlib.blake2b(ledger_key(provider, event_id), digest_size=16).digest()


def _row(slot: bytes, data: Mapping[str, Any], value: bytes) -> Row:
    """The store's row for an entry read as JSON: a plain one is its 32-byte digest."""
    if not _is_rich(data):
        digest = bytes.fromhex(data["digest"])
        if len(digest) == 32:
            return slot, digest, None, 0
    return slot, None, bytes(value), _rank(data)


class LedgerSource(Protocol):
    """Where entries come from: the topic at start, then what other instances add."""

    def initial(self) -> Iterable[tuple[bytes | None, bytes | None]]: ...

    def more(self) -> Iterable[tuple[bytes | None, bytes | None]]: ...


# Rows handed to the store at once while loading (one transaction each).
LOAD_CHUNK = 5_000
# What this instance wrote recently, kept in memory (two generations of up to this many):
# its own entries come back in the tail a fraction of a second later and are recognised
# without a parse or a read of the store.
RECENT = 8_192
_PLAIN = b""  # in ``_recent``: a plain entry was written (its digest is in the store)


class EventLedger:
    """Seen (provider, event id) -> content digest, fed from ``hub.events.v1``, kept in a
    ``LedgerStore`` (hub/processor/ledger_store.py: in memory unless one is given)."""

    def __init__(
        self,
        source: LedgerSource | None = None,
        *,
        refresh_every: float = 0.2,
        store: LedgerStore | None = None,
    ):
        self._store: LedgerStore = store if store is not None else MemoryStore()
        # A batch's changes, kept apart until its outputs are acknowledged (``begin``).
        self._overlay: dict[bytes, LedgerEntry] | None = None
        # Slot -> the JSON of a state this instance wrote, or _PLAIN (see RECENT).
        self._recent: dict[bytes, bytes] = {}
        self._older: dict[bytes, bytes] = {}
        self._source = source
        self._refresh_every = refresh_every
        self._refreshed = 0.0
        self._last: tuple[str, str, bytes] = ("", "", b"")
        self.loaded = 0
        if source is not None:
            before = len(self._store)
            self._take(source.initial())
            self.loaded = len(self._store) - before
            self._refreshed = time.monotonic()

    def __len__(self) -> int:
        return len(self._store)

    @property
    def store(self) -> LedgerStore:
        return self._store

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        if close is not None:
            close()
        self._store.close()

    def _take(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        """Entries from the topic into the store, in chunks (``merge``: the later rank wins)."""
        rows: list[Row] = []
        recent, older = self._recent, self._older
        for key, value in records:
            if key is None or value is None:
                continue  # a tombstone or a foreign record: nothing to remember
            slot = hashlib.blake2b(key, digest_size=16).digest()
            mine = recent.get(slot)
            if mine is None:
                mine = older.get(slot)
            if mine is not None and mine == value:
                continue  # this instance's own state coming back in the tail: no JSON parsed
            try:
                data = orjson.loads(value)
                if ledger_key(data["provider"], data["event_id"]) != key:
                    raise ValueError("the entry's provider and event id are not its key")
                row = _row(slot, data, value)
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("events ledger: unreadable entry for key %r: %s", key[:200], exc)
                continue
            if mine is not None:
                if row[2] is None:
                    continue  # a plain entry where this instance wrote one: changes nothing
                recent.pop(slot, None)  # another's state may win: the store decides
                older.pop(slot, None)
            rows.append(row)
            if len(rows) >= LOAD_CHUNK:
                self._store.merge(rows)
                rows = []
        self._store.merge(rows)

    def refresh(self) -> None:
        """Take what other instances have added since, at most every ``refresh_every``
        seconds (a non-blocking read of the tail)."""
        if self._source is None:
            return
        now = time.monotonic()
        if now - self._refreshed >= self._refresh_every:
            self._refreshed = now
            self._take(self._source.more())

    def entry(self, provider: str, event_id: str) -> LedgerEntry | None:
        """The latest state of (provider, event id), this batch's changes included."""
        slot = _slot(provider, event_id)
        self._last = (provider, event_id, slot)
        if self._overlay is not None and slot in self._overlay:
            return self._overlay[slot]
        mine = self._recent.get(slot)
        if mine is None:
            mine = self._older.get(slot)
        if mine:  # a state this instance wrote, still the latest (``_take`` forgets it else)
            return LedgerEntry.from_json(mine)
        found = self._store.get(slot)
        if found is None:
            return None
        digest, state = found
        if state is not None:
            return LedgerEntry.from_json(state)
        assert digest is not None
        return LedgerEntry(provider, event_id, digest.hex(), "", "", revision=1)

    def put(self, entry: LedgerEntry) -> None:
        """The event's new state: at once outside a batch, at ``commit`` inside one."""
        provider, event_id, slot = self._last
        if (provider, event_id) != (entry.provider, entry.event_id):
            slot = _slot(entry.provider, entry.event_id)
        if self._overlay is not None:
            self._overlay[slot] = entry
        else:
            self._write({slot: entry})

    def begin(self) -> None:
        """Changes from here are the batch's: a batch whose outputs are never acknowledged
        (the process retries it after a lost broker) leaves no memory of what it decided,
        so its retry decides it again exactly as the first attempt did."""
        self._overlay = {}

    def commit(self) -> None:
        overlay, self._overlay = self._overlay or {}, None
        self._write(overlay)

    def rollback(self) -> None:
        self._overlay = None

    def _write(self, changes: Mapping[bytes, LedgerEntry]) -> None:
        """Acknowledged changes into the store, in one transaction (``write``)."""
        if not changes:
            return
        rows: list[Row] = []
        recent = self._recent
        for slot, entry in changes.items():
            if entry.rich or len(entry.digest) != 64:
                # A copy of exact size: orjson's bytes keep their 4 KB output buffer (3.13,
                # measured), eight times the entry, as long as the copy is kept.
                state = memoryview(entry.to_json()).tobytes()
                rows.append((slot, None, state, _rank(entry.__dict__)))
                recent[slot] = state
            else:
                rows.append((slot, bytes.fromhex(entry.digest), None, 0))
                # Not the digest: a state already in the store stays (``write``).
                recent[slot] = _PLAIN
        self._store.write(rows)
        if len(recent) >= RECENT:
            self._older, self._recent = recent, {}

    def seen(self, provider: str, event_id: str, digest: str) -> bool:
        """True when this content was seen before (a redelivery or a duplicate); False when
        the id is new. Raises EventIdReused when the id was seen with other content."""
        known = self.entry(provider, event_id)
        if known is None:
            return False
        if known.digest == digest:
            return True
        raise EventIdReused(
            f"event id {event_id} from {provider} was decided before with other content "
            f"(digest {known.digest[:16]}…, this record {digest[:16]}…); not shared again"
        )

    def remember(self, entry: LedgerEntry) -> None:
        if self.entry(entry.provider, entry.event_id) is None:
            self.put(entry)


TAIL_BUDGET = 100_000


class TopicSource:
    """``hub.events.v1`` read by assignment (no group, no commits): all of it at start,
    then the tail. The load ends when the client has reported the end of every assigned
    partition (``enable.partition.eof``): that follows the records actually fetched, so it
    is exact even where the broker reports a partition's high watermark short (the embedded
    one reports the last produce batch's first offset + 1, issue 15 item 8), and an empty
    topic costs one fetch, not a quiet period. ``timeout`` bounds the whole load; whatever
    it leaves is taken by the tail."""

    def __init__(self, consumer: Any, topic: str, *, timeout: float = 120.0) -> None:
        self._consumer = consumer  # created with enable.partition.eof (``topic_ledger``)
        self._topic = topic
        self._timeout = timeout

    def initial(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

        from hub.kafka.assign import partitions

        parts = [p for _t, p in partitions(self._consumer, [self._topic], 10)] or [0]
        self._consumer.assign([TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in parts])
        pending = set(parts)
        started = time.monotonic()
        while pending:
            if time.monotonic() - started > self._timeout:
                log.warning(
                    "events ledger: load stopped after %.0fs before the end of partition(s) "
                    "%s of %s; the tail goes on",
                    self._timeout,
                    sorted(pending),
                    self._topic,
                )
                return
            for msg in self._consumer.consume(1000, 0.1):
                err = msg.error()
                if err is None:
                    yield msg.key(), msg.value()
                elif err.code() == KafkaError._PARTITION_EOF:
                    pending.discard(msg.partition())
                else:  # transient (a broker reconnecting): the timeout bounds the wait
                    log.debug("events ledger: %s", err)

    def more(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        """What has arrived, without waiting: up to ``TAIL_BUDGET`` records a call, so the
        tail keeps up with every instance's entries together (one consume of 1,000 every
        0.2 s would fall behind a processor deciding thousands of events a second)."""
        taken = 0
        while taken < TAIL_BUDGET:
            batch = self._consumer.consume(5000, 0)
            for msg in batch:
                if msg.error() is None:
                    yield msg.key(), msg.value()
            taken += len(batch)
            if len(batch) < 5000:
                return

    def close(self) -> None:
        self._consumer.close()


def ensure_ledger_topic(kafka: KafkaConnection, partitions: int = 3, timeout: float = 15.0) -> None:
    """Create ``hub.events.v1`` compacted when it does not exist (production creates it from
    the deployment plan; this is for local runs). A broker that refuses the compaction
    setting (the embedded one may) gets a plain topic: the ledger only needs its records."""
    from confluent_kafka import KafkaException
    from confluent_kafka.cimpl import NewTopic

    from hub.broker.admin import ensure_topics
    from hub.translate import already_exists

    admin = kafka.admin()
    if EVENTS_TOPIC in admin.list_topics(timeout=timeout).topics:
        return
    spec = NewTopic(EVENTS_TOPIC, partitions, 1, config={"cleanup.policy": "compact"})
    try:
        admin.create_topics([spec], operation_timeout=timeout)[EVENTS_TOPIC].result(timeout)
    except KafkaException as exc:
        if not already_exists(exc):
            log.warning("events ledger: compacted topic refused (%s); creating it plain", exc)
            ensure_topics(kafka, [EVENTS_TOPIC], partitions)


def topic_ledger(
    kafka: KafkaConnection, group: str, store: LedgerStore | None = None
) -> EventLedger:
    """The processor's ledger, loaded from ``hub.events.v1`` into ``store`` (in memory when
    none is given; ``open_store`` for the setting's choice). Read by assignment: ``group``
    only names the client, it never joins or commits."""
    started = time.monotonic()
    consumer = None
    try:
        ensure_ledger_topic(kafka)
        consumer = kafka.consumer(
            group, **{"enable.auto.commit": False, "enable.partition.eof": True}
        )
        ledger = EventLedger(TopicSource(consumer, EVENTS_TOPIC), store=store)
    except BaseException:  # the file goes with the failed start
        if consumer is not None:
            consumer.close()
        if store is not None:
            store.close()
        raise
    log.info(
        "events ledger: %d entries loaded from %s in %.1fs (%s)",
        ledger.loaded,
        EVENTS_TOPIC,
        time.monotonic() - started,
        getattr(ledger.store, "path", "in memory"),
    )
    return ledger
