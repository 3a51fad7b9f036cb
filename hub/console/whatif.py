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

import bisect
import gc
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hub.agreements.models import Agreement, Approval, Signature, Status
from hub.catalogue.topics import partner_topic
from hub.console.whatif_sources import (
    EventSource,
    KafkaEventSource,
    Measured,
    RecordedEvent,
    TopicFileSource,
    percent,
)
from hub.policy import compiled
from hub.policy.decision import Decision
from hub.policy.engine import PolicyEngine
from hub.policy.plan import RecordPlan

# A what-if runs in the background with a progress bar and reads in chunks (memory stays
# flat): a million recorded events is the scale it is built for (issue 17).
MAX_EVENTS = 1_000_000
EXAMPLES = 5  # per recipient and kind of change
CHUNK = 2000  # events decided per look-up of their recorded decisions
PROGRESS_EVERY = 200  # events read between progress reports

# The recorded decisions of the given event ids (the audit), each a dict as the audit
# store decodes it: recipient, provider, outcome, reason, decision_id, decided_at, fields.
Recorded = Callable[[Sequence[str]], Mapping[str, list[dict[str, Any]]]]

__all__ = [
    "EventSource",
    "KafkaEventSource",
    "Progress",
    "RecordedEvent",
    "TopicFileSource",
    "WhatIfResult",
    "as_in_force",
    "run_whatif",
]


@dataclass(frozen=True)
class Progress:
    """How far a what-if got: events read, and the share of its input passed when the
    source knows the total (partition end offsets, a file's size)."""

    read: int
    percent: float | None = None

    def line(self) -> str:
        shown = f"{self.percent:5.1f}% " if self.percent is not None else ""
        return f"{shown}{self.read:,} event{'' if self.read == 1 else 's'} read"


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
    # The examples so far per (recipient, change), by (event time, event id): the earliest
    # EXAMPLES are kept, whatever order the partitions were read in (``examples`` is made
    # from them at the end).
    _kept: dict[tuple[str, str], list[tuple[datetime, str, Example]]] = field(
        default_factory=dict, repr=False, compare=False
    )

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


@dataclass(frozen=True)
class _FieldsDiff:
    added: frozenset[str]
    removed: frozenset[str]
    changed: frozenset[str]  # same field, other treatment
    note: str


def _fields_diff(after: Mapping[str, str], before: Mapping[str, str]) -> _FieldsDiff | None:
    added = frozenset(after.keys() - before.keys())
    removed = frozenset(before.keys() - after.keys())
    changed = frozenset(p for p in after.keys() & before.keys() if after[p] != before[p])
    if not (added or removed or changed):
        return None
    note = "; ".join(
        f"{label} {', '.join(sorted(paths))}"
        for label, paths in (
            ("adds", added), ("leaves out", removed), ("treats differently", changed)
        )
        if paths
    )  # fmt: skip
    return _FieldsDiff(added, removed, changed, note)


class _PlanFields:
    """Output path -> treatment of a plan, as the processor audits it, worked out once per
    plan: the compiled stream hands out the same plan for every event of a stream and
    rules version, and walking it per event cost a tenth of a what-if's time."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[RecordPlan, dict[str, str]]] = {}
        self._stored: dict[int, tuple[Mapping[str, Any], dict[str, str]]] = {}
        self._diffs: dict[tuple[int, int], tuple[object, object, _FieldsDiff | None]] = {}

    def __call__(self, plan: RecordPlan) -> dict[str, str]:
        hit = self._known.get(id(plan))
        if hit is None or hit[0] is not plan:
            if len(self._known) > 10_000:  # plans made afresh per event: stay bounded
                self._known.clear()
            fields = {p: f["treatment"] for p, f in plan.audit_fields().items()}
            hit = self._known[id(plan)] = (plan, fields)
        return hit[1]

    def diff(self, after: dict[str, str], before: dict[str, str]) -> _FieldsDiff | None:
        """What differs between two field maps handed out here; None when nothing does.
        Worked out once per pair: every disclosure under one plan compares the same pair."""
        hit = self._diffs.get((id(after), id(before)))
        if hit is None or hit[0] is not after or hit[1] is not before:
            if len(self._diffs) > 10_000:
                self._diffs.clear()
            hit = self._diffs[(id(after), id(before))] = (
                after, before, _fields_diff(after, before)
            )  # fmt: skip
        return hit[2]

    def recorded(self, decision: Mapping[str, Any]) -> dict[str, str]:
        """The fields a baseline decision shared: its plan's, or as the audit stored them."""
        plan = decision.get("plan")
        if plan is not None:
            return self(plan)
        raw = decision.get("fields") or {}
        # The audit hands out one parsed object per distinct fields text (queries.py): one
        # treatment map per object, as per plan.
        hit = self._stored.get(id(raw))
        if hit is None or hit[0] is not raw:
            if len(self._stored) > 10_000:
                self._stored.clear()
            treatments = {path: str(v.get("treatment", "keep")) for path, v in raw.items()}
            hit = self._stored[id(raw)] = (raw, treatments)
        return hit[1]


