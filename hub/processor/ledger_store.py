"""Where the events ledger keeps its entries: in the process's memory, or in a file.

The ledger (hub/processor/ledger.py) is a cache of the compacted topic ``hub.events.v1``,
rebuilt at every start, so neither store needs to survive the process. What differs is
where the bytes live. The dict store keeps every entry on the Python heap (about 143 bytes
for an event shared with nobody, 614 for one shared with a recipient): the processor's
memory grows with every event it ever decided (bench/memory.py: +60% over 500,000 events).
The SQLite store keeps them in a file of this process's own under the data dir, with a
bounded page cache: its memory is flat however large the ledger grows, and the file's
pages live in the operating system's page cache, which is not the process's to hold.

A row is ``(slot, digest, state, rank)``: the 16-byte slot of (provider, event id); the
32-byte content digest of an entry with nothing more to say (``state`` None), or the
entry's JSON (``digest`` None) with its ``rank`` (which of two states is the later one).
Two ways to write, the same in both stores:

- ``write`` (a batch's changes, acknowledged): a state replaces what is there; a digest is
  written only where no state is (an entry never goes back from a state to a digest);
- ``merge`` (the topic at start, other instances' entries in the tail): a digest is taken
  only where nothing is; a state where no state is, or over one of lower rank (at equal
  rank the first stays: two instances deciding a reused id in the tail window).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import orjson

from hub.catalogue.topics import EVENTS_TOPIC
from hub.errors import HubError

log = logging.getLogger("hub.processor.ledger")

Row = tuple[bytes, bytes | None, bytes | None, int]  # slot, digest, state, rank
StoreKind = Literal["disk", "memory"]

# 8 MB of page cache: the hot path reads one row per event at a random slot, so a bigger
# cache buys little (measured: bench/ledger.py) and would only be more memory to fill.
CACHE_KB = 8 * 1024
CACHE_DIR = "ledger-cache"
_STALE_AFTER = 60.0  # seconds: a younger unlocked file may be a process still starting


class LedgerStoreFailed(HubError, OSError):
    """The on-disk store failed (disk full, an I/O error). An OSError, so the processor
    stops rather than dead-letter records (infrastructure, not input); with no journal a
    failed write leaves the file's contents unknown, and the next start rebuilds it."""


def rank_of(revision: object, retracted: bool, reached: int) -> int:
    """``(revision, retracted, recipients reached)`` as one integer, ordered the same way
    (entries only ever grow along these), so SQLite compares ranks without parsing JSON."""
    if not isinstance(revision, int):
        raise TypeError(f"revision {revision!r} is not a number")
    rev = min(max(revision, 0), 2**29)
    return (rev << 33) | (int(retracted) << 32) | min(reached, 2**32 - 1)


def state_rank(state: bytes) -> int:
    data = orjson.loads(state)
    return rank_of(
        data.get("revision") or 1, bool(data.get("retraction")), len(data.get("reached") or ())
    )


class LedgerStore(Protocol):
    """slot -> (digest, state); see the module doc for ``write`` and ``merge``."""

    def get(self, slot: bytes) -> tuple[bytes | None, bytes | None] | None: ...

    def write(self, rows: Sequence[Row]) -> None: ...

    def merge(self, rows: Sequence[Row]) -> None: ...

    def __len__(self) -> int: ...

    def close(self) -> None: ...


class MemoryStore:
    """Two dicts on the Python heap: fastest, and grows with every event ever decided."""

    def __init__(self) -> None:
        self.digests: dict[bytes, bytes] = {}
        self.states: dict[bytes, bytes] = {}

    def get(self, slot: bytes) -> tuple[bytes | None, bytes | None] | None:
        state = self.states.get(slot)
        if state is not None:
            return None, state
        digest = self.digests.get(slot)
        return None if digest is None else (digest, None)

    def write(self, rows: Sequence[Row]) -> None:
        for slot, digest, state, _rank in rows:
            if state is not None:
                self.digests.pop(slot, None)
                self.states[slot] = state
            elif slot not in self.states and digest is not None:
                self.digests[slot] = digest

    def merge(self, rows: Sequence[Row]) -> None:
        states, digests = self.states, self.digests
        for slot, digest, state, rank in rows:
            if state is None:
                if digest is not None and slot not in digests and slot not in states:
                    digests[slot] = digest
                continue
            known = states.get(slot)
            if known is None or rank > state_rank(known):
                digests.pop(slot, None)
                states[slot] = state

    def __len__(self) -> int:
        return len(self.digests) + len(self.states)

    def close(self) -> None:
        self.digests.clear()
        self.states.clear()


# Rows appended in the order written (a new entry costs an append and one insert into the
# small index of slots), rather than a table keyed by slot (WITHOUT ROWID), where every new
# entry lands on a random page of the whole table: measured on 200,000 entries, a miss
# 1.9 µs against 4.2 and a write 2.7 µs against 4.6 (bench/ledger.py).
_SCHEMA = (
    "CREATE TABLE ledger (slot BLOB NOT NULL, digest BLOB, state BLOB, rank INTEGER NOT NULL)",
    "CREATE UNIQUE INDEX ledger_slot ON ledger (slot)",
)
# A batch's changes: a state replaces; a digest goes only where no state is.
_INSERT = "INSERT INTO ledger (slot, digest, state, rank) VALUES (?, ?, ?, ?)"
_WRITE = f"""{_INSERT} ON CONFLICT (slot) DO UPDATE SET
    digest = excluded.digest, state = excluded.state, rank = excluded.rank
    WHERE excluded.state IS NOT NULL OR ledger.state IS NULL"""
