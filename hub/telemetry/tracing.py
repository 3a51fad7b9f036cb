"""Tracing by hand to the OpenTelemetry messaging semantic conventions.

A partner connector opens a ``send`` span and puts W3C ``traceparent`` in the record headers;
the processor continues it in a ``process`` span and passes its own context on to the
recipient records; the sink continues from there. One safeguarding concern can so be
followed end to end, and the audit records the trace id of each decision.

Unless :func:`configure_tracing` is called, the OpenTelemetry API is a no-op: no spans,
negligible cost on the hot path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from hub.errors import ConfigError

_HEADERS = ("traceparent", "tracestate")
SEND, PROCESS = SpanKind.PRODUCER, SpanKind.CONSUMER


def tracer() -> trace.Tracer:
    return trace.get_tracer("partner-data-hub")


def inject_context(headers: list[tuple[str, bytes]]) -> None:
    """Append the current trace context (W3C) to record headers."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    headers.extend((k, v.encode()) for k, v in carrier.items() if k in _HEADERS)


def extract_context(headers: Mapping[str, bytes]) -> Context:
    carrier = {k: v.decode(errors="replace") for k, v in headers.items() if k in _HEADERS}
    return propagate.extract(carrier)


def messaging_attributes(
    operation: str,
    topic: str,
    *,
    partition: int | None = None,
    offset: int | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.destination.name": topic,
    }
    if partition is not None:
        attrs["messaging.destination.partition.id"] = str(partition)
    if offset is not None:
        attrs["messaging.kafka.offset"] = offset
    if group is not None:
        attrs["messaging.consumer.group.name"] = group
    return attrs


def trace_id_of(span: Span) -> str | None:
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def configure_tracing(exporter: str, service_name: str) -> None:
    """``none`` (default), ``console`` (spans as JSON on stderr) or ``otlp`` (needs the
    ``opentelemetry-exporter-otlp`` package; endpoint from OTEL_EXPORTER_OTLP_ENDPOINT)."""
    if exporter == "none":
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    span_exporter: SpanExporter
    if exporter == "console":
        span_exporter = ConsoleSpanExporter()
    elif exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter,
            )
        except ImportError as exc:
            raise ConfigError(
                "HUB_TRACING=otlp needs the opentelemetry-exporter-otlp-proto-http package"
            ) from exc
        span_exporter = OTLPSpanExporter()
    else:
        raise ConfigError(f"unknown tracing exporter '{exporter}': use none, console or otlp")
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)


def tracing_active() -> bool:
    """Whether a tracer provider is configured; otherwise the API is a no-op."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


class Passthrough:
    """A record handled with tracing off: the partner's W3C context is passed on unchanged
    and its trace id recorded, which is what the no-op API does, without the cost of a
    span and a propagator per record."""

    __slots__ = ("headers", "trace_id")

    def __init__(self, headers: Mapping[str, bytes]) -> None:
        self.headers = [(k, headers[k]) for k in _HEADERS if k in headers]
        self.trace_id: str | None = None
        raw = headers.get("traceparent")
        if raw:
            parts = raw.decode(errors="replace").split("-")
            if len(parts) == 4 and len(parts[1]) == 32 and parts[1].strip("0"):
                self.trace_id = parts[1].lower()
