from __future__ import annotations

import pytest

from hub.codec import wire
from hub.errors import MalformedRecord


def test_split_reads_schema_id() -> None:
    schema_id, body = wire.split(b"\x00\x00\x00\x01\x2a" + b"abc")
    assert schema_id == 298 and bytes(body) == b"abc"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (None, "shorter than"),
        (b"\x00\x00", "shorter than"),
        (b"\x07\x00\x00\x00\x01x", "magic byte is 7"),
    ],
)
def test_split_rejects_with_a_reason(value: bytes | None, says: str) -> None:
    with pytest.raises(MalformedRecord, match=says) as info:
        wire.split(value)
    assert info.value.fix, "every rejection tells the partner what to fix"
