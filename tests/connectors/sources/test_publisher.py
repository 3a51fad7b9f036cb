"""The publisher signs per batch: full batches go out as they fill, the rest on flush; every
record verifies on its own, trace context included; order is kept when a record is sent
outside the batch; an event too large to fit once signed is refused as itself, at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.base.publisher import PartnerPublisher
from hub.catalogue import EventType
from hub.identity import PartnerKeyStore
from hub.identity.signing import SIZE_HEADER, verify
from hub.kafka import CheckedProducer, RecordTooLarge
from tests.processor.stubs import FakeProducer


def publisher(tmp_path: Path, concern_type: EventType, max_bytes: int = 1_000_000) -> Any:
    store = PartnerKeyStore(None, tmp_path / "keys")
    raw = FakeProducer()
    pub = PartnerPublisher(
        partner="merseyside-police",
        event_type=concern_type,
        bootstrap="unused:9092",
        registry_url="http://127.0.0.1:9",  # never called: send_raw does not serialise
        signer=store.dev_signing_key("merseyside-police"),
        producer=CheckedProducer(raw, max_bytes),  # type: ignore[arg-type]
    )
    return pub, raw, store


def produced(raw: FakeProducer) -> list[dict[str, Any]]:
    return [*raw.produced, *raw.pending]


def test_records_are_signed_per_batch_and_each_verifies(
    tmp_path: Path, concern_type: EventType
) -> None:
    pub, raw, store = publisher(tmp_path, concern_type)
    for i in range(600):
        pub.send_raw(f"event {i}".encode(), f"k{i}".encode())
    assert len(produced(raw)) == 512, "two full batches of 256 went out as they filled"
    pub.flush()
    out = produced(raw)
    assert [r["value"] for r in out] == [f"event {i}".encode() for i in range(600)]
    assert [r["headers"][SIZE_HEADER] for r in out] == [b"256"] * 512 + [b"88"] * 88
    keys = store.public_keys()
    for r in out:
        # FakeProducer keeps headers as a dict: no repeats here, so nothing is lost.
        assert verify(r["headers"], r["topic"], r["key"], r["value"], keys) == "merseyside-police"


def test_a_record_sent_outside_the_batch_keeps_the_order(
    tmp_path: Path, concern_type: EventType
) -> None:
    pub, raw, _store = publisher(tmp_path, concern_type)
    pub.send_raw(b"first")
    pub.send_raw(b"unsigned", signer=None)
    pub.send_raw(b"third")
    pub.flush()
    assert [r["value"] for r in produced(raw)] == [b"first", b"unsigned", b"third"]
    assert "hub.sig.batch" not in produced(raw)[1]["headers"]


def test_an_event_too_large_once_signed_is_refused_at_once(
    tmp_path: Path, concern_type: EventType
) -> None:
    pub, raw, _store = publisher(tmp_path, concern_type, max_bytes=3_000)
    pub.send_raw(b"x" * 1_000)
    assert CheckedProducer(FakeProducer(), 3_000).fits(b"x" * 2_400, None)  # type: ignore[arg-type]
    with pytest.raises(RecordTooLarge):
        pub.send_raw(b"x" * 2_400)  # fits bare, not with its signature headers
    pub.flush()
    assert [len(r["value"]) for r in produced(raw)] == [1_000]
