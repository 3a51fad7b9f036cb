"""The latency budget's arithmetic: each receipt's wait split into the budget's parts."""

from __future__ import annotations

from bench.latency_budget import BatchTimes, Timings, budget

MS = 1_000_000  # ns


def test_a_receipt_is_split_into_its_waits() -> None:
    timings = Timings()
    # Batch 1: the processor was waiting; the record came 3 ms after it was sent.
    first = BatchTimes(
        poll_start=0,
        poll_end=3 * MS,
        first_verdict=4 * MS,
        flush_start=6 * MS,
        flush_end=8 * MS,
        commit_end=8 * MS + MS // 10,
        size=1,
        waited=True,
    )
    # Batch 2: its record (sent at 5 ms) was queued while batch 1 was handled.
    second = BatchTimes(
        poll_start=9 * MS,
        poll_end=9 * MS,
        first_verdict=10 * MS,
        flush_start=12 * MS,
        flush_end=13 * MS,
        commit_end=13 * MS,
        size=1,
        waited=False,
    )
    timings.batches += [first, second]
    timings.batch_of.update({"a": first, "b": second})
    timings.decided.update({"a": 5 * MS, "b": 11 * MS})
    result = budget([("a", 0, 10 * MS), ("b", 5 * MS, 14 * MS)], timings)
    assert result["samples"] == 2 and result["arrived_while_waiting"] == 0.5
    assert result["transport"]["p50"] == 3.0  # a: the processor waited for it
    assert result["to_processor"]["mean"] == 3.5  # a: 3, b: 4
    assert result["queued"]["p50"] == 1.0  # b: 4 ms to the processor, minus 3 of transport
    assert result["verify_wait"]["mean"] == 1.0
    assert result["decide"]["mean"] == 2.0
    assert result["rest_of_batch"]["mean"] == 1.0
    assert result["flush"]["mean"] == 1.5
    assert result["to_recipient"]["mean"] == 1.5  # a: 2, b: 1
    assert result["end_to_end"]["mean"] == 9.5  # a: 10, b: 9
    assert result["between_batches"]["p50"] == 0.9  # batch 1's commit end -> batch 2's poll


def test_receipts_the_processor_never_flushed_are_left_out() -> None:
    timings = Timings()
    unflushed = BatchTimes(poll_start=0, poll_end=MS, size=1, waited=True)
    timings.batches.append(unflushed)
    timings.batch_of["a"] = unflushed
    timings.decided["a"] = 2 * MS
    result = budget([("a", 0, 5 * MS), ("unknown", 0, 5 * MS)], timings)
    assert result["samples"] == 0
    assert result["end_to_end"] == {"p50": None, "p99": None, "mean": None}
