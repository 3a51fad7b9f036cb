"""Audit record shapes, shared by the ``hub.audit.v1`` topic (JSON) and the audit store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:  # the audit reads decisions; it never needs the engine at run time
    from hub.policy.decision import Decision

# Records on hub.audit.v1 say what they are in this header (the ingester dispatches on it).
KIND_HEADER = "hub.audit.kind"
DECISION = "decision"
# Many decisions in one record, a JSON array (the processor's batches): one audit record
# per decision tripled the records the broker handles per event.
DECISIONS = "decisions"
DEAD_LETTER = "dead_letter"


def shallow(record: Any) -> dict[str, Any]:
    """A dataclass as a dict without ``asdict``'s deep copy: on the hot path (two conversions
    per decision) the deep copy was about 40% of the processor's time in profiling."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


# Not frozen: a frozen dataclass sets each of these 22 fields through object.__setattr__,
# and one record is made per decision on the hot path. Treat instances as values anyway.
@dataclass(slots=True)
class AuditRecord:
    """One decision about one event for one candidate recipient (DPA 2018 s62 disclosure log:
    justification, date and time, who disclosed, recipients)."""

    decision_id: str
    event_id: str
    event_type: str
    provider: str
    recipient: str
    outcome: str
    reason: str
    agreement_id: str | None
    agreement_version: int | None
    legal_basis: str | None
    gateways: tuple[str, ...]
    disclosure_id: str | None
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    decided_at: str = ""
    processor_instance: str = ""
    source_topic: str = ""
    source_partition: int = -1
    source_offset: int = -1
    output_topic: str | None = None
    # What a treatment could not do, e.g. an NHS number not tokenised (check digit wrong).
    notes: tuple[str, ...] = ()
    trace_id: str | None = None  # follow the event end to end in the trace viewer
    # Whom the event is about, as tokens in the hub-only "audit" linkage domain
    # (hub/privacy/subjects.py): how a subject access request finds its disclosures.
    subjects: tuple[str, ...] = ()
    # What was decided about (hub/processor/ledger.py): the SHA-256 of the decoded event,
    # and the partner's declared revision when it sends one (issue 18). Part of the ids.
    content_digest: str | None = None
    revision: int | None = None
    # When the event happened (its event-time field, UTC ISO 8601; migration 0006): what a
    # subject report means by "when". Null when the event has none, or decided before 0006.
    occurred_at: str | None = None

    @classmethod
    def of_decision(
        cls,
        d: Decision,
        *,
        legal_basis: str | None,
        gateways: Sequence[str],
        decided_at: str,
        instance: str,
        source: tuple[str, int, int],
        fields: dict[str, dict[str, str]] | None = None,
        output_topic: str | None = None,
        notes: Sequence[str] = (),
        trace_id: str | None = None,
        subjects: Sequence[str] = (),
        content_digest: str | None = None,
        revision: int | None = None,
        occurred_at: str | None = None,
    ) -> AuditRecord:
        """One decision as its audit record: what every component that decides (the
        processor, the analytics' alerts, the benchmark's faust agent) writes to
        ``hub.audit.v1``. ``source``: the (topic, partition, offset) it was read from."""
        topic, partition, offset = source
        return cls(
            decision_id=d.decision_id,
            event_id=d.event_id,
            event_type=d.event_type,
            provider=d.provider,
            recipient=d.recipient,
            outcome=d.outcome.value,
            reason=d.reason,
            agreement_id=d.agreement_id,
            agreement_version=d.agreement_version,
            legal_basis=legal_basis,
            gateways=tuple(gateways),
            disclosure_id=d.disclosure_id,
            fields=fields or {},
            decided_at=decided_at,
            processor_instance=instance,
            source_topic=topic,
            source_partition=partition,
            source_offset=offset,
            output_topic=output_topic,
            notes=tuple(notes),
            trace_id=trace_id,
            subjects=tuple(subjects),
            content_digest=content_digest,
            revision=revision,
            occurred_at=occurred_at,
        )

    def to_json(self) -> bytes:
        # orjson: one record per decision on the hot path, several times json's speed.
        return orjson.dumps(shallow(self), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, raw: bytes) -> AuditRecord:
        return cls.from_dict(json.loads(raw))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditRecord:
        data["gateways"] = tuple(data.get("gateways", ()))
        data["notes"] = tuple(data.get("notes", ()))
        data["subjects"] = tuple(data.get("subjects", ()))
        return cls(**data)


def decisions_json(rows: list[AuditRecord]) -> bytes:
    """Several decisions as one ``decisions`` record: a JSON array of objects with the
    fields of ``to_json``, in declaration order (orjson serialises the dataclass natively,
    without building a dict per decision; readers go by name, not by order)."""
    return orjson.dumps(rows)


def decisions_from_json(raw: bytes) -> list[AuditRecord]:
    data = json.loads(raw)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError("a decisions record is a JSON array of decision objects")
    return [AuditRecord.from_dict(item) for item in data]


# What a decision says about what was sent: a stored decision and a record with its id that
# differ in any of these are a conflict (hub/audit/store.py). Not compared: when and where it
# was decided (a redelivery is decided again, later, perhaps by another instance), the trace,
# the notes, and the subject tokens (a key rotation changes them, not what was disclosed).
MATERIAL = (
    "event_id",
    "event_type",
    "provider",
    "recipient",
    "outcome",
    "reason",
    "agreement_id",
    "agreement_version",
    "disclosure_id",
    "fields",
    "output_topic",
    "content_digest",
    "revision",
)


@dataclass(frozen=True)
class DeadLetterRecord:
    """One input the hub could not process, with what is wrong and what the partner should fix."""

    dead_letter_id: str
    partner: str | None
    topic: str
    partition: int
    offset: int
    reason_code: str
    reason: str
    fix: str
    at: str
    processor_instance: str = ""

    def to_json(self) -> bytes:
        return json.dumps(shallow(self), sort_keys=True).encode()


@dataclass(frozen=True)
class ReceiptRecord:
    """A recipient sink's account of one disclosure (``hub.receipts.v1``): delivered to the
    recipient's system at a time, or failed with the reason."""

    receipt_id: str  # "<disclosure_id>:<status>": a redelivered receipt is stored once
    disclosure_id: str
    recipient: str
    sink: str  # which system took it, e.g. "mash-case-system"
    status: str  # "delivered" | "failed" | "erased" (at retention, or a redelivery not stored)
    at: str
    reason: str | None = None

    def to_json(self) -> bytes:
        return json.dumps(shallow(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> ReceiptRecord:
        return cls(**json.loads(raw))
