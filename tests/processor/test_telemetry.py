"""A partner's `send` span continues through the processor (`process` span, same trace) into
the recipient records' headers and the audit; metrics count what happened."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import hub.processor.processor as processor_module
from hub.catalogue import EventType
from hub.identity import sign
from hub.telemetry.tracing import SEND, inject_context
from tests.processor.conftest import SIGNERS, TOPIC, county_lines_child, encode
from tests.processor.stubs import FakeMessage


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    # A private provider, so this test does not turn tracing on for the rest of the suite.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(processor_module, "tracer", lambda: provider.get_tracer("test"))
    monkeypatch.setattr("hub.telemetry.tracing.tracer", lambda: provider.get_tracer("test"))
    monkeypatch.setattr(processor_module, "tracing_active", lambda: True)
    return exporter


def test_trace_context_flows_from_partner_to_recipient(
    setup: Any, concern_type: EventType, spans: InMemorySpanExporter
) -> None:
    processor, _consumer, producer, audit, schema_id = setup
    event = county_lines_child()
    value = encode(schema_id, concern_type, event)
    send_tracer = processor_module.tracer()  # the test provider (global tracing stays off)
    headers = sign(SIGNERS["merseyside-police"], TOPIC, None, value)
    with send_tracer.start_as_current_span(f"send {TOPIC}", kind=SEND) as send:
        inject_context(headers)
        trace_id = format(send.get_span_context().trace_id, "032x")
    processor.process_batch([FakeMessage(TOPIC, 0, 7, value, None, headers)])  # type: ignore[list-item]

    [process] = [s for s in spans.get_finished_spans() if s.name == f"process {TOPIC}"]
    assert format(process.context.trace_id, "032x") == trace_id
    assert process.parent is not None and process.parent.span_id == send.get_span_context().span_id
    attrs = dict(process.attributes or {})
    assert attrs["messaging.system"] == "kafka" and attrs["messaging.kafka.offset"] == 7
    assert attrs["messaging.operation.type"] == "process"
    shared = [p for p in producer.produced if p["topic"].startswith("share.")]
    assert shared and all(trace_id in p["headers"]["traceparent"].decode() for p in shared)
    rows = audit.decisions_for_event(event["envelope"]["event_id"])
    assert {r["trace_id"] for r in rows} == {trace_id}


def test_untraced_hub_passes_the_partner_trace_on(setup: Any, concern_type: EventType) -> None:
    """Tracing off in the hub (no spans of its own): the partner's trace context still
    reaches the recipient and the audit, so the partner's and the sink's spans join up."""
    processor, _consumer, producer, audit, schema_id = setup
    event = county_lines_child()
    value = encode(schema_id, concern_type, event)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{trace_id}-00f067aa0ba902b7-01".encode()
    headers = [
        *sign(SIGNERS["merseyside-police"], TOPIC, None, value),
        ("traceparent", traceparent),
    ]
    processor.process_batch([FakeMessage(TOPIC, 0, 8, value, None, headers)])  # type: ignore[list-item]
    shared = [p for p in producer.produced if p["topic"].startswith("share.")]
    assert shared and all(p["headers"]["traceparent"] == traceparent for p in shared)
    rows = audit.decisions_for_event(event["envelope"]["event_id"])
    assert {r["trace_id"] for r in rows} == {trace_id}


def test_metrics_count_events_decisions_and_dead_letters(
    setup: Any, concern_type: EventType
) -> None:
    processor, _consumer, _producer, _audit, schema_id = setup
    value = encode(schema_id, concern_type, county_lines_child())
    good = FakeMessage(
        TOPIC, 0, 0, value, None, sign(SIGNERS["merseyside-police"], TOPIC, None, value)
    )
    unsigned = FakeMessage(TOPIC, 0, 1, value, None, None)
    processor.process_batch([good, unsigned])  # type: ignore[list-item]
    sample = processor.metrics.registry.get_sample_value
    assert sample("hub_events_in_total", {"partner": "merseyside-police"}) == 2
    assert (
        sample(
            "hub_decisions_total",
            {
                "provider": "merseyside-police",
                "recipient": "modern-slavery-network",
                "agreement": "police-msn",
                "outcome": "shared",
            },
        )
        == 1
    )
    assert (
        sample("hub_deadletters_total", {"partner": "merseyside-police", "reason": "unsigned"}) == 1
    )
    assert sample("hub_batch_seconds_count", {}) == 1
