"""The events ledger over each of its stores (hub/processor/ledger_store.py): the same
answers from the dicts and from the SQLite file, the batch overlay, the load's merge rules,
the own entries in the tail, and the file's life under the data dir."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import pytest

from hub.errors import EventIdReused
from hub.processor import ledger as ledger_module
from hub.processor.ledger import EventLedger, LedgerEntry, content_digest
from hub.processor.ledger_store import (
    CACHE_DIR,
    LedgerStore,
    MemoryStore,
    SqliteStore,
    open_store,
    sweep,
)

P = "merseyside-police"
D1, D2, D3 = (content_digest({"n": i}) for i in range(3))


@pytest.fixture(params=["memory", "disk"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    s = open_store(request.param, tmp_path)
    yield s
    s.close()


def plain(event_id: str, digest: str = D1) -> LedgerEntry:
    return LedgerEntry(P, event_id, digest, "t:0:1", "now", revision=1)


def rich(
    event_id: str, revision: int = 1, reached: int = 1, retracted: bool = False
) -> LedgerEntry:
    return LedgerEntry(
        P,
        event_id,
        D2 if revision > 1 else D1,
        "t:0:1",
        "now",
        revision=revision,
        event_type="safeguarding-concern",
        digests={"1": D1} if revision > 1 else None,
        reached={f"recipient-{i}": [f"d-{i}", revision, True] for i in range(reached)},
        retraction={"id": "r", "reason": "wrong", "at": "now"} if retracted else None,
    )


class Source:
    def __init__(self, start: Iterable[tuple[bytes | None, bytes | None]] = ()) -> None:
        self.start = list(start)
        self.later: list[tuple[bytes | None, bytes | None]] = []

    def initial(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        return self.start

    def more(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        out, self.later = self.later, []
        return out


def rec(e: LedgerEntry) -> tuple[bytes, bytes]:
    return e.key(), e.to_json()


def test_redelivery_and_reuse_are_told_apart(store: LedgerStore) -> None:
    ledger = EventLedger(store=store)
    assert ledger.seen(P, "e1", D1) is False
    ledger.remember(plain("e1"))
    ledger.remember(rich("e2"))
    assert ledger.seen(P, "e1", D1) is True
    assert ledger.seen(P, "e2", D1) is True
    for eid in ("e1", "e2"):
        with pytest.raises(EventIdReused):
            ledger.seen(P, eid, D3)
    assert ledger.seen("merseyside-fire", "e1", D3) is False
    assert len(ledger) == 2


def test_the_load_keeps_the_later_state_whatever_the_order(
    store: LedgerStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Later rank wins (revision, then retraction, then recipients reached), whichever comes
    first on the topic; at equal rank the first stays; a plain entry never replaces a
    state; unreadable entries are logged and skipped, tombstones ignored."""
    other = LedgerEntry(P, "e5", D3, "t:9:9", "then", revision=1, reached={"x": ["d", 1, True]})
    records = [
        rec(rich("e1", revision=2)),
        rec(rich("e1", revision=1, reached=3)),  # older revision, more recipients: loses
        rec(rich("e2", reached=1)),
        rec(rich("e2", reached=2)),  # more recipients: wins
        rec(rich("e3", reached=2)),
        rec(rich("e3", reached=2, retracted=True)),  # retracted: wins
        rec(plain("e4")),
        rec(rich("e4")),  # a state over a plain digest
        rec(rich("e5")),
        rec(other),  # equal rank: the first stays
        rec(rich("e6")),
        rec(plain("e6", D3)),  # plain never replaces a state
        rec(plain("e7")),
        rec(plain("e7", D3)),  # the first plain stays
        (b"junk", b"not json"),
        (plain("e8").key(), plain("e9").to_json()),  # not its key
        (plain("e10").key(), orjson.dumps({"provider": P, "event_id": "e10", "digest": "zz"})),
        (rich("e11").key(), rich("e11").to_json().replace(b'"revision":1', b'"revision":"2"')),
        (b"gone", None),
        (None, b"{}"),
    ]
    with caplog.at_level(logging.WARNING, logger="hub.processor.ledger"):
        ledger = EventLedger(Source(records), store=store)
    assert ledger.loaded == 7
    got = {f"e{i}": ledger.entry(P, f"e{i}") for i in range(1, 12)}
    assert got["e1"] == rich("e1", revision=2)
    assert got["e2"] == rich("e2", reached=2)
    assert got["e3"] == rich("e3", reached=2, retracted=True)
    assert got["e4"] == rich("e4")
    assert got["e5"] == rich("e5")
    assert got["e6"] == rich("e6")
    assert got["e7"] is not None and got["e7"].digest == D1
    assert got["e8"] is None and got["e9"] is None and got["e10"] is None
    assert got["e11"] is None
    unreadable = [r for r in caplog.records if "unreadable entry" in r.getMessage()]
    assert len(unreadable) == 4


