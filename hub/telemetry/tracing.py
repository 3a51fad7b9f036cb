"""Tracing by hand to the OpenTelemetry messaging semantic conventions.

A partner connector opens a ``send`` span and puts W3C ``traceparent`` in the record headers;
the processor continues it in a ``process`` span and passes its own context on to the
recipient records; the sink continues from there. One safeguarding concern can so be
followed end to end, and the audit records the trace id of each decision.

Unless :func:`configure_tracing` is called, the OpenTelemetry API is a no-op: no spans,
negligible cost on the hot path. Trace *ids* do not depend on it: a record published with
no trace context around it gets a fresh W3C ``traceparent`` (:func:`ensure_traceparent`),
which the processor passes on unchanged (:class:`Passthrough`) and the sink's no-op span
continues, so the audit, the receipts and the logs name the same trace id with or without
an exporter.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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


def new_traceparent() -> bytes:
    """A W3C ``traceparent`` starting a trace: random 128-bit trace id and 64-bit parent id.
    Flagged sampled, so a component downstream that does export keeps its part of it."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01".encode()


def ensure_traceparent(headers: list[tuple[str, bytes]]) -> str:
    """Give the record a trace context if it has none (no span around it, or tracing off),
    and return its trace id. Sources call it for every record *before* signing: the batch
    signature covers the headers."""
    for key, value in headers:
        if key == "traceparent":
            found = trace_id_from(value)
            if found is not None:
                return found
    headers[:] = [(k, v) for k, v in headers if k not in _HEADERS]
    value = new_traceparent()
    headers.append(("traceparent", value))
    return value.decode().split("-")[1]


def trace_id_from(traceparent: bytes | None) -> str | None:
    """The trace id of a W3C ``traceparent`` value, or None if it is not a valid one."""
    if not traceparent:
        return None
    parts = traceparent.decode(errors="replace").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and parts[1].strip("0"):
        try:
            int(parts[1], 16)
        except ValueError:
            return None
        return parts[1].lower()
    return None


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
        self.trace_id = trace_id_from(headers.get("traceparent"))


_RECORD_TRACE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "hub_record_trace", default=None
)


@contextmanager
def record_trace(trace_id: str | None) -> Iterator[None]:
    """Log lines written while a record is handled name its trace id (tracing off: there
    is no span to read it from)."""
    token = _RECORD_TRACE.set(trace_id)
    try:
        yield
    finally:
        _RECORD_TRACE.reset(token)


def current_trace_id() -> str | None:
    """The trace id of the record being handled here: the current span's, else the one
    :func:`record_trace` set."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        return format(ctx.trace_id, "032x")
    return _RECORD_TRACE.get()


class TraceIdFilter(logging.Filter):
    """Adds ``trace_id`` to every log record (empty outside a record), so text and JSON
    log lines can be joined to the audit and the console by it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = current_trace_id() or ""
        return True
