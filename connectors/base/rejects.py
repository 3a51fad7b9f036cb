"""The reject output: every input a connector could not publish or deliver, with why.

Rejects are appended as JSON lines to ``<state_dir>/rejects/<connector>-<date>.jsonl``
(one object: when, where - file and line, request id, table key or topic offset -, the
stable reason code and the message). Drop folders also write a per-file reject CSV next to
the file's report. The log line for a reject names only the location and the code: the
message can mention field names, never values, and the original row stays in the files,
which live with the partner's own data.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class RejectLog:
    def __init__(self, folder: Path, connector: str) -> None:
        self.folder = folder
        self.connector = connector
        self._lock = threading.Lock()
        self.count = 0

    def path_for(self, when: datetime) -> Path:
        return self.folder / f"{self.connector}-{when:%Y-%m-%d}.jsonl"

    def write(self, *, where: dict[str, Any], code: str, reason: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        entry = {"at": now.isoformat(), "connector": self.connector, **where}
        entry |= {"code": code, "reason": reason}
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self.path_for(now).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
            self.count += 1
        log.warning("%s rejected %s: %s", self.connector, _where(where), code)
        return entry

    def entries(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for path in sorted(self.folder.glob(f"{self.connector}-*.jsonl")):
            out += [json.loads(line) for line in path.read_text().splitlines() if line]
        return out


def _where(where: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(where.items()))