# The topic's entries: a digest only where nothing is; a state over a digest or a lower rank.
_MERGE = f"""{_INSERT} ON CONFLICT (slot) DO UPDATE SET
    digest = NULL, state = excluded.state, rank = excluded.rank
    WHERE excluded.state IS NOT NULL AND (ledger.state IS NULL OR excluded.rank > ledger.rank)"""
_GET = "SELECT digest, state FROM ledger WHERE slot = ?"


class SqliteStore:
    """One table in a file of this process's own under ``directory``: created empty at
    start, removed at close (and, after a crash, by the next process to start there).

    No durability is asked of it (it is rebuilt from the topic at every start): no journal,
    no sync, an exclusive lock held for the process's life (no lock taken per statement),
    and a page cache of ``cache_kb``. Memory mapping stays off: mapped pages would count in
    the process's resident set, which is what this store is for keeping flat."""

    def __init__(self, directory: Path, name: str = "hub-processor", cache_kb: int = CACHE_KB):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        sweep(directory)
        stem = f"{_safe(name)}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.path = directory / f"{stem}.sqlite"
        self._lock_path = directory / f"{stem}.lock"
        # Held while the process lives: a file whose lock is free belongs to no one (sweep).
        self._lock_fd = os.open(self._lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.path.unlink(missing_ok=True)
        # Created here, readable by this user only (who received what); SQLite takes an
        # empty file as an empty database.
        os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        # One thread uses the ledger at a time (the processor's loop); it may not be the
        # thread that built it.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "locking_mode = EXCLUSIVE",
            "temp_store = FILE",
            "mmap_size = 0",
            f"cache_size = -{int(cache_kb)}",
        ):
            self._db.execute(f"PRAGMA {pragma}")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._cursor = self._db.cursor()
        self._count: int | None = 0
        self._broken: BaseException | None = None

    def get(self, slot: bytes) -> tuple[bytes | None, bytes | None] | None:
        try:
            row: tuple[bytes | None, bytes | None] | None = self._cursor.execute(
                _GET, (slot,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc
        return row

    def write(self, rows: Sequence[Row]) -> None:
        self._many(_WRITE, rows)

    def merge(self, rows: Sequence[Row]) -> None:
        self._many(_MERGE, rows)

    def _many(self, sql: str, rows: Sequence[Row]) -> None:
        if not rows:
            return
        if self._broken is not None:
            raise self._failed(self._broken)
        self._count = None
        # In slot order (a stable sort: one slot's rows keep theirs), so the index is
        # walked in order rather than at random once it outgrows the page cache.
        ordered: list[Row] = sorted(rows, key=_first)
        db = self._db
        try:
            db.execute("BEGIN")
            db.executemany(sql, ordered)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            # No ROLLBACK: without a journal it is undefined. The store is not used again.
            self._broken = exc
            raise self._failed(exc) from exc

    def _failed(self, exc: BaseException) -> LedgerStoreFailed:
        return LedgerStoreFailed(
            f"events ledger store {self.path}: {exc}. The processor stops; at its next start "
            f"the store is rebuilt from {EVENTS_TOPIC} (check the space and health of "
            f"{self.path.parent}, or set HUB_LEDGER_STORE=memory)"
        )

    def __len__(self) -> int:
        """Rows in the table (a scan, cached until the next write: for start-up and tests)."""
        if self._count is None:
            self._count = int(self._db.execute("SELECT count(*) FROM ledger").fetchone()[0])
        return self._count

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self.path.unlink(missing_ok=True)
        self._lock_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)


def _first(row: Row) -> bytes:
    return row[0]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "hub"


def sweep(directory: Path) -> int:
    """Remove the files of processes that have ended without closing their store (killed,
    crashed): their lock is free. Files younger than a minute are left (their process may
    be between creating and locking them). Returns how many stores were removed."""
    removed = 0
    for lock in directory.glob("*.lock"):
        try:
            if time.time() - lock.stat().st_mtime < _STALE_AFTER:
                continue
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # held: its process is alive
            continue
        try:
            lock.with_suffix(".sqlite").unlink(missing_ok=True)
            lock.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(fd)
    if removed:
        log.info(
            "events ledger: removed %d store(s) left by ended processes in %s", removed, directory
        )
    return removed


def open_store(kind: StoreKind, data_dir: Path, name: str = "hub-processor") -> LedgerStore:
    """The store the ``ledger_store`` setting names: ``disk`` (the default) under
    ``<data dir>/ledger-cache``, or ``memory``."""
    if kind == "memory":
        return MemoryStore()
    return SqliteStore(data_dir / CACHE_DIR, name)
