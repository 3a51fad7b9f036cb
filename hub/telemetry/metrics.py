"""Prometheus metrics of the processor. Labels carry partner, recipient, agreement and
reason codes, never personal data."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class Metrics:
    """One registry per processor, so tests and several instances never collide."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events_in = Counter(
            "hub_events_in", "Records consumed from partner topics", ["partner"], registry=r
        )
        self.decisions = Counter(
            "hub_decisions",
            "Decisions per recipient, agreement and outcome",
            ["provider", "recipient", "agreement", "outcome"],
            registry=r,
        )
        self.deadletters = Counter(
            "hub_deadletters", "Records dead-lettered", ["partner", "reason"], registry=r
        )
        self.batch_seconds = Histogram(
            "hub_batch_seconds",
            "Time to decide, produce, flush, audit and commit one batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.lag = Gauge(
            "hub_consumer_lag",
            "Records behind the end of each partner topic partition",
            ["topic", "partition"],
            registry=r,
        )
        self.reloads = Counter("hub_rule_reloads", "Agreement and key reloads", registry=r)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose /metrics for Prometheus on a background thread."""
        start_http_server(port, addr=host, registry=self.registry)
