"""Health and Prometheus metrics of one connector.

``/healthz`` answers 200 while the connector's loop is alive and has made progress (or
been idle) recently, 503 otherwise, so a service manager or Kubernetes probe can restart a
stuck connector. ``/metrics`` is the Prometheus text format. Labels carry the connector
name, event types and reason codes only, never personal data.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class ConnectorMetrics:
    """One registry per connector instance, so tests and several connectors never collide."""

    def __init__(self, connector: str, registry: CollectorRegistry | None = None) -> None:
        self.connector = connector
        self.registry = registry or CollectorRegistry()

        # Every series is per connector; a few are split further by the extra labels.
        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, ["connector", *labels], registry=self.registry)

        self.read = counter("connector_records_read", "Input records read")
        self.published = counter(
            "connector_events_published",
            "Events published and acknowledged by the broker",
            "event_type",
        )
        self.rejected = counter(
            "connector_records_rejected", "Inputs sent to the reject output", "reason"
        )
        self.delivered = counter("connector_disclosures_delivered", "Disclosures written")
        self.failed = counter(
            "connector_disclosures_failed", "Disclosures refused by the recipient system"
        )
        self.retries = counter("connector_retries", "Transient failures retried")
        self.last_progress = Gauge(
            "connector_last_progress_timestamp_seconds",
            "Unix time of the last completed batch or idle poll",
            ["connector"],
            registry=self.registry,
        )
        self._alive = time.time()
        self.state = "starting"

    def progress(self) -> None:
        self._alive = time.time()
        self.last_progress.labels(self.connector).set(self._alive)

    def health(self, stale_after: float = 120.0) -> tuple[bool, dict[str, Any]]:
        age = time.time() - self._alive
        ok = self.state in ("starting", "running") and age < stale_after
        return ok, {
            "connector": self.connector,
            "state": self.state,
            "seconds_since_progress": round(age, 1),
        }


class HealthServer:
    """``/healthz`` and ``/metrics`` on a background thread (stdlib, no extra framework)."""

    def __init__(self, metrics: ConnectorMetrics, host: str, port: int) -> None:
        self.metrics = metrics

        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/metrics"):
                    body = generate_latest(owner.metrics.registry)
                    self._send(200, body, CONTENT_TYPE_LATEST)
                elif self.path.startswith("/healthz"):
                    ok, info = owner.metrics.health()
                    self._send(200 if ok else 503, json.dumps(info).encode(), "application/json")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None  # probes every few seconds would flood the log

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="connector-health", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
