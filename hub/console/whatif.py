"""What-if: replay a period's recorded events through a draft agreement version.

The audit holds no event contents (no personal data), so the events are read back from the
partner topics on the broker, decoded with their writer schema from the schema registry,
exactly as the processor decoded them.

The period is by **event time** (when the event happened, the field tagged ``event-time``),
as an IG officer means it, not by when the hub received it. An event is published after it
happens, so every event of the period was published at or after the period's start:
``offsets_for_times`` finds that offset in every partition and the reader reads on to the
end, keeping the events whose event time falls in the period. Events read that happened
outside it are counted, so an empty period can say where the events are.

The baseline is what the hub actually decided (the audit); the alternative is the pure
decision engine run at each decision's recorded time with the draft standing in for every
version of its agreement, as if approved and in force. Only the draft's recipients are
compared, so a change elsewhere since then is never blamed on the draft.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from hub.agreements.models import Agreement, Approval, Signature, Status
from hub.catalogue.schemas import Catalogue, EventType
from hub.catalogue.topics import partner_topic
from hub.policy import compiled
from hub.policy.decision import Decision
from hub.policy.engine import PolicyEngine
from hub.policy.facts import event_time

if TYPE_CHECKING:
    from hub.kafka import KafkaConnection

MAX_EVENTS = 20_000  # a what-if is interactive: a bigger period should be narrowed
EXAMPLES = 5  # per recipient and kind of change


@dataclass(frozen=True)
class RecordedEvent:
    provider: str
    event_type: EventType
    event: dict[str, Any]
    timestamp: datetime  # when the broker recorded it

    @property
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


class KafkaEventSource:
    """Partner topics on the broker, decoded through the schema registry."""

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

    def read(
        self, topics: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> Iterator[RecordedEvent]:
        # Imported here: the console works (without the what-if) where Kafka is not reachable.
        import time

        from confluent_kafka import TopicPartition
        from confluent_kafka.schema_registry import SchemaRegistryClient

        from hub.catalogue.topics import parse_partner_topic
        from hub.codec import wire
        from hub.codec.schemas import SchemaCache
        from hub.errors import BrokerUnavailable, HubError
        from hub.kafka import BatchLoop, KafkaConnection

        schemas = SchemaCache(SchemaRegistryClient({"url": self._registry_url}), self._catalogue)
        # A throwaway group that never commits: reading never moves anyone's offsets.
        consumer = KafkaConnection.of(self._bootstrap).consumer(
            f"hub-console-whatif-{uuid.uuid4()}", **{"enable.partition.eof": True}
        )
        loop = BatchLoop(consumer, name="what-if reader", size=500, wait=0.5, commit=False)
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
            consumer.assign(assign)
            pending = {(tp.topic, tp.partition) for tp in assign}
            read = 0
            deadline = time.monotonic() + self._timeout
            while pending and read < limit and time.monotonic() < deadline:
                batch = loop.poll()
                pending.difference_update(batch.ended)
                for msg in batch.records:
                    topic = str(msg.topic())
                    _kind, ms = msg.timestamp()
                    if ms < since_ms:  # published before the period: it happened before
                        continue
                    owner = parse_partner_topic(topic)
                    try:
                        schema_id, body = wire.split(msg.value())
                        writer = schemas.writer(schema_id)
                        event = wire.decode(body, writer.parsed, writer.event_type.parsed)
                    except HubError:
                        continue  # dead-lettered input: it was never decided, so not compared
                    read += 1
                    yield RecordedEvent(
                        owner.partner if owner else "",
                        writer.event_type,
                        event,
                        datetime.fromtimestamp(ms / 1000, UTC),
                    )
            if pending and read < limit:
                # A partial replay would understate the difference: say so instead.
                raise BrokerUnavailable(
                    f"timed out after {self._timeout:.0f}s reading the recorded events"
                )
        finally:
            consumer.close()


@dataclass
class RecipientDiff:
    before: int = 0  # events shared with this recipient as recorded
    after: int = 0  # ... and under the draft
    added: int = 0  # shared under the draft only
    removed: int = 0  # shared as recorded only
    fields_added: set[str] = field(default_factory=set)
    fields_removed: set[str] = field(default_factory=set)
    fields_changed: set[str] = field(default_factory=set)  # same field, other treatment


@dataclass(frozen=True)
class Example:
    event_id: str
    recipient: str
    change: str  # "added" | "removed" | "fields"
    before: str  # what was recorded (outcome and reason)
    after: str
    decision_id: str | None  # the recorded decision, to open in the explorer
    occurred: datetime | None = None  # event time
    before_outcome: str = ""
    before_reason: str = ""
    after_outcome: str = ""
    after_reason: str = ""
    fields_note: str = ""


@dataclass
class WhatIfResult:
    draft: str
    since: date
    until: date
    events_read: int = 0
    compared: int = 0
    not_in_audit: int = 0
    truncated: bool = False
    recipients: dict[str, RecipientDiff] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)
    # Events read that happened outside the period (published in it, happened before or
    # after): how many, and their event-time range, for the empty state.
    outside: int = 0
    outside_first: datetime | None = None
    outside_last: datetime | None = None

    def examples_for(self, recipient: str, change: str) -> list[Example]:
        return [e for e in self.examples if e.recipient == recipient and e.change == change]

    @property
    def changed(self) -> bool:
        return any(
            d.added or d.removed or d.fields_added or d.fields_removed or d.fields_changed
            for d in self.recipients.values()
        )


def as_in_force(draft: Agreement) -> Agreement:
    """The draft as if approved, signed and in force for all time (never written anywhere)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return draft.model_copy(
        update={
            "status": Status.APPROVED,
            "effective_from": date(1970, 1, 1),
            "effective_to": None,
            "approval": Approval(
                dpo_review=Signature(by="what-if", at=epoch),
                # Signed for every controller: a sign-off counts only for the party it names.
                sign_off=tuple(
                    Signature(by="what-if", at=epoch, party=c) for c in draft.controllers
                ),
            ),
        }
    )


