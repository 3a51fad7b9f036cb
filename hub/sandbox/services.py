"""The sandbox's services as child processes of the hub's own commands, and their stopping.

Each service is a ``hub ...`` command run with ``python -m hub.cli.main``, its output in a
log file, ready when a line it prints appears there. Children get their own process group,
so a Ctrl-C in the terminal reaches the sandbox alone and the sandbox stops them in order
(services first, the broker last, so they can commit and leave their groups); and on Linux
each child is sent SIGTERM by the kernel if the sandbox dies without stopping them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from hub.errors import HubError, Terminal

_PR_SET_PDEATHSIG = 1
HUB = [sys.executable, "-m", "hub.cli.main"]


class SandboxError(HubError, Terminal):
    """A sandbox service did not start or stopped on its own; the message names its log."""


def _child_setup() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Service:
    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes]
    handle: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, limit: int = 3000) -> str:
        try:
            data = self.log.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode(errors="replace")


class Supervisor:
    """Starts services, notices when one exits on its own, stops them all."""

    def __init__(self, logs: Path, env: Mapping[str, str]) -> None:
        self.logs = logs
        self.env = dict(env)
        self.services: list[Service] = []

    def start(
        self, name: str, args: Sequence[str], ready: str | None = None, timeout: float = 90.0
    ) -> Service:
        """Start ``hub <args>``; return once ``ready`` appears in its output (or at once)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        handle = open(log, "wb")  # noqa: SIM115 - closed in stop_all()
        argv = [*HUB, "-v", *args]
        proc = subprocess.Popen(
            argv,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            start_new_session=True,
            preexec_fn=_child_setup,
        )
        service = Service(name, argv, log, proc, handle)
        self.services.append(service)
        if ready is not None:
            self.wait_ready(service, ready, timeout)
        return service

    def wait_ready(self, service: Service, ready: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready in service.tail(1 << 20):
                return
            if service.proc.poll() is not None:
                raise SandboxError(
                    f"{service.name} exited with code {service.proc.returncode} while "
                    f"starting (log {service.log}):\n{service.tail()}"
                )
            time.sleep(0.1)
        raise SandboxError(
            f"{service.name} not ready after {timeout:.0f}s (log {service.log}):\n{service.tail()}"
        )

    def run_once(
        self,
        name: str,
        args: Sequence[str],
        timeout: float = 120.0,
        extra_env: Mapping[str, str] | None = None,
    ) -> str:
        """Run ``hub <args>`` to completion; its output, or SandboxError with it. Secrets
        go in ``extra_env``, never in ``args`` (process listings show arguments)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [*HUB, *args],
            capture_output=True,
            env={**self.env, **(extra_env or {})},
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_child_setup,
            check=False,
        )
        output = (done.stdout + done.stderr).decode(errors="replace")
        (self.logs / f"{name}.log").write_text(output)
        if done.returncode != 0:
            raise SandboxError(f"{name} failed with code {done.returncode}:\n{output[-3000:]}")
        return output

    def exited(self) -> list[Service]:
        """Services that stopped on their own."""
        return [s for s in self.services if s.proc.poll() is not None]

    def stop_all(self, last: Sequence[str] = (), timeout: float = 20.0) -> None:
        """SIGTERM every service at once (each finishes its batch and commits), then the
        ``last`` ones (the broker, the registry) once the others are gone; SIGKILL whatever
        is still running after ``timeout``."""
        first = [s for s in self.services if s.name not in last]
        final = [s for s in self.services if s.name in last]
        for group in (first, list(reversed(final))):
            for service in group:
                with contextlib.suppress(ProcessLookupError):
                    service.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for service in group:
                try:
                    service.proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _kill_group(service)
                    service.proc.wait(5)
                # Whatever the service started and left behind (its group outlives it).
                _kill_group(service)
        for service in self.services:
            with contextlib.suppress(OSError):
                service.handle.close()
        self.services = []


def _kill_group(service: Service) -> None:
    # The service's own process group (start_new_session): its helpers go with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(service.proc.pid, signal.SIGKILL)
