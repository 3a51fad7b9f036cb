"""Dead letters: the original bytes, untouched, with headers that say what is wrong; or,
when a copy cannot be produced, a reference to the record where it sits.

No input may stall a partition (issue 15). A record too large to copy (a 2 MB record
failed with ``MSG_SIZE_TOO_LARGE``, the batch was never committed and every restart
crashed on it) is dead-lettered *by reference*: its coordinates, size, SHA-256 and signer
(when the signature verified), with the reason. The partner's original stays on its topic
for as long as the topic keeps it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import traceback
from datetime import UTC, datetime
from typing import cast

from confluent_kafka import Message

from hub.audit.records import DeadLetterRecord
from hub.catalogue.topics import DEADLETTER_TOPIC
from hub.errors import InputRejected
from hub.kafka.producer import CheckedProducer, record_size
from hub.kafka.records import Headers, headers_bytes

# Reasons are read by partners and operators, and stored in the audit: bounded, so a
# dead letter about a huge record is never itself too large.
MAX_REASON = 1000
BY_REFERENCE_HEADER = "hub.dlq.by_reference"


class OutputTooLarge(InputRejected):
    """What the record would become for a recipient is over the producer's limit."""

    code = "output-too-large"
    advice = (
        "send smaller records (long free text or attachments grow when shared); "
        "the hub operator can raise HUB_MAX_MESSAGE_BYTES up to the broker's limit"
    )


class InternalError(InputRejected):
    """Deciding this record raised an error nobody expected: a defect in the hub, or an
    input it does not handle yet. Dead-lettered so the partition goes on."""

    code = "internal-error"


class OperatorSkipped(InputRejected):
    """An operator skipped the record with ``hub deadletter skip`` (the last resort)."""

    code = "operator-skipped"


def internal_error(exc: BaseException) -> InternalError:
    """The dead letter's reason names the exception type and where it was raised, never
    its message: that may quote the record's content."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" in {frames[-1].name} ({frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})"
    return InternalError(
        f"unexpected {type(exc).__name__}{where if frames else ''} while deciding the record",
        fix="nothing for the partner to fix unless told: the hub's operators are alerted; "
        "replay the dead letter once the hub is fixed",
    )


def dead_letter(
    exc: InputRejected,
    *,
    partner: str | None,
    topic: str,
    partition: int,
    offset: int,
    instance: str,
) -> tuple[DeadLetterRecord, Headers]:
    reason = _bounded(str(exc))
    record = DeadLetterRecord(
        dead_letter_id=f"{topic}:{partition}:{offset}",
        partner=partner,
        topic=topic,
        partition=partition,
        offset=offset,
        reason_code=exc.code,
        reason=reason,
        fix=_bounded(exc.fix),
        at=datetime.now(UTC).isoformat(),
        processor_instance=instance,
    )
    headers: Headers = [
        ("hub.dlq.reason_code", exc.code.encode()),
        ("hub.dlq.reason", reason.encode()),
        ("hub.dlq.fix", record.fix.encode()),
        ("hub.dlq.partner", (partner or "").encode()),
        ("hub.dlq.topic", topic.encode()),
        ("hub.dlq.partition", str(partition).encode()),
        ("hub.dlq.offset", str(offset).encode()),
    ]
    return record, headers


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """The record a dead letter is about, as it arrived on its topic."""

    value: bytes | None
    key: bytes | None
    headers: dict[str, bytes]
    signer: str | None  # the partner whose signature verified, if one did
    # The headers exactly as sent (order, repeats, null values), copied as they are so the
    # dead letter still proves its batch signature on its own.
    original: Headers | None = None

    @classmethod
    def of(cls, msg: Message | None, signer: str | None) -> Received:
        """``msg`` None: the record is no longer on its topic (only its coordinates are
        known)."""
        if msg is None:
            return cls(None, None, {}, signer)
        original = cast(Headers, msg.headers() or [])
        return cls(msg.value(), msg.key(), headers_bytes(msg), signer, original)

    def sent_headers(self) -> Headers:
        return list(self.original if self.original is not None else self.headers.items())


def send(
    producer: CheckedProducer, record: DeadLetterRecord, dlq_headers: Headers, received: Received
) -> DeadLetterRecord:
    """Produce the dead letter: a copy of the record (its headers as sent, then the
    dead letter's) when it fits the producer's limit, else a reference to it. Returns the
    audit's record of it (a reference says so)."""
    value, key = received.value, received.key
    copy_headers = [*received.sent_headers(), *dlq_headers]
    if producer.fits(value, key, copy_headers):
        producer.send(DEADLETTER_TOPIC, value, key, copy_headers)
        return record
    return send_reference(producer, record, dlq_headers, received)


def send_reference(
    producer: CheckedProducer, record: DeadLetterRecord, dlq_headers: Headers, received: Received
) -> DeadLetterRecord:
    """Produce the dead letter as a reference to the record (JSON: coordinates, size,
    SHA-256, signer, reason); returns the audit's record of it."""
    referenced, body = by_reference(record, received)
    producer.produce(DEADLETTER_TOPIC, body, None, [*dlq_headers, (BY_REFERENCE_HEADER, b"1")])
    return referenced


PROOF_LIMIT = 16_384  # bytes of key and headers a reference keeps to prove the origin


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def by_reference(record: DeadLetterRecord, received: Received) -> tuple[DeadLetterRecord, bytes]:
    """The record as a reference (coordinates, size, SHA-256, signer), and the audit's
    record of the dead letter saying so in its reason. With the key and the headers as
    sent (when they are small), a batch-signed record's origin stays provable from the
    reference alone: the leaf binds the value through this SHA-256
    (hub.identity.signing.verify_digest)."""
    value, key, signer = received.value, received.key, received.signer
    size = record_size(value, key, received.headers.items())
    digest = hashlib.sha256(value or b"").hexdigest()
    sent = received.sent_headers()
    proof_bytes = len(key or b"") + sum(len(n) + len(v or b"") for n, v in sent)
    reference = {
        "by_reference": True,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "size": size,
        "value_bytes": len(value or b""),
        "sha256": digest,
        "signer": signer,
        # Bounded: a hostile record's headers must not make its reference too large too.
        "key": _b64(key) if proof_bytes <= PROOF_LIMIT else None,
        "headers": [[n, _b64(v)] for n, v in sent] if proof_bytes <= PROOF_LIMIT else None,
        "reason_code": record.reason_code,
        "reason": record.reason,
    }
    said = (
        f"{record.reason} [dead-lettered by reference: {size} bytes, sha256 {digest}, "
        f"signed by {signer or 'no verified signer'}; the original stays at "
        f"{record.topic}:{record.partition}:{record.offset}]"
    )
    referenced = dataclasses.replace(record, reason=_bounded(said, MAX_REASON + 200))
    return referenced, json.dumps(reference, sort_keys=True).encode()


def describe(record: DeadLetterRecord) -> str:
    """One log line for operators and partners: who, where, what, and what to fix."""
    return (
        f"dead-lettered partner={record.partner or '?'} topic={record.topic} "
        f"partition={record.partition} offset={record.offset} reason={record.reason_code}: "
        f"{record.reason}" + (f" (fix: {record.fix})" if record.fix else "")
    )


def _bounded(text: str, limit: int = MAX_REASON) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
