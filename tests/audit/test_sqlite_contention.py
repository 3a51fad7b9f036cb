"""A reader never stops the audit: the cause of the crash test's 90 s without progress.

Under CPU starvation a reader of the SQLite audit store (the crash test's progress poll,
the console, an export) held its read transaction long enough that the ingester's commit
gave up with ``database is locked``; the ingester thread of ``hub process --ingest`` died
and the processor ran on with nothing reaching the audit store. In WAL mode a reader does
not block the writer at all.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from hub.audit.records import ReceiptRecord
from hub.audit.sqlite import shared_sqlite, store_busy
from hub.audit.store import AuditStore


def receipt(i: int) -> ReceiptRecord:
    return ReceiptRecord(f"d{i}:delivered", f"d{i}", "liverpool-mash", "case", "delivered", "t")


def _hold_a_read_transaction(path: Path, seconds: float, held: threading.Event) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        con.execute("SELECT count(*) FROM receipts").fetchone()
        held.set()
        time.sleep(seconds)
        con.execute("COMMIT")
    finally:
        con.close()


def test_a_reader_holding_the_store_never_blocks_the_audit_writer(tmp_path: Path) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    assert store.write_receipts([receipt(0)]) == 1
    held = threading.Event()
    # Longer than SQLite's default 5 s busy timeout: what killed the ingester thread.
    reader = threading.Thread(
        target=_hold_a_read_transaction, args=(tmp_path / "audit.db", 6.0, held)
    )
    reader.start()
    assert held.wait(10)
    started = time.monotonic()
    assert store.write_receipts([receipt(i) for i in range(1, 50)]) == 49
    assert time.monotonic() - started < 2.0, "the writer waited for the reader"
    reader.join()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM receipts")).scalar() == 50
    store.close()


def test_the_rollback_journal_would_have_failed(tmp_path: Path) -> None:
    """The same contention without WAL: the failure this module's fix removes (so the test
    above can fail), and the error the ingester's loop now retries instead of dying."""
    path = tmp_path / "plain.db"
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.5})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE receipts (id TEXT)"))
    held = threading.Event()
    reader = threading.Thread(target=_hold_a_read_transaction, args=(path, 2.0, held))
    reader.start()
    assert held.wait(10)
    with pytest.raises(OperationalError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO receipts VALUES ('x')"))
    reader.join()
    assert store_busy(caught.value)
    assert not store_busy(ValueError("database is locked"))  # by code, not by message


def test_only_file_backed_sqlite_is_switched_to_wal(tmp_path: Path) -> None:
    engine = shared_sqlite(create_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    memory = shared_sqlite(create_engine("sqlite://"))
    with memory.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "memory"