def _fields(decision: Mapping[str, Any]) -> dict[str, str]:
    raw = decision.get("fields") or {}
    return {path: str(v.get("treatment", "keep")) for path, v in raw.items()}


def _in_period(
    source: EventSource,
    topics: Sequence[str],
    start: datetime,
    end: datetime,
    limit: int,
    result: WhatIfResult,
    progress: Callable[[int], None] | None,
) -> list[RecordedEvent]:
    """The events that happened in [start, end), counting those read that did not."""
    events: list[RecordedEvent] = []
    read = 0
    for item in source.read(topics, start, end, limit + 1):
        read += 1
        if progress is not None and read % 200 == 0:
            progress(read)
        when = item.occurred
        if start <= when < end:
            events.append(item)
            continue
        result.outside += 1
        if result.outside_first is None or when < result.outside_first:
            result.outside_first = when
        if result.outside_last is None or when > result.outside_last:
            result.outside_last = when
    if progress is not None:
        progress(read)
    # The reader stopped at its cap (events outside the period count towards it): a partial
    # replay must say so, or it would understate the difference.
    if len(events) > limit or read > limit:
        events, result.truncated = events[:limit], True
    return events


def run_whatif(
    draft: Agreement,
    agreements: Sequence[Agreement],
    source: EventSource,
    recorded: Callable[[Sequence[str]], Mapping[str, list[dict[str, Any]]]],
    since: date,
    until: date,
    limit: int = MAX_EVENTS,
    progress: Callable[[int], None] | None = None,
) -> WhatIfResult:
    """Compare recorded decisions with the draft's, for events that happened ``since`` ..
    ``until`` (days, by event time). ``recorded`` gives the audit's decisions of the given
    event ids; ``progress`` is told how many events have been read so far."""
    result = WhatIfResult(draft.ref, since, until)
    others = [a for a in agreements if a.id != draft.id]
    engine = PolicyEngine([*others, as_in_force(draft)])
    recipients = set(draft.recipients) | {
        r for a in agreements if a.id == draft.id for r in a.recipients
    }
    topics = [partner_topic(p, t) for p in draft.providers for t in draft.event_types]
    start = datetime.combine(since, datetime.min.time(), UTC)
    end = datetime.combine(until, datetime.min.time(), UTC) + timedelta(days=1)
    events = _in_period(source, topics, start, end, limit, result, progress)
    result.events_read = len(events)
    baseline = recorded([e.event_type.event_id(e.event) for e in events])
    for item in events:
        event_id = item.event_type.event_id(item.event)
        before = {
            d["recipient"]: d
            for d in baseline.get(event_id, [])
            if d["provider"] == item.provider  # another partner's event under the same id
        }
        if not before:
            result.not_in_audit += 1
            continue
        result.compared += 1
        when = min(datetime.fromisoformat(d["decided_at"]) for d in before.values())
        after = {
            # The compiled stream (hub/policy/compiled.py): the engine's decisions, faster.
            d.recipient: d
            for d in compiled.decide(engine, item.event, item.event_type, item.provider, when)
        }
        for recipient in sorted(recipients):
            _compare(result, item, event_id, recipient, before.get(recipient), after.get(recipient))
    return result


