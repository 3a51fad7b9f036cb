"""Corrections and retractions (issue 18; UK GDPR Art 19, DPA 2018 ss46-48): what a record
means against what the events ledger remembers of its event, and what every recipient that
was sent the event must now receive.

Pure: no Kafka, no registry. The processor (``_handle``) asks ``revision_step`` or
``retraction_step`` what to do with a record, decides it, and records the outcome with
``next_entry``. The rules:

- a higher revision is decided under the agreements in force now; a recipient that holds an
  earlier revision and may still receive it is sent the new one (an update, linked to what it
  was sent before); one that may no longer receive it is sent a retraction notice;
- a retraction is sent to every recipient ever reached, whatever the agreements say today;
- a recipient never reached gets nothing;
- the same revision with the same content is a redelivery, decided again with the same ids
  against the state as it was before that revision; with other content it is a reused id;
- a lower revision than the latest is never shared again: a redelivery of it (known digest)
  is skipped, anything else is dead-lettered (``revision-superseded``);
- after a retraction the event id is closed (``event-retracted``), also when the retraction
  arrived first (partner topics are not ordered with one another); a revision decided
  before it, arriving again, is skipped like any redelivery.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hub.audit.records import AuditRecord
from hub.errors import EventIdReused, InputRejected
from hub.processor.ledger import LedgerEntry, Reach

RETRACTION_TYPE = "event-retraction"
# Ids of notices: the same in every process and run, so a redelivered retraction (or a
# redelivered revision) is sent and audited under the same ids (idempotent downstream).
_NOTICE_NS = uuid.UUID("3b0f3c9e-7a41-4e0c-9d5e-2a8d8c6f1e18")


class RevisionSuperseded(InputRejected):
    """An earlier revision than one already decided, with content the hub never decided: it
    is not shared (a correction already replaced it)."""

    code = "revision-superseded"
    FIX = "send corrections with a revision higher than the last one sent for the event"

    def __init__(self, message: str, *, fix: str = FIX) -> None:
        super().__init__(message, fix=fix, field="envelope.revision")


class EventRetracted(InputRejected):
    """The event was retracted: no revision of it, and no second retraction, is taken."""

    code = "event-retracted"
    FIX = "a retracted event stays withdrawn: publish a new event under a new event id"

    def __init__(self, message: str, *, fix: str = FIX) -> None:
        super().__init__(message, fix=fix, field="envelope.event_id")


def reach(disclosure: str, revision: int, held: bool) -> Reach:
    return [disclosure, revision, held]


@dataclass
class Step:
    """How to decide one record: ``prior`` is who held what before it (the base for updates
    and notices), ``entry`` the ledger's state it is decided against."""

    entry: LedgerEntry | None
    prior: dict[str, Reach] = field(default_factory=dict)
    skip: bool = False  # a superseded revision redelivered: already decided, nothing to do
    # Whom the event has reached so far, the base of the new state: never forgotten, so a
    # replay under changed agreements cannot drop a recipient a later retraction must reach.
    reached: dict[str, Reach] = field(default_factory=dict)


def content_for(digest: str, revision: int) -> str:
    """The content key in the ids: the digest for an original (the ids events had before
    revisions existed), the revision with it for a correction (two revisions with the same
    content are still two disclosures)."""
    return digest if revision <= 1 else f"r{revision}:{digest}"


def revision_step(
    entry: LedgerEntry | None, provider: str, event_id: str, revision: int, digest: str
) -> Step:
    if revision < 1:
        raise RevisionSuperseded(f"event {event_id} from {provider} has revision {revision}")
    if entry is None:
        return Step(None)
    known = entry.digest if revision == (entry.revision or 1) else None
    known = known or (entry.digests or {}).get(str(revision))
    if entry.retraction:
        if known == digest:
            # A revision decided before the retraction, again (a batch redelivered after the
            # retraction was acknowledged, or the partner's resend): already decided.
            return Step(entry, skip=True)
        raise EventRetracted(
            f"event {event_id} from {provider} was retracted ({entry.retraction.get('reason')},"
            f" retraction {entry.retraction.get('id')}); revision {revision} is not taken"
        )
    latest = entry.revision or 1
    if revision == latest:
        if entry.digest != digest:
            raise EventIdReused(
                f"event id {event_id} from {provider} revision {revision} was decided before "
                f"with other content (digest {entry.digest[:16]}…, this record "
                f"{digest[:16]}…); not shared again"
            )
        # A redelivery (or a replay): decided against the state before this revision.
        return Step(entry, dict(entry.before or {}), reached=dict(entry.reached or {}))
    if revision > latest:
        return Step(entry, dict(entry.reached or {}), reached=dict(entry.reached or {}))
    if known == digest:
        return Step(entry, skip=True)
    raise RevisionSuperseded(
        f"event {event_id} from {provider} is at revision {latest}; revision {revision} "
        "arrived late (or with content never decided) and is not shared again"
    )


