"""Helpers for the crash, fuzz and interop tests: a signed sender that remembers where each
record landed, readers for recipient topics and sinks, and the "nothing lost, nothing
duplicated, nothing over-shared" checker.

The checker is written from the processor's contract, not from its code: every valid event
gets exactly one audit decision per candidate recipient; every hostile record is a dead
letter at its own coordinates; a sink row or a recipient-topic record exists only for a
``shared`` decision of that (event, recipient); sinks hold each disclosure once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)

from hub.broker.admin import end_offsets
from hub.broker.client_config import consumer_config, producer_config
from hub.broker.records import coordinates, header
from hub.identity.keys import SigningKey
from hub.identity.signing import sign
from tests.case_systems import CaseSystem

Coordinates = tuple[str, int, int]


@dataclass
class Sent:
    """What went into the partner topic, by where the broker put it."""

    valid: dict[str, Coordinates] = field(default_factory=dict)  # event id -> coordinates
    hostile: dict[Coordinates, str] = field(default_factory=dict)  # coordinates -> label
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.valid) + len(self.hostile)


class SignedSender:
    """Produce records as a partner would, remembering the offset of each one.

    ``headers`` default to the partner's signature over (topic, key, value); pass explicit
    headers to send a record signed wrongly or not at all.
    """

    def __init__(self, bootstrap: str, topic: str, signer: SigningKey) -> None:
        self.topic = topic
        self.signer = signer
        self.sent = Sent()
        self._lock = threading.Lock()
        # A hostile partner sends what the broker accepts, not what the hub's producers may.
        self._producer = Producer(producer_config(bootstrap, **{"message.max.bytes": 20_000_000}))

    def _delivered(self, valid_id: str | None, label: str) -> Callable[[Any, Message], None]:
        def report(err: Any, msg: Message) -> None:
            if err is not None:
                self.sent.errors.append(f"{label}: {err}")
                return
            where = coordinates(msg)
            with self._lock:
                if valid_id is not None:
                    self.sent.valid[valid_id] = where
                else:
                    self.sent.hostile[where] = label

        return report

    def send(
        self,
        value: bytes | None,
        key: bytes | None,
        *,
        valid_id: str | None = None,
        label: str = "valid",
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        if headers is None:
            headers = sign(self.signer, self.topic, key, value)
        while True:
            try:
                self._producer.produce(
                    self.topic,
                    value=value,
                    key=key,
                    headers=headers,  # type: ignore[arg-type]  # stub is invariant
                    on_delivery=self._delivered(valid_id, label),
                )
                break
            except BufferError:
                self._producer.poll(0.1)
        self._producer.poll(0)

    def flush(self, timeout: float = 60.0) -> Sent:
        remaining = self._producer.flush(timeout)
        assert remaining == 0 and not self.sent.errors, (remaining, self.sent.errors[:3])
        return self.sent


def read_topics(
    bootstrap: str, topics: Collection[str], timeout: float = 60.0
) -> dict[str, list[Message]]:
    """Every record now on ``topics``: each partition read until the client reports its
    end (the end a fetch sees), and at least to the queried end offset. The queried end
    alone is not enough: the embedded broker reports the last batch's base offset + 1, so
    the rest of that batch would go unchecked. Partitions are assigned, not subscribed, so
    no consumer-group join is waited for."""
    ends = {
        (topic, p): o for topic in topics for p, o in end_offsets(bootstrap, topic).items() if o > 0
    }
    out: dict[str, list[Message]] = {topic: [] for topic in topics}
    if not ends:
        return out
    consumer = Consumer(
        consumer_config(
            bootstrap, f"checker-{time.monotonic_ns()}", **{"enable.partition.eof": True}
        )
    )
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for (t, p) in ends])
    seen: dict[tuple[str, int], int] = {}
    at_end: set[tuple[str, int]] = set()  # reported at their end since their last record
    deadline = time.monotonic() + timeout
    try:
        while any(seen.get(tp, 0) < o or tp not in at_end for tp, o in ends.items()):
            assert time.monotonic() < deadline, f"timed out reading {topics}: {seen} < {ends}"
            for msg in consumer.consume(1000, 0.5):
                err = msg.error()
                if err is not None:
                    assert err.code() == KafkaError._PARTITION_EOF, err
                    at_end.add((msg.topic() or "", msg.partition() or 0))
                    continue
                topic, partition, offset = coordinates(msg)
                at_end.discard((topic, partition))
                seen[(topic, partition)] = max(seen.get((topic, partition), 0), offset + 1)
                out[topic].append(msg)
    finally:
        consumer.close()
    return out


@dataclass(frozen=True)
class SinkRow:
    disclosure_id: str
    event_id: str
    agreement: str


def sink_rows(sink: CaseSystem) -> list[SinkRow]:
    """The checker's view of a case system's table: every row, duplicates included."""
    return [SinkRow(r["disclosure_id"], r["event_id"], r["agreement"]) for r in sink.rows()]


@dataclass(frozen=True)
class TopicRecord:
    recipient: str
    disclosure_id: str | None
    event_id: str | None
    agreement: str | None


def topic_records(recipient: str, messages: Iterable[Message]) -> list[TopicRecord]:
    return [
        TopicRecord(
            recipient,
            header(m, "hub.disclosure_id"),
            header(m, "hub.event_id"),
            header(m, "hub.agreement"),
        )
        for m in messages
    ]


def check(
    *,
    sent: Sent,
    candidates: Iterable[str],
    decisions: list[dict[str, Any]],
    dead_letters: list[dict[str, Any]],
    sinks: dict[str, list[SinkRow]],
    topics: dict[str, list[TopicRecord]],
) -> list[str]:
    """Every way the run broke "nothing lost, nothing duplicated, nothing over-shared"."""
    problems: list[str] = []
    candidates = tuple(candidates)
    valid = set(sent.valid)

    # Audit: exactly one decision per (valid event, candidate), nothing for anything else.
    per_pair = Counter((d["event_id"], d["recipient"]) for d in decisions)
    dup = [k for k, n in per_pair.items() if n > 1]
    if dup:
        problems.append(f"{len(dup)} (event, recipient) pairs decided twice, e.g. {dup[:3]}")
    decided = set(per_pair)
    wanted = {(e, r) for e in valid for r in candidates}
    lost = wanted - decided
    if lost:
        problems.append(f"{len(lost)} (event, recipient) decisions missing, e.g. {list(lost)[:3]}")
    extra = decided - wanted
    if extra:
        problems.append(f"{len(extra)} decisions for no valid input, e.g. {list(extra)[:3]}")

    shared: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in candidates}
    for d in decisions:
        if d["outcome"] == "shared":
            shared.setdefault(d["recipient"], {})[d["event_id"]] = d
    shared_ids = {d["disclosure_id"] for r in shared.values() for d in r.values()}

    # Sinks: each disclosure once, each (event, agreement) once, exactly the shared set.
    for recipient, rows in sinks.items():
        by_disclosure = Counter(r.disclosure_id for r in rows)
        if any(n > 1 for n in by_disclosure.values()):
            problems.append(f"sink {recipient}: a disclosure id appears twice")
        by_pair = Counter((r.event_id, r.agreement) for r in rows)
        twice = [k for k, n in by_pair.items() if n > 1]
        if twice:
            problems.append(f"sink {recipient}: {len(twice)} (event, agreement) twice: {twice[:3]}")
        for r in rows:
            match = shared.get(recipient, {}).get(r.event_id)
            if match is None:
                problems.append(f"sink {recipient}: event {r.event_id} has no shared decision")
            elif match["disclosure_id"] != r.disclosure_id or r.agreement != (
                f"{match['agreement_id']}@v{match['agreement_version']}"
            ):
                problems.append(f"sink {recipient}: row {r} does not match its decision")
        in_sink = {r.event_id for r in rows}
        if in_sink != set(shared.get(recipient, {})):
            missing = set(shared.get(recipient, {})) - in_sink
            problems.append(
                f"sink {recipient}: {len(missing)} shared events missing, "
                f"{len(in_sink - set(shared.get(recipient, {})))} extra"
            )

    # Recipient topics: duplicates allowed (at-least-once), over-sharing not.
    for recipient, records in topics.items():
        for t in records:
            match = shared.get(recipient, {}).get(t.event_id or "")
            if (
                match is None
                or t.disclosure_id not in shared_ids
                or match["disclosure_id"] != (t.disclosure_id)
            ):
                problems.append(f"topic for {recipient}: {t} has no matching shared decision")
        on_topic = {t.event_id for t in records}
        missing_on_topic = set(shared.get(recipient, {})) - on_topic
        if missing_on_topic:
            problems.append(f"topic for {recipient}: {len(missing_on_topic)} shared events absent")

    # Dead letters: every hostile record at its own coordinates, nothing valid among them.
    dead_at = {(d["topic"], d["partition"], d["offset"]): d for d in dead_letters}
    not_dead = [c for c in sent.hostile if c not in dead_at]
    if not_dead:
        problems.append(
            f"{len(not_dead)} hostile records not dead-lettered, e.g. "
            f"{[(c, sent.hostile[c]) for c in not_dead[:3]]}"
        )
    valid_at = set(sent.valid.values())
    wrongly = [c for c in dead_at if c in valid_at]
    if wrongly:
        problems.append(f"{len(wrongly)} valid events dead-lettered, e.g. {wrongly[:3]}")
    no_reason = [c for c, d in dead_at.items() if not d["reason_code"] or not d["reason"]]
    if no_reason:
        problems.append(f"{len(no_reason)} dead letters without a reason, e.g. {no_reason[:3]}")
    return problems
