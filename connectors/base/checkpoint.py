"""Checkpoints that survive restarts: one small SQLite file per connector.

A source records how far it got (a file's content hash and rows done, a watermark) only
after the events up to there are acknowledged by the broker, so a crash replays from the
last checkpoint and never skips. Replayed rows keep their event ids (derived from the row's
key), and every hub stage is idempotent on them, so a replay never duplicates a disclosure.
SQLite with synchronous=FULL makes each checkpoint durable before the call returns.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    content_hash  TEXT PRIMARY KEY,
    file_name     TEXT NOT NULL,
    status        TEXT NOT NULL,      -- 'in-progress' | 'done' | 'rejected'
    rows_done     INTEGER NOT NULL,
    updated_at    TEXT NOT NULL
);
"""


class Checkpoints:
    """Key/value checkpoints plus the files a drop folder has seen."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def get(self, name: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM checkpoints WHERE name = ?", (name,)
            ).fetchone()
        return json.loads(row[0]) if row else default

    def set(self, name: str, value: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "value = excluded.value, updated_at = excluded.updated_at",
                (name, json.dumps(value, sort_keys=True), _now()),
            )

    def file_state(self, content_hash: str) -> tuple[str, int] | None:
        """``(status, rows_done)`` of a file seen before, by content."""
        with self._lock:
            row = self._db.execute(
                "SELECT status, rows_done FROM files WHERE content_hash = ?", (content_hash,)
            ).fetchone()
        return (str(row[0]), int(row[1])) if row else None

    def file_progress(self, content_hash: str, name: str, status: str, rows_done: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?) ON CONFLICT(content_hash) DO UPDATE SET "
                "status = excluded.status, rows_done = excluded.rows_done, "
                "updated_at = excluded.updated_at",
                (content_hash, name, status, rows_done, _now()),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()
