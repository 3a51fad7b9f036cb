"""The sandbox's children cannot outlive it, even when it is killed outright; a service that
fails to start is reported with its log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hub.sandbox.services import SandboxError, Supervisor
from tests.sandbox.conftest import alive, descendants

SUPERVISE = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from hub.sandbox.services import Supervisor
    s = Supervisor(Path(sys.argv[1]), os.environ)
    s.start("broker", ["broker", "--port", "0"], "listening on")
    print("ready", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.integration
def test_children_die_with_a_killed_sandbox(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        children = descendants(proc.pid)
        assert len(children) >= 2  # hub broker and the Tansu process under it
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 20
        while any(alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [p for p in children if alive(p)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in descendants(proc.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_service_that_fails_to_start_is_reported_with_its_log(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs", os.environ)
    try:
        with pytest.raises(SandboxError) as failed:
            supervisor.start("sink-x", ["connector", "run", str(tmp_path / "none.yaml")], "running")
        message = str(failed.value)
        assert "sink-x exited with code" in message
        assert str(tmp_path / "logs" / "sink-x.log") in message
        assert "none.yaml" in message  # the tail of its output says why
    finally:
        supervisor.stop_all()
    with pytest.raises(SandboxError, match="deploy-apply failed with code 2"):
        supervisor.run_once(
            "deploy-apply", ["deploy", "apply"], extra_env={"HUB_BOOTSTRAP_SERVERS": ""}
        )


def test_a_taken_port_says_which_flag_to_change() -> None:
    import socket

    from hub.sandbox.run import _port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SandboxError, match=f"port {port} is taken .*pass --broker-port 0"):
            _port(port, "--broker-port")
    assert _port(0, "--broker-port") > 0
