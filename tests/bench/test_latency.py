"""The latency benchmark's arithmetic: when a phase counts as saturated, and percentiles."""

from __future__ import annotations

from bench.latency import Latency, _percentile


def latency(*, rate: int = 2000, backlog: int = 0, drained: bool = True) -> Latency:
    return Latency(
        rate=rate,
        seconds=12.0,
        sent=rate * 12,
        samples=100,
        drained=drained,
        backlog=backlog,
        p50_ms=40.0,
        p99_ms=90.0,
        max_ms=120.0,
    )


def test_keeping_up_is_not_saturated() -> None:
    assert not latency(backlog=0).saturated
    assert not latency(backlog=1000).saturated  # half a second of input: still keeping up


def test_falling_behind_or_not_draining_is_saturated() -> None:
    assert latency(backlog=1001).saturated
    assert latency(backlog=0, drained=False).saturated


def test_percentiles_pick_the_nearest_rank() -> None:
    values = [float(v) for v in range(101)]  # 0..100: the q-th value is q*100
    assert _percentile(values, 0.50) == 50.0
    assert _percentile(values, 0.99) == 99.0
    assert _percentile([7.0], 0.99) == 7.0
