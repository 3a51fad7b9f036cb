"""The ``dummy`` sink: appends each disclosure once to one JSON-lines file.

For tests and for trying a recipient stream before its real system is connected.
Idempotent like every sink: ids already in the file are not written again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from connectors.base.sink import Delivery, Outcome
from connectors.sinks.records import json_default


class DummyWriter:
    def __init__(self, path: Path, system: str) -> None:
        self.system = system
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._written: dict[str, str] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.endswith("}"):  # a line cut short by a crash is ignored
                    entry = json.loads(line)
                    self._written[entry["disclosure_id"]] = entry["delivered_at"]

    def write(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        at = datetime.now(UTC).isoformat()
        out: list[Outcome] = []
        lines: list[str] = []
        for d in deliveries:
            if d.disclosure_id not in self._written:
                self._written[d.disclosure_id] = at
                entry = {"disclosure_id": d.disclosure_id, "delivered_at": at, "record": d.record}
                lines.append(json.dumps(entry, default=json_default, sort_keys=True))
            out.append(Outcome(d.disclosure_id, "delivered", self._written[d.disclosure_id]))
        if lines:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(
                    "\n" + "\n".join(lines) + "\n"
                    if _needs_newline(self.path)
                    else "\n".join(lines) + "\n"
                )
                fh.flush()
                os.fsync(fh.fileno())
        return out

    def count(self) -> int:
        return len(self._written)

    def close(self) -> None:
        return None


def _needs_newline(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"
