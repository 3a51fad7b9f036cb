"""Stub-client fixtures for the processor's batch logic (shared by its test modules)."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import pytest

from connectors.synthetic.police import PoliceFeed
from hub.agreements import Agreement
from hub.audit.ingest import parse, store_records
from hub.audit.records import KIND_HEADER
from hub.audit.store import AuditStore
from hub.catalogue import AUDIT_TOPIC, EventType
from hub.codec.schemas import SchemaCache
from hub.identity import PartnerKeyStore, SigningKey, sign
from hub.policy import PolicyEngine
from hub.privacy import Transformer
from hub.privacy.keys import LocalKeyProvider
from hub.processor import Processor
from tests.processor.stubs import FakeConsumer, FakeMessage, FakeProducer, FakeRegistry

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "partner.merseyside-police.safeguarding-concern.v1"
SIGNERS: dict[str, SigningKey] = {}


def signed(
    partition: int, offset: int, value: bytes, signer: str | None = "merseyside-police"
) -> FakeMessage:
    """A record as the partner's connector sends it: signed over (topic, key, value)."""
    headers = sign(SIGNERS[signer], TOPIC, None, value) if signer else None
    return FakeMessage(TOPIC, partition, offset, value, None, headers)


NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def encode(schema_id: int, event_type: EventType, event: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(buf, event_type.parsed, event)
    return buf.getvalue()


@pytest.fixture
def setup(
    concern_type: EventType,
    catalogue: Any,
    reference_agreements: list[Agreement],
    keys: LocalKeyProvider,
    tmp_path: Any,
) -> tuple[Processor, FakeConsumer, FakeProducer, AuditStore, int]:
    registry = FakeRegistry()
    partners = PartnerKeyStore(None, tmp_path / "partner-keys")
    for partner in ("merseyside-police", "sefton-mbc"):
        SIGNERS[partner] = partners.dev_signing_key(partner)
    schema_id = registry.add(concern_type.schema)
    consumer, producer = FakeConsumer(), FakeProducer()
    audit = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    processor = Processor(
        consumer=consumer,  # type: ignore[arg-type]
        producer=producer,  # type: ignore[arg-type]
        schemas=SchemaCache(registry, catalogue),  # type: ignore[arg-type]
        engine=PolicyEngine(reference_agreements),
        transformer=Transformer(keys),
        instance="test-0",
        public_keys=partners.public_keys(),
        clock=lambda: NOW,
    )
    feed_audit_store(processor, producer, audit)
    return processor, consumer, producer, audit, schema_id


def feed_audit_store(processor: Processor, producer: FakeProducer, audit: AuditStore) -> None:
    """After each successful batch, store what it put on hub.audit.v1 through the audit
    ingester's own parsing and writing, as the ingester would from the broker."""
    original = processor.process_batch

    def batch_then_ingest(messages: Any) -> None:
        seen = len(producer.on(AUDIT_TOPIC))
        original(messages)
        records = [
            record
            for r in producer.on(AUDIT_TOPIC)[seen:]
            for record in parse(
                AUDIT_TOPIC, r["value"], r["headers"].get(KIND_HEADER, b"").decode() or None
            )
        ]
        store_records(audit, records)

    setattr(processor, "process_batch", batch_then_ingest)  # noqa: B010 - this instance only


def county_lines_child() -> dict[str, Any]:
    event = PoliceFeed(seed=1).next_event()
    event["subject"]["date_of_birth"] = datetime(2012, 5, 1).date()
    event.update(borough="LIVERPOOL", risk_level="HIGH", concern_category="COUNTY_LINES")
    return event


@pytest.fixture
def store(world: Any) -> Iterator[AuditStore]:
    """The audit store of the module's ``world`` (tests/processor/test_event_identity.py)."""
    with world.audit() as audit:
        yield audit
