"""One decision as its audit record: what every component that decides (the processor, the
benchmark's faust agent, the analytics' alerts) writes to ``hub.audit.v1``."""

from __future__ import annotations

from collections.abc import Sequence

from hub.audit.records import AuditRecord
from hub.policy.decision import Decision


def audit_record(
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
    """``source``: the (topic, partition, offset) the decided event was read from."""
    topic, partition, offset = source
    return AuditRecord(
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