def _at(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _in_period(
    source: EventSource,
    topics: Sequence[str],
    start: datetime,
    end: datetime,
    limit: int,
    result: WhatIfResult,
    progress: Callable[[Progress], None] | None,
) -> Iterable[RecordedEvent]:
    """The events that happened in [start, end), counting those read that did not."""
    measured = source if isinstance(source, Measured) else None

    def report(read: int) -> None:
        if progress is not None:
            progress(Progress(read, percent(*measured.position()) if measured else None))

    read = 0
    for item in source.read(topics, start, end, limit + 1):
        read += 1
        if read % PROGRESS_EVERY == 0:
            report(read)
        when = item.occurred
        if start <= when < end:
            yield item
            continue
        result.outside += 1
        if result.outside_first is None or when < result.outside_first:
            result.outside_first = when
        if result.outside_last is None or when > result.outside_last:
            result.outside_last = when
    report(read)
    # The reader stopped at its cap (events outside the period count towards it): a partial
    # replay must say so, or it would understate the difference.
    result.truncated = read > limit


def _chunks(items: Iterable[RecordedEvent], size: int) -> Iterable[list[RecordedEvent]]:
    chunk: list[RecordedEvent] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def naming(agreements: Iterable[Agreement], recipients: Collection[str]) -> list[Agreement]:
    """The agreements that name one of ``recipients``. A recipient's decision reads only the
    agreements naming it (the engine's routes), so an engine of these alone decides the
    compared recipients exactly as an engine of every agreement would, for less work: the
    other candidates of the stream are never decided only to be left out of the comparison."""
    wanted = set(recipients)
    return [a for a in agreements if wanted.intersection(a.recipients)]


@dataclass(frozen=True)
class Before:
    """An event's baseline: when it was decided (the earliest of its decisions: the draft
    decides at that time), and the compared recipients' decisions in the audit's shape."""

    when: datetime
    decisions: dict[str, dict[str, Any]]


# The baselines of a chunk of events: None for an event never decided.
Baseline = Callable[[Sequence[RecordedEvent]], list[Before | None]]


def audit_baseline(recorded: Recorded, recipients: Collection[str]) -> Baseline:
    """What the hub decided, from the audit: one look-up per chunk of event ids."""
    wanted = set(recipients)

    def before(chunk: Sequence[RecordedEvent]) -> list[Before | None]:
        ids = [e.event_type.event_id(e.event) for e in chunk]
        found = recorded(ids)
        out: list[Before | None] = []
        for item, event_id in zip(chunk, ids, strict=True):
            by_recipient = {
                d["recipient"]: d
                for d in found.get(event_id, ())
                if d["provider"] == item.provider  # another partner's event under the same id
            }
            if not by_recipient:
                out.append(None)
                continue
            when = min(_at(d["decided_at"]) for d in by_recipient.values())
            compared = {r: d for r, d in by_recipient.items() if r in wanted}
            out.append(Before(when, compared))
        return out

    return before


def register_baseline(agreements: Sequence[Agreement], recipients: Collection[str]) -> Baseline:
    """A baseline without an audit (a recorded topic file, another hub's history): what the
    agreements on disk decide, each event at its own event time, in the audit's shape."""
    every = PolicyEngine(list(agreements))  # which streams have any candidate at all
    engine = PolicyEngine(naming(agreements, recipients))

    def one(item: RecordedEvent) -> Before | None:
        if not every.candidates(item.provider, item.event_type.slug):
            return None  # no agreement names a recipient for it: never decided
        when = item.occurred
        decided = compiled.decide(engine, item.event, item.event_type, item.provider, when)
        return Before(
            when,
            {
                d.recipient: {
                    "recipient": d.recipient,
                    "provider": d.provider,
                    "outcome": d.outcome.value,
                    "reason": d.reason,
                    "decision_id": None,  # never recorded: nothing to open in the explorer
                    "decided_at": when,
                    "plan": d.plan,  # its fields are read only when both share (_PlanFields)
                }
                for d in decided
            },
        )

    return lambda chunk: [one(item) for item in chunk]


_aside = 0  # what-ifs running in this process with the collector's old objects set aside
_aside_lock = threading.Lock()


@contextmanager
def _collector_aside() -> Iterator[None]:
    """What the process holds when a what-if starts (modules, schemas, agreements; in the
    console, the whole web application) set aside from the cyclic collector's full passes,
    which walked all of it again and again while a million events came and went (10-20% of
    a what-if's CPU). Given back when the last what-if running in the process ends."""
    global _aside
    with _aside_lock:
        if _aside == 0:
            gc.freeze()
        _aside += 1
    try:
        yield
    finally:
        with _aside_lock:
            _aside -= 1
            if _aside == 0:
                gc.unfreeze()


def run_whatif(
    draft: Agreement,
    agreements: Sequence[Agreement],
    source: EventSource,
    recorded: Recorded | None,
    since: date,
    until: date,
    limit: int = MAX_EVENTS,
    progress: Callable[[Progress], None] | None = None,
) -> WhatIfResult:
    """Compare recorded decisions with the draft's, for events that happened ``since`` ..
    ``until`` (days, by event time). ``recorded`` gives the audit's decisions of the given
    event ids; None compares with what the agreements on disk decide instead
    (:func:`register_baseline`). ``progress`` is told how far the reading got. Events are
    read, looked up and compared a chunk at a time, so memory stays flat."""
    result = WhatIfResult(draft.ref, since, until)
    recipients = sorted(
        set(draft.recipients) | {r for a in agreements if a.id == draft.id for r in a.recipients}
    )
    others = [a for a in naming(agreements, recipients) if a.id != draft.id]
    engine = PolicyEngine([*others, as_in_force(draft)])
    topics = [partner_topic(p, t) for p in draft.providers for t in draft.event_types]
    start = datetime.combine(since, datetime.min.time(), UTC)
    end = datetime.combine(until, datetime.min.time(), UTC) + timedelta(days=1)
    baseline = (
        register_baseline(agreements, recipients)
        if recorded is None
        else audit_baseline(recorded, recipients)
    )
    events = _in_period(source, topics, start, end, limit, result, progress)
    with _collector_aside():
        _run(result, engine, baseline, recipients, _chunks(events, CHUNK), recorded is not None)
    result.examples = _examples(result)
    return result


def _run(
    result: WhatIfResult,
    engine: PolicyEngine,
    baseline: Baseline,
    recipients: Sequence[str],
    chunks: Iterable[list[RecordedEvent]],
    ahead: bool,
) -> None:
    """Each event's baseline against the draft's decisions, into ``result``."""
    plan_fields = _PlanFields()
    for chunk, befores in _looked_up(chunks, baseline, ahead):
        result.events_read += len(chunk)
        for item, before in zip(chunk, befores, strict=True):
            if before is None:
                result.not_in_audit += 1
                continue
            result.compared += 1
            after = {
                # The compiled stream (hub/policy/compiled.py): the engine's decisions, faster.
                d.recipient: d
                for d in compiled.decide(
                    engine, item.event, item.event_type, item.provider, before.when
                )
            }
            for recipient in recipients:
                old, new = before.decisions.get(recipient), after.get(recipient)
                _compare(result, item, recipient, old, new, plan_fields)


def _looked_up(
    chunks: Iterable[list[RecordedEvent]], baseline: Baseline, ahead: bool
) -> Iterator[tuple[list[RecordedEvent], list[Before | None]]]:
    """Each chunk with its baselines. ``ahead``: a chunk's look-up runs on a thread of its
    own while the next chunk is read and this one compared, so the audit's database work
    (the driver lets go of the GIL while it searches) overlaps reading and deciding; a
    look-up that fails raises here. One look-up at a time, in order: the caller's
    connection is never used by two threads at once."""
    if not ahead:
        for chunk in chunks:
            yield chunk, baseline(chunk)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="what-if baseline") as pool:
        pending: tuple[list[RecordedEvent], Future[list[Before | None]]] | None = None
        for chunk in chunks:
            looking = pool.submit(baseline, chunk)
            if pending is not None:
                yield pending[0], pending[1].result()
            pending = (chunk, looking)
        if pending is not None:
            yield pending[0], pending[1].result()


