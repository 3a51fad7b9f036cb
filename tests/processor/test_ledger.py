"""The events ledger: content digests and the memory of (provider, event id) -> digest."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from hub.errors import EventIdReused, InputRejected
from hub.processor.ledger import EventLedger, LedgerEntry, content_digest
from hub.processor.ledger_store import MemoryStore


def event(**over: object) -> dict[str, object]:
    e: dict[str, object] = {
        "envelope": {
            "event_id": "a7e0c1d2-0000-4000-8000-000000000001",
            "source_partner": "merseyside-police",
            "schema_version": 1,
            "occurred_at": datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
            "correlation_id": None,
        },
        "risk_level": "MEDIUM",
        "notes": b"\x00\x01",
    }
    e.update(over)
    return e


def test_digest_depends_on_content_not_on_serialisation() -> None:
    base = content_digest(event())
    # Written under schema v2: the version field and a new optional field left null.
    v2 = event(extra_field=None)
    v2["envelope"] = {**v2["envelope"], "schema_version": 2}  # type: ignore[dict-item]
    assert content_digest(v2) == base
    # Key order is not content.
    reordered = dict(reversed(list(event().items())))
    assert content_digest(reordered) == base
    assert content_digest(event(risk_level="HIGH")) != base
    assert content_digest(event(notes=b"\x00\x02")) != base


def test_same_content_is_a_redelivery_other_content_is_reuse() -> None:
    ledger = EventLedger()
    d1, d2 = content_digest(event()), content_digest(event(risk_level="HIGH"))
    assert ledger.seen("merseyside-police", "e1", d1) is False
    ledger.remember(LedgerEntry("merseyside-police", "e1", d1, "t:0:1", "now"))
    assert ledger.seen("merseyside-police", "e1", d1) is True
    with pytest.raises(EventIdReused) as caught:
        ledger.seen("merseyside-police", "e1", d2)
    assert isinstance(caught.value, InputRejected) and caught.value.code == "event-id-reused"
    assert "revision" in caught.value.fix and "new event id" in caught.value.fix
    # Another provider's event with the same id is another event.
    assert ledger.seen("merseyside-fire", "e1", d2) is False


class Source:
    def __init__(self, start: list[LedgerEntry]) -> None:
        self.start = start
        self.later: list[LedgerEntry] = []

    def initial(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        yield b"junk", b"not json"  # an unreadable entry is skipped, not fatal
        yield b"gone", None  # a tombstone
        for e in self.start:
            yield e.key(), e.to_json()

    def more(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        out, self.later = self.later, []
        for e in out:
            yield e.key(), e.to_json()


def test_a_restarted_or_second_instance_knows_what_others_decided() -> None:
    d1, d2 = content_digest(event()), content_digest(event(risk_level="HIGH"))
    source = Source([LedgerEntry("merseyside-police", "e1", d1, "t:0:1", "now")])
    ledger = EventLedger(source, refresh_every=0)
    assert ledger.loaded == 1
    with pytest.raises(EventIdReused):
        ledger.seen("merseyside-police", "e1", d2)
    source.later.append(LedgerEntry("merseyside-police", "e2", d2, "t:1:7", "now"))
    assert ledger.seen("merseyside-police", "e2", d2) is False  # not refreshed yet
    ledger.refresh()
    assert ledger.seen("merseyside-police", "e2", d2) is True
    # A later, different value for a key (two instances in the tail window): first wins.
    source.later.append(LedgerEntry("merseyside-police", "e2", d1, "t:2:3", "now"))
    ledger.refresh()
    assert ledger.seen("merseyside-police", "e2", d2) is True


def test_entry_round_trips_and_is_keyed_by_provider_and_event_id() -> None:
    e = LedgerEntry("merseyside-fire", "e1", "ab" * 32, "t:0:1", "now", revision=None)
    assert LedgerEntry.from_json(e.to_json()) == e
    assert e.key() == b"merseyside-fire|e1"


def test_memory_per_entry_with_recipients_is_small() -> None:
    """Entries with recipients are kept as their JSON: the memory they hold is what the
    allocator keeps for them, which sys.getsizeof does not see (orjson's output buffer was
    4 KB an entry, eight times its JSON: 1.2 GB at 500,000 events in bench/memory.py)."""
    import tracemalloc

    digest = content_digest(event())
    entries = [
        LedgerEntry(
            "merseyside-police",
            f"a7e0c1d2-0000-4000-8000-{i:012d}",
            digest,
            f"partner.merseyside-police.safeguarding-concern.v1:5:{i}",
            "2026-12-05T16:53:53.833096+00:00",
            revision=1,
            event_type="safeguarding-concern",
            reached={"liverpool-mash": [f"85912dfe-2d6b-54c0-9402-{i:012d}", 1, True]},
        )
        for i in range(5_000)
    ]
    store = MemoryStore()
    ledger = EventLedger(store=store)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for e in entries:
            ledger.remember(e)
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / len(entries)
    finally:
        tracemalloc.stop()
    assert len(store.states) == len(entries)
    print(f"events ledger: {per_entry:.0f} bytes per entry with a recipient")
    assert per_entry < 1_000


def test_memory_per_entry_is_small() -> None:
    """What the sizing in the ledger's docstring rests on (bytes per remembered event)."""
    store = MemoryStore()
    ledger = EventLedger(store=store)
    n = 20_000
    digest = content_digest(event())
    for i in range(n):
        ledger.remember(LedgerEntry("merseyside-police", f"event-{i}", digest, "t:0:1", "now"))
    table = store.digests
    total = sys.getsizeof(table) + sum(
        sys.getsizeof(k) + sys.getsizeof(v) for k, v in table.items()
    )
    per_entry = total / n
    print(f"events ledger: {per_entry:.0f} bytes per entry")
    assert per_entry < 200
