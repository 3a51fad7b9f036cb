"""Health and metrics endpoints of a connector."""

from __future__ import annotations

import httpx

from connectors.base.health import ConnectorMetrics, HealthServer


def test_healthz_and_metrics() -> None:
    metrics = ConnectorMetrics("police-csv")
    server = HealthServer(metrics, "127.0.0.1", 0).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        metrics.read.labels("police-csv").inc(3)
        metrics.rejected.labels("police-csv", "wrong-type").inc()
        metrics.progress()
        metrics.state = "running"
        r = httpx.get(f"{base}/healthz")
        assert r.status_code == 200 and r.json()["state"] == "running"
        text = httpx.get(f"{base}/metrics").text
        assert 'connector_records_read_total{connector="police-csv"} 3.0' in text
        assert (
            'connector_records_rejected_total{connector="police-csv",reason="wrong-type"} 1.0'
            in text
        )
        metrics.state = "stopped"
        assert httpx.get(f"{base}/healthz").status_code == 503
    finally:
        server.stop()