def _compare(
    result: WhatIfResult,
    item: RecordedEvent,
    recipient: str,
    old: dict[str, Any] | None,
    new: Decision | None,
    plan_fields: _PlanFields,
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
        fields = plan_fields.diff(plan_fields(new.plan), plan_fields.recorded(old))
        if fields is not None:
            diff.fields_added |= fields.added
            diff.fields_removed |= fields.removed
            diff.fields_changed |= fields.changed
            change, note = "fields", fields.note
    if change is None:
        return
    kept = result._kept.setdefault((recipient, change), [])
    when = item.occurred
    if len(kept) >= EXAMPLES and when > kept[-1][0]:
        return  # later than every example kept: the common case, decided without the id
    event_id = item.event_type.event_id(item.event)
    if len(kept) >= EXAMPLES and (when, event_id) >= kept[-1][:2]:
        return
    bisect.insort(kept, (when, event_id, _example(item, event_id, recipient, change, old, new,
                                                  note)), key=lambda k: k[:2])  # fmt: skip
    del kept[EXAMPLES:]


def _examples(result: WhatIfResult) -> list[Example]:
    """The examples kept, earliest first (by event time, then event id, recipient)."""
    kept = [k for per in result._kept.values() for k in per]
    return [e for *_, e in sorted(kept, key=lambda k: (k[0], k[1], k[2].recipient, k[2].change))]


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
