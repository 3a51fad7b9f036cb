"""Backoff grows, is capped and jittered; only Retryable errors are retried."""

from __future__ import annotations

import random
import threading
import time

import pytest

from connectors.base.config import RetryConfig
from connectors.base.errors import MalformedInput
from connectors.base.retry import Stopped, delays, retry
from hub.errors import SinkUnavailable


def test_delays_grow_exponentially_and_are_capped() -> None:
    policy = RetryConfig(max_attempts=6, initial_seconds=1, max_seconds=5, multiplier=2, jitter=0)
    assert list(delays(policy)) == [1, 2, 4, 5, 5]


def test_jitter_stays_within_bounds() -> None:
    policy = RetryConfig(max_attempts=50, initial_seconds=1, max_seconds=1, jitter=0.2)
    got = list(delays(policy, random.Random(1)))
    assert all(0.8 <= d <= 1.0 for d in got) and len(set(got)) > 10


def test_retries_retryable_until_success() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise SinkUnavailable("down")
        return "ok"

    policy = RetryConfig(max_attempts=5, initial_seconds=0.01, max_seconds=0.01)
    assert retry(flaky, policy) == "ok" and len(calls) == 3


@pytest.mark.parametrize(
    ("error", "max_attempts", "calls_made"),
    [
        pytest.param(SinkUnavailable("down"), 3, 3, id="retryable-gives-up-after-max-attempts"),
        pytest.param(MalformedInput("no"), 5, 1, id="terminal-is-not-retried"),
    ],
)
def test_a_lasting_failure_is_raised_after_the_attempts_it_allows(
    error: Exception, max_attempts: int, calls_made: int
) -> None:
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise error

    policy = RetryConfig(max_attempts=max_attempts, initial_seconds=0.01, max_seconds=0.01)
    with pytest.raises(type(error)):
        retry(failing, policy)
    assert len(calls) == calls_made


def test_stop_cuts_a_long_backoff_short() -> None:
    stop = threading.Event()

    def down() -> None:
        raise SinkUnavailable("down")

    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Stopped):
        retry(down, RetryConfig(initial_seconds=30, max_seconds=30), stop=stop)
    assert time.monotonic() - started < 5
