"""Ctrl-C stops the sandbox and everything it started: no child process is left running.
(Runs after the package's other sandbox tests: pytest takes the files in name order.)"""

from __future__ import annotations

import signal
import time

import pytest

from tests.sandbox.conftest import RunningSandbox, alive, descendants

pytestmark = pytest.mark.integration


def test_ctrl_c_leaves_nothing_running(sandbox: RunningSandbox) -> None:
    children = descendants(sandbox.proc.pid)
    # broker (and Tansu under it), registry, processor (and its signature helper),
    # ingester, console and a sink per recipient.
    assert len(children) >= 10, children
    sandbox.proc.send_signal(signal.SIGINT)
    assert sandbox.proc.wait(90) == 0, sandbox.text()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in children if alive(pid)] == []
    assert "nothing left running" in sandbox.text()
