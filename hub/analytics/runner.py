"""Run the analytics worker as a child process, e.g. beside the demo's event flow.

faust's worker owns its event loop and signal handlers, so it gets a process of its own.
:func:`run_analytics` blocks until ``stop`` is set, then lets the worker drain (until its
counts stop moving), stops it with SIGTERM (faust commits offsets and flushes), and
returns the counts it wrote to its status file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.analytics.config import VRP_TOPIC, AnalyticsConfig
from hub.broker import ensure_topics
from hub.catalogue.topics import AUDIT_TOPIC
from hub.config import Settings


@dataclass
class AnalyticsRun:
    alerts: dict[str, int] = field(default_factory=dict)  # raised, by rule id
    shared: dict[str, int] = field(default_factory=dict)  # alert disclosures, by recipient
    withheld: int = 0  # alert decisions withheld (no agreement in force, condition false)
    aggregates: int = 0  # VRP week tables published
    read: int = 0
    skipped: int = 0
    feed_dir: Path | None = None
    returncode: int | None = None

    @property
    def alerts_total(self) -> int:
        return sum(self.alerts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "alerts": dict(self.alerts),
            "alerts_total": self.alerts_total,
            "alerts_shared": dict(self.shared),
            "alerts_withheld": self.withheld,
            "aggregates": self.aggregates,
            "feed": str(self.feed_dir) if self.feed_dir else None,
        }


class AnalyticsProcess:
    """The worker process; ``status()`` reads its latest counts."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        registry_url: str,
        *,
        config: AnalyticsConfig | None = None,
        log: Path | None = None,
    ) -> None:
        self.settings = settings
        self.config = config or AnalyticsConfig()
        folder = settings.data_dir / "analytics"
        folder.mkdir(parents=True, exist_ok=True)
        self.status_path = folder / f"status-{os.getpid()}-{time.monotonic_ns()}.json"
        self.log_path = log or folder / "worker.log"
        self._cmd = [
            sys.executable,
            "-m",
            "hub.analytics.app",
            "--bootstrap",
            bootstrap,
            "--registry",
            registry_url,
            "--data-dir",
            str(settings.data_dir),
            "--status",
            str(self.status_path),
        ]
        self._env = {
            **os.environ,
            "HUB_SCHEMAS_DIR": str(settings.schemas_dir),
            "HUB_PARTNERSHIP_DIR": str(settings.partnership_dir),
            **_config_env(self.config),
        }
        self._proc: subprocess.Popen[bytes] | None = None
        self._bootstrap = bootstrap

    def start(self) -> AnalyticsProcess:
        # Every topic the worker reads or writes exists before faust subscribes: a partner
        # that has not published yet must not stop the others being read.
        from hub.analytics.core import read_types
        from hub.analytics.intake import source_topics
        from hub.analytics.rules import load_rules

        rules = load_rules(self.config.rules(self.settings))
        ensure_topics(
            self._bootstrap,
            [
                AUDIT_TOPIC,
                VRP_TOPIC.format(recipient=self.config.vrp_recipient),
                *source_topics(self.settings, read_types(rules)),
            ],
            client=self.settings.kafka.client_config(),
        )
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self._cmd, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def status(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.status_path.read_text())
            return data
        except (OSError, ValueError):
            return {}

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_until(self, cond: Any, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            s = self.status()
            if cond(s):
                return s
            if not self.alive():
                raise RuntimeError(f"analytics worker exited; see {self.log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"analytics worker did not get there; last status {s}")
            time.sleep(0.2)

    def drain(self, quiet: float = 3.0, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the worker is running and its counts stop moving for ``quiet``
        seconds."""
        last: dict[str, Any] = {}
        since = time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            s = self.status()
            if not s.get("ready"):
                since = time.monotonic()
                time.sleep(0.2)
                continue
            key = {k: s.get(k) for k in ("read", "folded", "alerts", "aggregates")}
            if key != last:
                last, since = key, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.2)
        return self.status()

    def stop(self, timeout: float = 30.0) -> int | None:
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        return self._proc.returncode


def _config_env(config: AnalyticsConfig) -> dict[str, str]:
    """The config as the child reads it: ``HUB_ANALYTICS_*`` variables."""
    return {
        f"HUB_ANALYTICS_{k.upper()}": str(v)
        for k, v in config.model_dump().items()
        if v is not None
    }


def run_analytics(
    settings: Settings,
    bootstrap: str,
    registry_url: str,
    stop: threading.Event,
    *,
    config: AnalyticsConfig | None = None,
    drain: float = 3.0,
) -> AnalyticsRun:
    """The demo hook: run the analytics until ``stop`` is set, then drain and report.

    Call it in a thread while events flow; it returns the alerts raised by rule and the
    VRP tables published.
    """
    proc = AnalyticsProcess(settings, bootstrap, registry_url, config=config).start()
    try:
        while not stop.wait(0.2):
            if not proc.alive():
                break
        status = proc.drain(quiet=drain)
    finally:
        code = proc.stop()
    return AnalyticsRun(
        alerts={k: int(v) for k, v in status.get("alerts", {}).items()},
        shared={k: int(v) for k, v in status.get("shared", {}).items()},
        withheld=int(status.get("withheld", 0)),
        aggregates=int(status.get("aggregates", 0)),
        read=int(status.get("read", 0)),
        skipped=int(status.get("skipped", 0)),
        feed_dir=proc.config.feed(settings),
        returncode=code,
    )
