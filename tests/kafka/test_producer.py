"""The checked producer: the size rule in one place, BufferError back-off."""

from __future__ import annotations

from typing import Any

import pytest

from hub.kafka import CheckedProducer, RecordTooLarge, record_size
from tests.processor.stubs import FakeProducer


def test_a_record_over_the_limit_is_refused_before_it_is_queued() -> None:
    raw = FakeProducer()
    producer = CheckedProducer(raw, 10_000)  # type: ignore[arg-type]
    producer.produce("t", b"x" * 9_000)
    with pytest.raises(RecordTooLarge) as refused:
        producer.produce("t", b"x" * 9_000, headers=[("big", b"y" * 1_000)])
    assert "t would be" in str(refused.value) and "10000-byte limit" in str(refused.value)
    assert len(raw.pending) == 1  # the refused record was never queued
    assert not producer.fits(b"x" * 9_000, b"k" * 600)
    assert record_size(b"ab", b"c", [("h", b"de")]) == 512 + 3 + 8 + 3


def test_a_full_local_queue_is_waited_out() -> None:
    class Full(FakeProducer):
        refusals = 3
        polls = 0

        def produce(self, *a: Any, **kw: Any) -> None:
            if self.refusals:
                self.refusals -= 1
                raise BufferError("queue full")
            super().produce(*a, **kw)

        def poll(self, _timeout: float = 0) -> int:
            self.polls += 1
            return 0

    raw = Full()
    CheckedProducer(raw, 10_000).produce("t", b"v")  # type: ignore[arg-type]
    assert raw.polls == 3 and len(raw.pending) == 1
