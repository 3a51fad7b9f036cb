"""File export for recipient systems that only take files: one file per recipient per day.

``<directory>/<recipient>/<YYYY-MM-DD>.jsonl`` (one disclosure per line: id, delivery time,
event type, agreement and the record) or, with ``format: csv``,
``<YYYY-MM-DD>-<event type>.csv`` with the record flattened to dotted columns. The day is
the UTC delivery date.

Idempotent on the disclosure id: at start the sink reads the ids already in its files (and
drops a last line cut short by a crash), so a redelivered disclosure is not written twice.
Each batch is fsynced before its receipts are sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.base.sink import Delivery, Outcome
from connectors.sinks.records import flatten, json_default
from hub.errors import SinkUnavailable

_FIXED = ["disclosure_id", "delivered_at", "event_id", "event_type", "agreement"]


class FileExportWriter:
    def __init__(self, directory: Path, recipient: str, system: str, fmt: str = "jsonl") -> None:
        self.system = system
        self.format = fmt
        self.folder = directory / recipient
        self.folder.mkdir(parents=True, exist_ok=True)
        self._written: dict[str, str] = {}
        for path in sorted(self.folder.glob(f"*.{fmt}")):
            self._load(path)

    def _load(self, path: Path) -> None:
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            # A crash cut the last line short: it was never receipted, drop it.
            keep = data[: data.rfind(b"\n") + 1]
            with path.open("r+b") as fh:
                fh.truncate(len(keep))
            data = keep
        text = data.decode("utf-8")
        if self.format == "jsonl":
            for line in text.splitlines():
                entry = json.loads(line)
                self._written[entry["disclosure_id"]] = entry["delivered_at"]
        else:
            for row in csv.DictReader(io.StringIO(text, newline="")):
                self._written[row["disclosure_id"]] = row["delivered_at"]

    def write(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        now = datetime.now(UTC)
        at = now.isoformat()
        batches: dict[Path, list[tuple[list[str] | None, str]]] = {}
        outcomes: list[Outcome] = []
        fresh: dict[str, str] = {}
        for d in deliveries:
            if d.disclosure_id in self._written or d.disclosure_id in fresh:
                first = self._written.get(d.disclosure_id) or fresh[d.disclosure_id]
                outcomes.append(Outcome(d.disclosure_id, "delivered", first))
                continue
            path, header, line = self._line(d, now, at)
            batches.setdefault(path, []).append((header, line))
            fresh[d.disclosure_id] = at
            outcomes.append(Outcome(d.disclosure_id, "delivered", at))
        try:
            for path, lines in batches.items():
                new = not path.exists()
                with path.open("a", encoding="utf-8", newline="") as fh:
                    header = lines[0][0]
                    if new and header is not None:
                        fh.write(_csv_line(header))
                    fh.write("".join(line for _h, line in lines))
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as exc:
            raise SinkUnavailable(f"{self.system}: cannot write export: {exc.strerror}") from exc
        self._written.update(fresh)
        return outcomes

    def _line(self, d: Delivery, now: datetime, at: str) -> tuple[Path, list[str] | None, str]:
        meta: dict[str, Any] = {
            "disclosure_id": d.disclosure_id,
            "delivered_at": at,
            "event_id": d.event_id,
            "event_type": d.event_type,
            "agreement": d.agreement,
        }
        if self.format == "jsonl":
            line = json.dumps(meta | {"record": d.record}, default=json_default, sort_keys=True)
            return self.folder / f"{now:%Y-%m-%d}.jsonl", None, line + "\n"
        flat = flatten(d.record)
        header = _FIXED + list(flat)
        path = self.folder / f"{now:%Y-%m-%d}-{d.event_type}.csv"
        existing = _header_of(path)
        if existing is not None and existing != header:
            # The recipient schema changed during the day (a new agreement version).
            digest = hashlib.sha256(",".join(header).encode()).hexdigest()[:8]
            path = path.with_name(f"{path.stem}-{digest}.csv")
        return path, header, _csv_line([str(meta[k]) for k in _FIXED] + list(flat.values()))

    def count(self) -> int:
        return len(self._written)

    def close(self) -> None:
        return None


def _csv_line(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def _header_of(path: Path) -> list[str] | None:
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), None)
