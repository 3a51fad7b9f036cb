"""What-if: replay a period's recorded events through a draft agreement version.

The audit holds no event contents (no personal data), so the events are read back from the
partner topics on the broker: ``offsets_for_times`` finds the first offset at the period's
start and at its end in every partition, and the records in between are decoded with their
writer schema from the schema registry, exactly as the processor decoded them.

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
from hub.policy.engine import PolicyEngine

if TYPE_CHECKING:
    from hub.kafka import KafkaConnection

MAX_EVENTS = 20_000  # a what-if is interactive: a bigger period should be narrowed
EXAMPLES = 12


@dataclass(frozen=True)
class RecordedEvent:
    provider: str
    event_type: EventType
    event: dict[str, Any]
    timestamp: datetime


class EventSource(Protocol):
    def read(
        self, topics: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> Iterator[RecordedEvent]: ...


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
            since_ms, until_ms = int(since.timestamp() * 1000), int(until.timestamp() * 1000)
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
                    if not since_ms <= ms < until_ms:
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


def run_whatif(
    draft: Agreement,
    agreements: Sequence[Agreement],
    source: EventSource,
    recorded: Callable[[Sequence[str]], Mapping[str, list[dict[str, Any]]]],
    since: date,
    until: date,
    limit: int = MAX_EVENTS,
) -> WhatIfResult:
    """Compare recorded decisions with the draft's, for events ``since``..``until`` (days).
    ``recorded`` gives the audit's decisions of the given event ids."""
    result = WhatIfResult(draft.ref, since, until)
    others = [a for a in agreements if a.id != draft.id]
    engine = PolicyEngine([*others, as_in_force(draft)])
    recipients = set(draft.recipients) | {
        r for a in agreements if a.id == draft.id for r in a.recipients
    }
    topics = [partner_topic(p, t) for p in draft.providers for t in draft.event_types]
    start = datetime.combine(since, datetime.min.time(), UTC)
    end = datetime.combine(until, datetime.min.time(), UTC) + timedelta(days=1)
    events = list(source.read(topics, start, end, limit + 1))
    if len(events) > limit:
        events, result.truncated = events[:limit], True
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
            d.recipient: d for d in engine.decide(item.event, item.event_type, item.provider, when)
        }
        for recipient in sorted(recipients):
            old, new = before.get(recipient), after.get(recipient)
            was = old is not None and old["outcome"] == "shared"
            now = new is not None and new.shared
            diff = result.recipients.setdefault(recipient, RecipientDiff())
            diff.before += was
            diff.after += now
            old_desc = f"{old['outcome']}: {old['reason']}" if old else "not considered"
            new_desc = f"{new.outcome.value}: {new.reason}" if new else "not considered"
            change = None
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
                    p
                    for p in set(after_fields) & set(before_fields)
                    if after_fields[p] != before_fields[p]
                }
                if added or removed or changed:
                    diff.fields_added |= added
                    diff.fields_removed |= removed
                    diff.fields_changed |= changed
                    change = "fields"
                    new_desc += f" (fields +{sorted(added)} -{sorted(removed)})"
            if change and sum(1 for x in result.examples if x.change == change) < EXAMPLES:
                result.examples.append(
                    Example(
                        event_id,
                        recipient,
                        change,
                        old_desc,
                        new_desc,
                        old["decision_id"] if old else None,
                    )
                )
    return result
