"""The verdict the processor would give one record, without Kafka: ``hub partner check-record``.

The checks run in the processor's order (hub/processor/processor.py ``_handle``), with the
same functions: topic, size, signature against the registered keys, signer against the
topic's owner, wire format and schema from the registry, decoding, the claimed source
partner, then the agreements in force now. A dry run cannot know which event ids the hub
has already seen, so a reused event id (``event-id-reused``) is not judged here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.agreements.loader import load_agreements
from hub.catalogue.schemas import EventType, load_catalogue
from hub.codec.admission import check_size, decode_admitted, partner_topic_of
from hub.codec.schemas import SchemaCache
from hub.config import Settings
from hub.errors import InputRejected, MalformedRecord, RegistryError
from hub.identity.signing import BATCH_SIGNATURE_HEADER, SIGNER_HEADER, verify
from hub.policy.engine import PolicyEngine
from hub.processor.build import partner_keys
from hub.sandbox.record import RecordFile


@dataclass
class Verdict:
    topic: str
    checks: list[tuple[str, str]] = field(default_factory=list)  # (check, what was found)
    reason_code: str | None = None  # set when the record would be dead-lettered
    reason: str | None = None
    fix: str | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.reason_code is None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verdict": "accepted" if self.accepted else "dead-letter",
            "topic": self.topic,
            "checks": [{"check": c, "result": r} for c, r in self.checks],
            "decisions": self.decisions,
        }
        if not self.accepted:
            out.update(reason_code=self.reason_code, reason=self.reason, fix=self.fix)
        return out

    def lines(self) -> list[str]:
        out = [f"record on {self.topic}"]
        out += [f"  {check}: {result}" for check, result in self.checks]
        if not self.accepted:
            out.append(f"DEAD LETTER ({self.reason_code}): {self.reason}")
            out.append(f"  fix: {self.fix}")
            return out
        shared = [d for d in self.decisions if d["outcome"] == "shared"]
        out.append(f"ACCEPTED: shared with {len(shared)} of {len(self.decisions)} recipients")
        for d in self.decisions:
            where = f" under {d['agreement']}" if d["agreement"] else ""
            out.append(f"  {d['recipient']}: {d['outcome']}{where}: {d['reason']}")
            for path, how in d["fields"].items():
                out.append(f"      {path}: {how}")
        return out


class RecordChecker:
    """Judges records against the registry, the registered keys and the agreements as they
    are on disk at each check (a key or agreement just added counts at once)."""

    def __init__(self, settings: Settings, registry_url: str) -> None:
        self._settings = settings
        self._catalogue = load_catalogue(settings.schemas_dir)
        self._schemas = SchemaCache(SchemaRegistryClient({"url": registry_url}), self._catalogue)

    def check(self, record: RecordFile, now: datetime | None = None) -> Verdict:
        verdict = Verdict(record.topic)
        try:
            self._judge(record, verdict, now or datetime.now(UTC))
        except InputRejected as exc:
            verdict.reason_code, verdict.reason, verdict.fix = exc.code, str(exc), exc.fix
        return verdict

    def _public_keys(self) -> Mapping[str, Ed25519PublicKey]:
        return partner_keys(self._settings).public_keys()

    def _judge(self, record: RecordFile, verdict: Verdict, now: datetime) -> None:
        owner = partner_topic_of(record.topic)
        verdict.checks.append(("topic", f"{owner.partner}'s {owner.event_type} topic"))
        check_size(record.value, self._settings.max_record_bytes)
        signer = verify(record.headers, record.topic, record.key, record.value, self._public_keys())
        key_id = (record.header(SIGNER_HEADER) or b"").decode(errors="replace")
        form = "batch" if record.header(BATCH_SIGNATURE_HEADER) else "per-record"
        verdict.checks.append(("signature", f"valid ({form} form), by key {key_id}"))
        # The processor's own checks (hub/codec/admission.py), each named as it passes.
        try:
            event_type, event = decode_admitted(
                self._schemas, owner, record.topic, record.value, signer, verdict.checks
            )
        except RegistryError as exc:  # the registry is down: not the record's fault
            raise MalformedRecord(f"could not ask the registry: {exc}", fix="retry") from exc
        verdict.checks.append(("event id", event_type.event_id(event)))
        verdict.decisions = self._decisions(event, event_type, owner.partner, now)

    def _decisions(
        self, event: dict[str, Any], event_type: EventType, provider: str, now: datetime
    ) -> list[dict[str, Any]]:
        """Every candidate recipient under the agreements on disk now, with the form a
        shared record takes: each output field and its treatment."""
        engine = PolicyEngine(load_agreements(self._settings.partnership_dir / "agreements"))
        return [
            {
                "recipient": d.recipient,
                "outcome": d.outcome.value,
                "agreement": f"{d.agreement_id}@v{d.agreement_version}" if d.agreement_id else None,
                "reason": d.reason,
                "fields": (
                    {p: f["treatment"] for p, f in d.plan.audit_fields().items()}
                    if d.shared and d.plan is not None
                    else {}
                ),
            }
            for d in engine.decide(event, event_type, provider, now)
        ]
