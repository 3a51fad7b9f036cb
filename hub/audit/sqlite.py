"""SQLite audit stores shared by several processes: write-ahead log and a busy timeout.

The audit store is written by one ingester and read at the same time by the console,
exports, ``hub audit`` queries and tests. In SQLite's default rollback-journal mode a
reader's open transaction blocks the writer's commit and a commit blocks new readers; the
connection gives up after 5 s with ``database is locked``. Under CPU starvation that
happened: the crash test's progress poll failed with it, and a reader holding the store
for 8 s killed the ingester thread of ``hub process --ingest`` (reproduced in
tests/audit/test_sqlite_contention.py), after which the processor ran on with nothing
reaching the audit store: the "processor made no progress" of issue 16.

In WAL mode readers never block the writer nor the writer readers; the busy timeout
remains only for two writers at once (the ingester and, e.g., the console's lockout
table), and is long enough to ride out a starved machine. ``synchronous`` stays FULL: the
audit store is the record of disclosures, so a committed batch must survive a power cut.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

BUSY_TIMEOUT_MS = 30_000
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def shared_sqlite(engine: Engine) -> Engine:
    """Switch a file-backed SQLite engine to WAL with a busy timeout (no-op otherwise)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    return engine


def store_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked"/"busy": another connection holds the store;
    trying again later succeeds. Decided by the error code, not the message."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _BUSY_CODES
