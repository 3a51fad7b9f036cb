"""SIGTERM stops a service within its grace period, whatever its main thread is doing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from hub.errors import ConfigError
from hub.lifecycle import DEFAULT_GRACE, EXIT_OVERDUE, Shutdown, grace_from_env


def test_grace_comes_from_the_environment_or_the_default() -> None:
    assert grace_from_env({}) == DEFAULT_GRACE
    assert grace_from_env({"HUB_STOP_GRACE_SECONDS": "2.5"}) == 2.5
    for bad in ("0", "-1", "soon", "99999"):
        with pytest.raises(ConfigError, match="HUB_STOP_GRACE_SECONDS"):
            grace_from_env({"HUB_STOP_GRACE_SECONDS": bad})


def test_first_signal_requests_the_stop_and_starts_the_grace_period() -> None:
    exits: list[int] = []
    s = Shutdown("svc", 5.0, _exit=exits.append)
    assert not s.stop.is_set() and not s.overdue()
    assert s.request(signal.SIGTERM) is True
    assert s.stop.is_set() and s.signal_name == "SIGTERM"
    assert s.requested_at is not None
    assert not s.overdue(s.requested_at + 4.9)
    assert s.overdue(s.requested_at + 5.0)
    assert s.request(signal.SIGINT) is False  # a second signal is not a new request
    s.end("test")
    assert exits == [EXIT_OVERDUE]


# The main thread waits on a lock nobody releases: a stand-in for a librdkafka call that
# waits for a dead broker (Python runs signal handlers only between bytecodes).
STUCK = """
import threading, time
from hub import lifecycle
stop = lifecycle.install("stuck-service", grace={grace})
print("ready", flush=True)
lock = threading.Lock(); lock.acquire()
{body}
"""


def _run(body: str, grace: float, signals: list[int]) -> tuple[int, float, str]:
    code = STUCK.format(grace=grace, body=body)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    started = time.monotonic()
    for signum in signals:
        proc.send_signal(signum)
        time.sleep(0.1)
    _out, err = proc.communicate(timeout=30)
    return proc.returncode, time.monotonic() - started, err.decode()


def test_a_stuck_service_is_ended_when_its_grace_period_is_over() -> None:
    code, took, err = _run("lock.acquire()", 1.0, [signal.SIGTERM])
    assert code == EXIT_OVERDUE, err
    assert 0.9 <= took < 4.0, took
    assert "Traceback" not in err
    assert "did not stop within its 1 s grace period after SIGTERM" in err


def test_a_second_signal_ends_the_service_at_once() -> None:
    code, took, err = _run("lock.acquire()", 20.0, [signal.SIGINT, signal.SIGINT])
    assert code == EXIT_OVERDUE, err
    assert took < 5.0
    assert "second SIGINT" in err


def test_a_service_that_watches_its_stop_event_stops_cleanly() -> None:
    body = "stop.wait(30); print('stopped cleanly', flush=True)"
    code, took, err = _run(body, 5.0, [signal.SIGTERM])
    assert code == 0, err
    assert took < 3.0


def test_a_dead_part_stops_the_whole_service_with_its_reason() -> None:
    """`hub process --ingest` must not run on without its audit ingester thread."""
    code = (
        "import sys, threading\n"
        "from hub.cli import main as m\n"
        "from hub import lifecycle\n"
        "def handler(args):\n"
        "    stop = lifecycle.current().stop\n"
        "    threading.Thread(target=lambda: 1 / 0, name='audit-ingest').start()\n"
        "    return 0 if stop.wait(20) else 5\n"
        "m.process.handle = handler\n"
        "sys.exit(m.main(['process']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith("hub: error: hub process stopped: thread audit-ingest died: ZeroDivisionError")
    ), proc.stderr
