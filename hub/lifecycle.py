"""How a hub service stops: SIGTERM or SIGINT asks it to stop, and it is gone within its
grace period whatever it was waiting on.

:func:`install` (from the main thread, once per process) turns the first SIGTERM/SIGINT into
a set :class:`threading.Event` that the service's loop watches: it finishes the batch in
flight, commits, leaves its consumer group and returns. A watchdog thread then gives it
``HUB_STOP_GRACE_SECONDS`` (default 8 s: docker compose kills at 10 s, Kubernetes here at
60 s). If the service is still running then, because the broker is gone and a flush, a
commit or a group leave is waiting for it, the watchdog logs one line and ends the process
with exit code 3. Nothing is lost by that: offsets are
committed only after outputs are acknowledged, so what was in flight is redelivered to the
next instance, and the sinks and the audit store are idempotent on it. A second signal ends
the process at once (the operator pressed Ctrl-C twice).

Why a wake-up descriptor, not only a Python signal handler: Python runs signal handlers on
the main thread between bytecodes, so while the main thread sits in a librdkafka call
(``flush``, ``close``, a synchronous ``commit``) the handler waits for that call to return,
which with a dead broker can be minutes. ``signal.set_wakeup_fd`` is written by the C-level
handler at once, and the watchdog thread reads it: the stop event is set and the grace
period starts when the signal arrives, not when the main thread next looks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

log = logging.getLogger("hub.lifecycle")

GRACE_ENV = "HUB_STOP_GRACE_SECONDS"
DEFAULT_GRACE = 8.0
# Exit code when the watchdog ends a service that did not stop within its grace period.
EXIT_OVERDUE = 3
_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_FAILURE = 0  # the byte fail() writes to the watchdog's socket (no signal has number 0)


def grace_from_env(environ: dict[str, str] | None = None) -> float:
    """The grace period in seconds from ``HUB_STOP_GRACE_SECONDS``; a clear error if unusable."""
    env = os.environ if environ is None else environ
    raw = env.get(GRACE_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_GRACE
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        from hub.errors import ConfigError

        raise ConfigError(
            f"{GRACE_ENV}={raw!r} is not a number of seconds between 0 and 3600; "
            f"unset it for the default of {DEFAULT_GRACE:.0f} s"
        )
    return value


@dataclass
class Shutdown:
    """One process's stop request: the event services watch and the watchdog behind it."""

    name: str
    grace: float
    stop: threading.Event = field(default_factory=threading.Event)
    requested_at: float | None = None
    signal_name: str | None = None
    failed: str | None = None
    _exit: object = field(default=os._exit, repr=False)  # replaced in unit tests only
    _wake: Any = field(default=lambda _signum: None, repr=False)

    def request(self, signum: int) -> bool:
        """Record a stop request; True when it is the first one."""
        first = self.requested_at is None
        if first:
            self.requested_at = time.monotonic()
            self.signal_name = signal.Signals(signum).name if signum else "a failure"
            log.warning(
                "%s: %s, stopping (finishing the batch in flight; at most %.0f s)",
                self.name,
                self.failed or f"{self.signal_name} received",
                self.grace,
            )
        self.stop.set()
        return first

    def fail(self, reason: str) -> None:
        """A part of the service died (e.g. the audit ingester thread of ``hub process
        --ingest``): stop the whole service, so its manager restarts it, rather than run on
        without that part. The command then exits non-zero with ``reason``."""
        if self.failed is None:
            self.failed = reason
        self._wake(_FAILURE)

    def overdue(self, now: float | None = None) -> bool:
        if self.requested_at is None:
            return False
        return (time.monotonic() if now is None else now) - self.requested_at >= self.grace

    def end(self, why: str) -> None:
        """End the process now: one line on stderr, then ``_exit`` (no cleanup can hang)."""
        with contextlib.suppress(Exception):
            log.error("%s: %s; exiting with code %d", self.name, why, EXIT_OVERDUE)
            for handler in logging.getLogger().handlers:
                handler.flush()
            sys.stderr.flush()
        exit_now = self._exit
        assert callable(exit_now)
        exit_now(EXIT_OVERDUE)


_current: Shutdown | None = None
_lock = threading.Lock()


def current() -> Shutdown | None:
    """The process's installed shutdown, if any (services started by a CLI command)."""
    return _current


def install(name: str, grace: float | None = None) -> threading.Event:
    """Make SIGTERM/SIGINT stop this process's service within its grace period.

    Returns the stop event. Call from the main thread; calling it again returns the same
    event (``hub process --ingest`` runs two services under one stop)."""
    global _current
    with _lock:
        if _current is not None:
            return _current.stop
        shutdown = Shutdown(name, grace_from_env() if grace is None else grace)
        receive, send = socket.socketpair()
        send.setblocking(False)
        # The C-level handler writes the signal number here at once (see the docstring).
        signal.set_wakeup_fd(send.fileno(), warn_on_full_buffer=False)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            shutdown.stop.set()  # the watchdog logs and times; this only makes sure

        for signum in _SIGNALS:
            signal.signal(signum, on_signal)
        # fail() wakes the watchdog as a signal would, so its grace period starts too.
        shutdown._wake = lambda signum: send.send(bytes([signum]))
        watchdog = threading.Thread(
            target=_watch, args=(shutdown, receive, send), name="hub-stop-watchdog", daemon=True
        )
        watchdog.start()
        _current = shutdown
        return shutdown.stop


def _watch(shutdown: Shutdown, receive: socket.socket, _send: socket.socket) -> None:
    """Wait for signals; after the first, end the process once the grace period is over."""
    while True:
        if shutdown.requested_at is None:
            receive.settimeout(None)
        else:
            left = shutdown.grace - (time.monotonic() - shutdown.requested_at)
            if left <= 0:
                shutdown.end(
                    f"did not stop within its {shutdown.grace:.0f} s grace period after "
                    f"{shutdown.signal_name} (a flush, commit or group leave is waiting for "
                    "the broker); what was in flight is redelivered at the next start"
                )
                return
            receive.settimeout(left)
        try:
            data = receive.recv(16)
        except TimeoutError:
            continue
        except OSError:
            return
        for signum in data:
            if signum == _FAILURE:
                shutdown.request(_FAILURE)
                continue
            if signum not in [s.value for s in _SIGNALS]:
                continue
            if not shutdown.request(signum):
                shutdown.end(f"second {signal.Signals(signum).name}: stopping at once")
                return