def test_a_batch_changes_nothing_until_it_is_committed(store: LedgerStore) -> None:
    ledger = EventLedger(store=store)
    ledger.put(plain("e1"))
    ledger.begin()
    ledger.entry(P, "e2")
    ledger.put(rich("e2"))
    ledger.put(rich("e1", revision=2))
    assert ledger.entry(P, "e1") == rich("e1", revision=2)  # the batch sees its own changes
    ledger.rollback()  # outputs never acknowledged
    assert ledger.entry(P, "e2") is None
    found = ledger.entry(P, "e1")
    assert found is not None and found.digest == D1 and found.reached is None
    ledger.begin()
    ledger.put(rich("e2"))
    ledger.put(rich("e1", revision=2))
    ledger.commit()
    assert ledger.entry(P, "e2") == rich("e2")
    assert ledger.entry(P, "e1") == rich("e1", revision=2)
    # A plain write never takes a state back to a digest.
    ledger.put(plain("e2", D1))
    assert ledger.entry(P, "e2") == rich("e2")


class CountingLoads:
    """orjson as the ledger module sees it, counting parses (the tail's own entries must
    cost none)."""

    def __init__(self) -> None:
        self.parsed = 0

    def loads(self, raw: bytes) -> object:
        self.parsed += 1
        return orjson.loads(raw)

    def __getattr__(self, name: str) -> object:
        return getattr(orjson, name)


