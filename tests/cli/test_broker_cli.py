"""``hub broker`` runs the embedded broker alone and stops it cleanly; ``hub process`` without
a broker says how to get one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from hub.broker.embedded import free_port
from hub.kafka import KafkaConnection


def _hub(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )


@pytest.mark.integration
def test_hub_broker_serves_until_sigterm() -> None:
    port = free_port()
    proc = _hub("broker", "--port", str(port), env=dict(os.environ))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"embedded broker listening on 127.0.0.1:{port}" in line, line
        topics = KafkaConnection(f"127.0.0.1:{port}").admin().list_topics(timeout=10)
        assert topics is not None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # The Tansu child went with it: the port is free again.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            KafkaConnection(f"127.0.0.1:{port}").admin(log_level=0).list_topics(timeout=0.5)
        except Exception:
            return
        time.sleep(0.2)
    pytest.fail("the broker still answers after hub broker stopped")


def test_hub_process_without_a_broker_says_how_to_get_one() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HUB_BOOTSTRAP_SERVERS", "HUB_SCHEMA_REGISTRY_URL")
    }
    proc = _hub("process", env=env)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "needs HUB_BOOTSTRAP_SERVERS" in out and "hub sandbox" in out
