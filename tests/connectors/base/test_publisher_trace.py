"""Every record carries a W3C trace context, covered by its batch signature: without an
exporter a fresh trace per record (no span is made), or the caller's trace (a web hook's
partner); with an exporter a ``send`` span per record whose context is the one sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import connectors.base.publisher as publisher_module
from connectors.base.publisher import PartnerPublisher
from hub.catalogue import EventType
from hub.identity import PartnerKeyStore
from hub.identity.signing import verify
from hub.kafka import CheckedProducer
from hub.telemetry.tracing import extract_context, trace_id_from, tracing_active
from tests.processor.stubs import FakeProducer


def make(tmp_path: Path, concern_type: EventType) -> tuple[PartnerPublisher, FakeProducer, Any]:
    store = PartnerKeyStore(None, tmp_path / "keys")
    raw = FakeProducer()
    pub = PartnerPublisher(
        partner="merseyside-police",
        event_type=concern_type,
        bootstrap="unused:9092",
        registry_url="http://127.0.0.1:9",  # send_raw does not serialise
        signer=store.dev_signing_key("merseyside-police"),
        producer=CheckedProducer(raw, 1_000_000),  # type: ignore[arg-type]
    )
    return pub, raw, store


def sent(pub: PartnerPublisher, raw: FakeProducer, n: int) -> list[dict[str, Any]]:
    for i in range(n):
        pub.send_raw(f"event {i}".encode(), f"k{i}".encode())
    pub.flush()
    return raw.produced


def test_without_an_exporter_every_record_starts_its_own_signed_trace(
    tmp_path: Path, concern_type: EventType
) -> None:
    assert not tracing_active(), "this test needs the no-op API (no provider configured)"
    pub, raw, store = make(tmp_path, concern_type)
    out = sent(pub, raw, 300)
    trace_ids = [trace_id_from(r["headers"]["traceparent"]) for r in out]
    assert None not in trace_ids and len(set(trace_ids)) == 300
    for r in out:
        value = r["headers"]["traceparent"]
        assert value[:3] == b"00-" and value.endswith(b"-01") and len(value) == 55
        assert verify(r["headers"], r["topic"], r["key"], r["value"], store.public_keys())
        # The trace id is covered: changing it breaks the record's signature.
        other = b"1" if value[3:4] == b"0" else b"0"
        forged = {**r["headers"], "traceparent": value[:3] + other + value[4:]}
        assert not _verifies(forged, r, store)


def _verifies(headers: dict[str, bytes], r: dict[str, Any], store: PartnerKeyStore) -> bool:
    try:
        return bool(verify(headers, r["topic"], r["key"], r["value"], store.public_keys()))
    except Exception:
        return False


def test_without_an_exporter_a_callers_trace_is_continued(
    tmp_path: Path, concern_type: EventType
) -> None:
    pub, raw, _store = make(tmp_path, concern_type)
    caller = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    token = otel_context.attach(
        extract_context({"traceparent": caller, "tracestate": b"vendor=abc"})
    )
    try:
        pub.send_raw(b"from the hook")
    finally:
        otel_context.detach(token)
    pub.send_raw(b"after it")
    pub.flush()
    first, second = raw.produced
    assert first["headers"]["traceparent"] == caller
    assert first["headers"]["tracestate"] == b"vendor=abc"
    assert trace_id_from(second["headers"]["traceparent"]) != "0af7651916cd43dd8448eb211c80319c"


def test_with_an_exporter_each_record_has_a_send_span_and_carries_its_context(
    tmp_path: Path, concern_type: EventType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real SDK provider, local to this test (the global one can be set only once).
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(publisher_module, "tracing_active", lambda: True)
    monkeypatch.setattr(publisher_module, "tracer", lambda: provider.get_tracer("test"))
    pub, raw, _store = make(tmp_path, concern_type)
    out = sent(pub, raw, 5)
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == [f"send {pub.topic}"] * 5
    for span, record in zip(spans, out, strict=True):
        ctx = span.get_span_context()
        _version, trace_id, parent_id, _flags = record["headers"]["traceparent"].split(b"-")
        assert (trace_id, parent_id) == (
            f"{ctx.trace_id:032x}".encode(),
            f"{ctx.span_id:016x}".encode(),
        )
