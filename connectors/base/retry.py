"""Retry with exponential backoff, chosen by the exception's type.

``Retryable`` errors (broker, registry, database or recipient API temporarily away) are
retried with growing, jittered delays; anything else propagates at once. A ``stop`` event
cuts the wait short so SIGTERM is never held up by a backoff.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from connectors.base.config import RetryConfig
from hub.errors import Retryable

T = TypeVar("T")
log = logging.getLogger(__name__)


def delays(policy: RetryConfig, rng: random.Random | None = None) -> Iterator[float]:
    """The waits between attempts: initial * multiplier**n, capped, with +/- jitter."""
    rng = rng or random.Random()
    delay = policy.initial_seconds
    for _ in range(policy.max_attempts - 1):
        spread = delay * policy.jitter
        yield max(0.0, min(policy.max_seconds, delay + rng.uniform(-spread, spread)))
        delay = min(policy.max_seconds, delay * policy.multiplier)


class Stopped(Exception):
    """The connector was asked to stop while waiting to retry."""


def retry(
    fn: Callable[[], T],
    policy: RetryConfig,
    *,
    stop: threading.Event | None = None,
    what: str = "operation",
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """Call ``fn`` until it succeeds, retrying only ``Retryable`` errors.

    After ``max_attempts`` the last error is raised: the caller decides whether that stops
    the connector (so the service manager restarts it) or becomes a failed delivery."""
    waits = delays(policy)
    while True:
        try:
            return fn()
        except Retryable as exc:
            wait = next(waits, None)
            if wait is None:
                raise
            log.warning("%s failed (%s), retrying in %.1fs", what, type(exc).__name__, wait)
            if on_retry is not None:
                on_retry(exc)
            if stop is not None and stop.wait(wait):
                raise Stopped(what) from exc
            if stop is None:
                threading.Event().wait(wait)
