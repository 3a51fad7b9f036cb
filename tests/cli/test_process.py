"""`hub process` as a service: it processes what arrives and stops cleanly on SIGTERM,
finishing its batch and committing, so a restart resumes with nothing lost or repeated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.synthetic.police import PoliceFeed
from hub.audit.store import AuditStore
from hub.broker import EmbeddedBroker
from hub.config import Settings
from hub.processor.build import partner_keys
from tests.plugin import POLICE, PolicePublisher

pytestmark = pytest.mark.integration


_started: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def no_leftover_processors() -> Iterator[None]:
    """A failing assertion must not leave a `hub process` running after the test."""
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def start(env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli.main", "process", "--ingest"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _started.append(proc)
    assert proc.stdout is not None
    assert "consuming partner topics" in proc.stdout.readline()
    return proc


def test_process_runs_and_stops_gracefully(
    tmp_path: Path, broker: EmbeddedBroker, registry_url: str, police_publisher: PolicePublisher
) -> None:
    settings = Settings(data_dir=tmp_path)
    audit_url = f"sqlite:///{tmp_path / 'audit.db'}"
    # Only the partner's topic: `hub process` creates the hub's and recipients' topics.
    publisher = police_publisher(partner_keys(settings).dev_signing_key(POLICE), topics=[])
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(tmp_path),
        "HUB_BOOTSTRAP_SERVERS": broker.bootstrap,
        "HUB_SCHEMA_REGISTRY_URL": registry_url,
        "HUB_AUDIT_URL": audit_url,
    }
    feed = PoliceFeed(seed=5)
    for event in feed.events(100):
        publisher.publish(event)
    publisher.flush()
    proc = start(env)
    audit = AuditStore(audit_url)
    deadline = time.monotonic() + 60
    while audit.count_decisions() < 300 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert audit.count_decisions() == 300  # 3 candidate recipients per concern
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped: 100 records" in out

    # A restarted instance resumes after the committed offsets: only new events arrive.
    for event in feed.events(20):
        publisher.publish(event)
    publisher.close()
    proc = start(env)
    deadline = time.monotonic() + 60
    while audit.count_decisions() < 360 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped: 20 records" in out, out
    assert audit.count_decisions() == 360
    audit.close()


def test_process_refuses_without_a_broker(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "process"],
        env={**env, "HUB_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "HUB_BOOTSTRAP_SERVERS" in result.stderr
