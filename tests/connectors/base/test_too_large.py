"""A row whose event is over the producer's limit is the row's fault: rejected with the
reason, so the source goes on instead of stopping on the same row at every restart."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from connectors.base.errors import RecordRejected
from connectors.base.source import EventTooLarge, _publish
from hub.kafka import RecordTooLarge


def test_an_event_over_the_producers_limit_is_a_rejected_row() -> None:
    def publish(_event: Any) -> str:
        raise RecordTooLarge("partner.p.e.v1", 2_000_512, 1_048_576)

    publisher = SimpleNamespace(publish=publish, event_type=SimpleNamespace(slug="e"))
    with pytest.raises(EventTooLarge) as rejected:
        _publish(publisher, {})  # type: ignore[arg-type]
    assert isinstance(rejected.value, RecordRejected) and rejected.value.code == "too-large"
    assert "2000512 bytes" in str(rejected.value)
