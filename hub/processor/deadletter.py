"""Dead letters: the original bytes, untouched, with headers that say what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.audit.records import DeadLetterRecord
from hub.broker.records import Headers
from hub.errors import InputRejected


def dead_letter(
    exc: InputRejected,
    *,
    partner: str | None,
    topic: str,
    partition: int,
    offset: int,
    instance: str,
) -> tuple[DeadLetterRecord, Headers]:
    record = DeadLetterRecord(
        dead_letter_id=f"{topic}:{partition}:{offset}",
        partner=partner,
        topic=topic,
        partition=partition,
        offset=offset,
        reason_code=exc.code,
        reason=str(exc),
        fix=exc.fix,
        at=datetime.now(UTC).isoformat(),
        processor_instance=instance,
    )
    headers: Headers = [
        ("hub.dlq.reason_code", exc.code.encode()),
        ("hub.dlq.reason", str(exc).encode()),
        ("hub.dlq.fix", exc.fix.encode()),
        ("hub.dlq.partner", (partner or "").encode()),
        ("hub.dlq.topic", topic.encode()),
        ("hub.dlq.partition", str(partition).encode()),
        ("hub.dlq.offset", str(offset).encode()),
    ]
    return record, headers


def describe(record: DeadLetterRecord) -> str:
    """One log line for operators and partners: who, where, what, and what to fix."""
    return (
        f"dead-lettered partner={record.partner or '?'} topic={record.topic} "
        f"partition={record.partition} offset={record.offset} reason={record.reason_code}: "
        f"{record.reason}" + (f" (fix: {record.fix})" if record.fix else "")
    )