def _compare(
    result: WhatIfResult,
    item: RecordedEvent,
    event_id: str,
    recipient: str,
    old: dict[str, Any] | None,
    new: Decision | None,
) -> None:
    """One event and recipient: as recorded (``old``) against the draft (``new``)."""
    was = old is not None and old["outcome"] == "shared"
    now = new is not None and new.shared
    diff = result.recipients.setdefault(recipient, RecipientDiff())
    diff.before += was
    diff.after += now
    change, note = None, ""
    if now and not was:
        diff.added += 1
        change = "added"
    elif was and not now:
        diff.removed += 1
        change = "removed"
    elif was and now and new is not None and new.plan is not None and old is not None:
        # The same shape the processor audits: output path -> treatment.
        after_fields = {p: f["treatment"] for p, f in new.plan.audit_fields().items()}
        before_fields = _fields(old)
        added = set(after_fields) - set(before_fields)
        removed = set(before_fields) - set(after_fields)
        changed = {
            p for p in set(after_fields) & set(before_fields) if after_fields[p] != before_fields[p]
        }
        if added or removed or changed:
            diff.fields_added |= added
            diff.fields_removed |= removed
            diff.fields_changed |= changed
            change = "fields"
            note = "; ".join(
                f"{label} {', '.join(sorted(paths))}"
                for label, paths in (
                    ("adds", added), ("leaves out", removed), ("treats differently", changed)
                )
                if paths
            )  # fmt: skip
    if change is None or len(result.examples_for(recipient, change)) >= EXAMPLES:
        return
    result.examples.append(_example(item, event_id, recipient, change, old, new, note))


def _example(
    item: RecordedEvent,
    event_id: str,
    recipient: str,
    change: str,
    old: dict[str, Any] | None,
    new: Decision | None,
    note: str,
) -> Example:
    old_outcome, old_reason = (old["outcome"], old["reason"]) if old else ("not considered", "")
    new_outcome, new_reason = (new.outcome.value, new.reason) if new else ("not considered", "")
    return Example(
        event_id,
        recipient,
        change,
        f"{old_outcome}: {old_reason}" if old else old_outcome,
        f"{new_outcome}: {new_reason}" + (f" ({note})" if note else "") if new else new_outcome,
        old["decision_id"] if old else None,
        occurred=item.occurred,
        before_outcome=old_outcome,
        before_reason=old_reason,
        after_outcome=new_outcome,
        after_reason=new_reason,
        fields_note=note,
    )