def retraction_step(
    entry: LedgerEntry | None, provider: str, event_id: str, retraction_id: str
) -> Step:
    if entry is None:
        return Step(None)
    if entry.retraction:
        if entry.retraction.get("id") == retraction_id:
            # A redelivered retraction.
            return Step(entry, dict(entry.before or {}), reached=dict(entry.reached or {}))
        raise EventRetracted(
            f"event {event_id} from {provider} was already retracted by "
            f"{entry.retraction.get('id')}"
        )
    return Step(entry, dict(entry.reached or {}), reached=dict(entry.reached or {}))


def notice_base(
    provider: str,
    event_id: str,
    event_type: str,
    recipient: str,
    source: tuple[str, int, int],
    digest: str,
    revision: int,
) -> AuditRecord:
    """The event's side of a notice's audit record, for a recipient no decision of this
    record names (the processor fills in the notice's own ids, reason and output)."""
    return AuditRecord(
        decision_id="",
        event_id=event_id,
        event_type=event_type,
        provider=provider,
        recipient=recipient,
        outcome="withheld",
        reason="",
        agreement_id=None,
        agreement_version=None,
        legal_basis=None,
        gateways=(),
        disclosure_id=None,
        source_topic=source[0],
        source_partition=source[1],
        source_offset=source[2],
        content_digest=digest or None,
        # The latest revision: a tombstone outranks every revision sent before it.
        revision=revision,
    )


def notice_ids(provider: str, event_id: str, cause: str, recipient: str) -> tuple[str, str]:
    """(decision id, disclosure id) of a notice; ``cause``: "r<revision>" when a correction
    took the event out of the recipient's reach, else the retraction's event id."""
    base = f"{provider}|{event_id}|{cause}|{recipient}"
    return (
        str(uuid.uuid5(_NOTICE_NS, f"notice-decision|{base}")),
        str(uuid.uuid5(_NOTICE_NS, f"notice|{base}")),
    )


def next_entry(
    step: Step,
    *,
    provider: str,
    event_id: str,
    event_type: str,
    revision: int,
    digest: str,
    source: str,
    at: str,
    reached: dict[str, Reach],
) -> LedgerEntry:
    """The event's state once a revision is decided (``reached``: after it)."""
    old = step.entry
    digests = dict((old.digests or {}) if old else {})
    if old is not None and (old.revision or 1) < revision:
        digests[str(old.revision or 1)] = old.digest
    same = old is not None and old.digest == digest and (old.revision or 1) == revision
    return LedgerEntry(
        provider,
        event_id,
        digest,
        old.source if same and old and old.source else source,
        old.at if same and old and old.at else at,
        revision=revision,
        event_type=event_type,
        digests=digests or None,
        reached=reached or None,
        before=step.prior or None,
    )


def retracted_entry(
    step: Step,
    *,
    provider: str,
    event_id: str,
    retraction: dict[str, str],
    reached: dict[str, Reach],
    source: str,
    at: str,
) -> LedgerEntry:
    """The event's state once retracted (also of an event not seen yet: it stays closed)."""
    old = step.entry
    return LedgerEntry(
        provider,
        event_id,
        old.digest if old else "",
        old.source if old else source,
        old.at if old else at,
        revision=(old.revision or 1) if old else 1,
        event_type=old.event_type if old else None,
        digests=old.digests if old else None,
        reached=reached or None,
        before=step.prior or None,
        retraction=retraction,
    )
