"""Observability: OpenTelemetry tracing (W3C trace context in record headers) and
Prometheus metrics. Nothing is set up at import: tracing is a no-op until configured."""

from hub.telemetry.metrics import Metrics
from hub.telemetry.tracing import configure_tracing, extract_context, inject_context, tracer

__all__ = ["Metrics", "configure_tracing", "extract_context", "inject_context", "tracer"]
