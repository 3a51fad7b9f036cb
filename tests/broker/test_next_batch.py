"""Adaptive batches: what has arrived at once, else wait for the first record only."""

from __future__ import annotations

from typing import Any

from hub.broker.records import next_batch


class Queue:
    def __init__(self, ready: int, arriving: int = 0) -> None:
        self.ready, self.arriving = ready, arriving
        self.calls: list[tuple[int, float]] = []

    def consume(self, n: int, timeout: float) -> list[Any]:
        self.calls.append((n, timeout))
        if not self.ready and timeout > 0:  # a record arrives during the wait
            self.ready, self.arriving = self.arriving, 0
        taken = min(n, self.ready)
        self.ready -= taken
        return [object()] * taken


def test_what_has_arrived_is_taken_without_waiting() -> None:
    q = Queue(ready=30)
    assert len(next_batch(q, 2000, 0.05)) == 30  # type: ignore[arg-type]
    assert q.calls == [(2000, 0)]


def test_a_full_batch_is_capped() -> None:
    assert len(next_batch(Queue(ready=5000), 2000, 0.05)) == 2000  # type: ignore[arg-type]


def test_when_nothing_has_arrived_it_waits_for_one_then_takes_the_rest() -> None:
    q = Queue(ready=0, arriving=12)
    assert len(next_batch(q, 2000, 0.05)) == 12  # type: ignore[arg-type]
    assert q.calls == [(2000, 0), (1, 0.05), (1999, 0)]


def test_a_quiet_stream_gives_an_empty_batch_after_the_wait() -> None:
    q = Queue(ready=0)
    assert next_batch(q, 2000, 0.05) == []  # type: ignore[arg-type]