def test_own_entries_in_the_tail_are_skipped_and_others_states_taken(
    store: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Source()
    ledger = EventLedger(source, refresh_every=0, store=store)
    ledger.begin()
    mine = [rich(f"r{i}") for i in range(50)] + [plain(f"p{i}") for i in range(50)]
    for e in mine:
        ledger.put(e)
    ledger.commit()
    counting = CountingLoads()
    monkeypatch.setattr(ledger_module, "orjson", counting)
    source.later = [rec(e) for e in mine if e.rich]
    ledger.refresh()
    assert counting.parsed == 0  # own states: compared as bytes, not parsed
    # Another instance corrected r1 (revision 2) and reached a second recipient for r2:
    # both must win over what this instance wrote (and still remembers as its own).
    source.later = [rec(rich("r1", revision=2)), rec(rich("r2", reached=2)), rec(plain("r3", D3))]
    ledger.refresh()
    assert ledger.entry(P, "r1") == rich("r1", revision=2)
    assert ledger.entry(P, "r2") == rich("r2", reached=2)
    assert ledger.entry(P, "r3") == rich("r3")
    # Its own earlier state coming back after another's later one changes nothing.
    source.later = [rec(rich("r1"))]
    ledger.refresh()
    assert ledger.entry(P, "r1") == rich("r1", revision=2)


def test_recent_writes_roll_over_and_the_store_keeps_them_all(
    store: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_module, "RECENT", 64)
    ledger = EventLedger(store=store)
    written = [rich(f"r{i}") if i % 3 == 0 else plain(f"p{i}") for i in range(1_000)]
    for start in range(0, len(written), 100):
        ledger.begin()
        for e in written[start : start + 100]:
            ledger.put(e)
        ledger.commit()
    assert len(ledger._recent) + len(ledger._older) < 2 * (64 + 100)
    for e in written:
        assert ledger.seen(P, e.event_id, e.digest) is True
    assert len(ledger) == len(written)


def test_the_disk_store_is_a_file_of_this_process_removed_at_close(tmp_path: Path) -> None:
    a, b = SqliteStore(tmp_path / CACHE_DIR, "hub-processor-0"), SqliteStore(tmp_path / CACHE_DIR)
    try:
        assert a.path != b.path and a.path.parent == tmp_path / CACHE_DIR
        assert str(os.getpid()) in a.path.name and a.path.exists()
        assert a.path.stat().st_mode & 0o777 == 0o600  # who received what: this user only
        ledger = EventLedger(store=a)
        ledger.remember(plain("e1"))
        assert EventLedger(store=b).entry(P, "e1") is None  # not shared
    finally:
        a.close()
        b.close()
    assert list((tmp_path / CACHE_DIR).iterdir()) == []


def test_a_store_left_by_an_ended_process_is_swept_a_live_one_is_not(tmp_path: Path) -> None:
    where = tmp_path / CACHE_DIR
    where.mkdir()
    # What a killed process leaves: its file and its lock file, the lock no longer held.
    (where / "hub-processor-0-999-dead.sqlite").write_bytes(b"x" * 4096)
    (where / "hub-processor-0-999-dead.lock").touch()
    live = SqliteStore(where, "hub-processor-1")
    try:
        old = time.time() - 3600
        for path in where.iterdir():
            os.utime(path, (old, old))
        fresh = where / "hub-processor-2-998-new.lock"
        fresh.touch()  # a process between creating and locking its lock file
        assert sweep(where) == 1
        left = sorted(p.name for p in where.iterdir())
        assert left == sorted([live.path.name, live._lock_path.name, fresh.name])
        EventLedger(store=live).remember(plain("e1"))  # still usable
    finally:
        live.close()


def test_the_disk_store_keeps_the_python_heap_flat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the disk store is for: the Python heap does not grow with the entries (the
    recent writes aside: bounded, and made small here so they do not hide a leak). The
    dicts, measured the same way, grow ~150-600 bytes an entry (test_ledger.py)."""
    import tracemalloc

    monkeypatch.setattr(ledger_module, "RECENT", 256)
    store = SqliteStore(tmp_path)
    ledger = EventLedger(store=store)

    def write(first: int, n: int) -> None:
        for start in range(first, first + n, 2_000):
            ledger.begin()
            for i in range(start, start + 2_000):
                ledger.put(rich(f"r{i}") if i % 2 else plain(f"p{i}"))
            ledger.commit()

    try:
        write(0, 20_000)  # the recent writes filled
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        write(20_000, 40_000)
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        print(f"events ledger on disk: Python heap {grown / 1e6:+.2f} MB over 40,000 entries")
        # The recent writes (up to two generations of a batch each here, ~0.7 MB) are
        # all that may differ; the dicts would have grown some 15 MB.
        assert grown < 1_500_000
        assert len(ledger) == 60_000
    finally:
        store.close()


def test_memory_store_is_what_the_ledger_uses_unless_told(tmp_path: Path) -> None:
    assert isinstance(EventLedger()._store, MemoryStore)
    assert isinstance(open_store("memory", tmp_path), MemoryStore)
    disk = open_store("disk", tmp_path, "hub-processor-7")
    try:
        assert isinstance(disk, SqliteStore)
        assert disk.path.parent == tmp_path / CACHE_DIR
        assert disk.path.name.startswith("hub-processor-7-")
    finally:
        disk.close()


def test_a_full_disk_stops_the_processor_with_a_clear_error(tmp_path: Path) -> None:
    """A store that cannot write (disk full here: SQLite's page limit) raises an OSError,
    which the processor lets stop its loop (infrastructure) instead of dead-lettering each
    record; the message names the file, what happens next and what to check."""
    store = SqliteStore(tmp_path)
    store._db.execute("PRAGMA max_page_count = 8")
    ledger = EventLedger(store=store)
    try:
        ledger.begin()
        for i in range(2_000):
            ledger.put(rich(f"r{i}"))
        with pytest.raises(OSError) as caught:
            ledger.commit()
        message = str(caught.value)
        assert str(store.path) in message and "full" in message
        assert "rebuilt from hub.events.v1" in message and "HUB_LEDGER_STORE" in message
        with pytest.raises(OSError):  # the store's contents are unknown: not used again
            ledger.put(plain("e1"))
    finally:
        store.close()
    assert not store.path.exists()
