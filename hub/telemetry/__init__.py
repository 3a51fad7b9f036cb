"""Observability: OpenTelemetry tracing (W3C trace context in record headers) and
Prometheus metrics. Nothing is set up at import: tracing is a no-op until configured.

The exports are imported when first read (hub/lazy.py): every command's
``configure_logging`` does not load prometheus_client."""

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
    from hub.telemetry.metrics import Metrics
    from hub.telemetry.tracing import configure_tracing, extract_context, inject_context, tracer

__all__ = ["Metrics", "configure_tracing", "extract_context", "inject_context", "tracer"]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "Metrics": "hub.telemetry.metrics",
            "configure_tracing": "hub.telemetry.tracing",
            "extract_context": "hub.telemetry.tracing",
            "inject_context": "hub.telemetry.tracing",
            "tracer": "hub.telemetry.tracing",
        },
    )
