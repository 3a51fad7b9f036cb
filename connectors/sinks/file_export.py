"""File export for recipient systems that only take files: one file per recipient per day.

``<directory>/<recipient>/<YYYY-MM-DD>.jsonl`` (one disclosure per line: id, delivery time,
event type, agreement and the record) or, with ``format: csv``,
``<YYYY-MM-DD>-<event type>.csv`` with the record flattened to dotted columns. The day is
the UTC delivery date.

Idempotent on the disclosure id: at start the sink reads the ids already in its files (and
drops a last line cut short by a crash), so a redelivered disclosure is not written twice.
Each batch is fsynced before its receipts are sent.

Corrections and retractions (issue 18, connectors/sinks/revisions.py): each line carries the
provider, event id, revision and ``kind`` (``disclosure`` or ``notice``); the recipient's
importer keeps the highest revision of each event. A revision arriving after a higher one is
logged with an empty record (``state: superseded``), never over the newer one. A retraction
notice is written as its own line, and the personal data of every earlier line of the event,
in every file, is erased in place (record emptied, ``state: erased``; with
``on_retraction="flag"`` kept and marked ``state: retracted``): the files rewritten whole,
fsynced and renamed over the old ones.

Retention (issue 18, connectors/sinks/retention.py): a line delivered longer ago than its
agreement's retention is removed from its file (the file rewritten to a temporary file,
fsynced and renamed over the old one, so a crash leaves the old or the new file, never half
of one; a file left with no line is removed). Notice lines (tombstones) are kept. The
erasure's receipts go through an outbox in the sink's ledger (connectors/sinks/ledger.py,
``<directory>/.hub/<recipient>.db`` beside the files it describes): written, as an intent,
before the files are changed; finished (the lines removed again, idempotently) before a
receipt may be sent, so a crash between the two neither loses a receipt nor sends one for
lines still there. The ledger also remembers each erased disclosure, so a redelivery of one
is not written again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.base.sink import Delivery, Outcome
from connectors.sinks.ledger import Held, SinkLedger
from connectors.sinks.records import flatten, json_default
from connectors.sinks.retention import Due, Period, RetentionEnforcer, agreement_id
from connectors.sinks.revisions import DELETE, About, about, check_mode
from hub.audit.records import ReceiptRecord
from hub.catalogue.headers import WITHDRAWS
from hub.errors import SinkUnavailable

_FIXED = ["disclosure_id", "delivered_at", "event_id", "event_type", "agreement"]
_REVISION = ["provider", "revision", "kind", "state"]  # issue 18: after _FIXED in new files


class FileExportWriter:
    def __init__(
        self,
        directory: Path,
        recipient: str,
        system: str,
        fmt: str = "jsonl",
        *,
        on_retraction: str = DELETE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ledger: Path | None = None,
    ) -> None:
        self.system = system
        self.format = fmt
        self._clock = clock  # when a line is delivered: its retention runs from then
        self.on_retraction = check_mode(on_retraction)
        # The highest (revision, notice) written per (provider, event id).
        self._top: dict[tuple[str, str], tuple[int, int]] = {}
        self.folder = directory / recipient
        self.folder.mkdir(parents=True, exist_ok=True)
        self._written: dict[str, str] = {}
        self._due: dict[str, Held] = {}  # what the last expired() found, for erase()
        for path in sorted(self.folder.glob(f"*.{fmt}")):
            self._load(path)
        self.ledger = SinkLedger(ledger or directory / ".hub" / f"{recipient}.db")
        for disclosure, at in self.ledger.erased_at_delivery().items():
            self._written.setdefault(disclosure, at)  # erased at retention: never written again

    def _load(self, path: Path) -> None:
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            # A crash cut the last line short: it was never receipted, drop it.
            keep = data[: data.rfind(b"\n") + 1]
            with path.open("r+b") as fh:
                fh.truncate(len(keep))
            data = keep
        for row in self._rows(data.decode("utf-8")):
            self._written[row["disclosure_id"]] = row["delivered_at"]
            if row.get("provider") and row.get("state") != "superseded":
                self._raise((row["provider"], row["event_id"]), _rank_of(row))

    def _rows(self, text: str) -> list[dict[str, Any]]:
        """The lines of one export file, as dicts keyed by column."""
        if self.format == "jsonl":
            return [json.loads(line) for line in text.splitlines()]
        return list(csv.DictReader(io.StringIO(text, newline="")))

    def _raise(self, key: tuple[str, str], rank: tuple[int, int]) -> None:
        if rank > self._top.get(key, (0, 0)):
            self._top[key] = rank

    def write(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        now = self._clock()
        at = now.isoformat()
        batches: dict[Path, list[tuple[list[str] | None, str]]] = {}
        outcomes: list[Outcome] = []
        fresh: dict[str, str] = {}
        notices: list[About] = []
        for d in deliveries:
            if d.disclosure_id in self._written or d.disclosure_id in fresh:
                first = self._written.get(d.disclosure_id) or fresh[d.disclosure_id]
                outcomes.append(Outcome(d.disclosure_id, "delivered", first))
                continue
            what = about(d)
            late = what.rank < self._top.get(what.key, (0, 0)) and not what.notice
            path, header, line = self._line(d, now, at, what, late)
            batches.setdefault(path, []).append((header, line))
            if not late:
                self._raise(what.key, what.rank)
            if what.notice:
                notices.append(what)
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
            if notices:
                self._erase({n.key: n.rank for n in notices})
        except OSError as exc:
            raise SinkUnavailable(f"{self.system}: cannot write export: {exc.strerror}") from exc
        self._written.update(fresh)
        return outcomes

    def _erase(self, withdrawn: dict[tuple[str, str], tuple[int, int]]) -> None:
        """Every line of a withdrawn event ranked below its notice loses its personal data
        (or is flagged), in every file; each changed file replaced atomically."""
        state = "erased" if self.on_retraction == DELETE else "retracted"
        for path in sorted(self.folder.glob(f"*.{self.format}")):
            text = path.read_text(encoding="utf-8")
            if not any(event_id in text for _p, event_id in withdrawn):
                continue  # cheap: most files never held the event
            rows = self._rows(text)
            changed = False
            for row in rows:
                top = withdrawn.get((str(row.get("provider") or ""), str(row["event_id"])))
                if top is None or row.get("kind") == "notice" or _rank_of(row) >= top:
                    continue
                if row.get("state") in ("erased", state):
                    continue
                changed = True
                row["state"] = state
                if state == "erased":
                    _empty(row, self.format)
            if changed:
                _replace(path, rows, self.format, _header_of(path))

    def _line(
        self, d: Delivery, now: datetime, at: str, what: About, late: bool
    ) -> tuple[Path, list[str] | None, str]:
        withdraws = d.headers.get(WITHDRAWS)
        meta: dict[str, Any] = {
            "disclosure_id": d.disclosure_id,
            "delivered_at": at,
            "event_id": what.event_id or d.event_id,
            "event_type": d.event_type,
            "agreement": d.agreement,
            "provider": what.provider,
            "revision": what.revision,
            "kind": "notice" if what.notice else "disclosure",
            "state": "superseded" if late else ("tombstone" if what.notice else "current"),
        }
        record = {} if late else d.record  # a late older revision never lands over a newer
        if self.format == "jsonl":
            extra = {"withdraws": withdraws.decode()} if withdraws else {}
            line = json.dumps(
                meta | extra | {"record": record}, default=json_default, sort_keys=True
            )
            return self.folder / f"{now:%Y-%m-%d}.jsonl", None, line + "\n"
        flat = flatten(record)
        fixed = _FIXED + _REVISION
        header = fixed + list(flat)
        kind = "notice" if what.notice else d.event_type
        path = self.folder / f"{now:%Y-%m-%d}-{kind}.csv"
        existing = _header_of(path)
        if existing is not None and existing != header:
            # The recipient schema changed during the day (a new agreement version).
            digest = hashlib.sha256(",".join(header).encode()).hexdigest()[:8]
            path = path.with_name(f"{path.stem}-{digest}.csv")
        return path, header, _csv_line([str(meta[k]) for k in fixed] + list(flat.values()))

    # Retention: the Holding of connectors/sinks/retention.py.

    def retention_enforcer(
        self, recipient: str, periods: Mapping[str, Period], *, clock: Callable[[], datetime]
    ) -> RetentionEnforcer:
        return RetentionEnforcer(self, recipient, periods, clock=clock)

    def _old_files(self, upto: datetime) -> list[Path]:
        """The files that may hold a line delivered before ``upto`` (named by UTC day)."""
        out = []
        for path in sorted(self.folder.glob(f"*.{self.format}")):
            day = _day_of(path)
            if day is None or day <= upto.astimezone(UTC).date() + timedelta(days=1):
                out.append(path)
        return out

    def expired(self, cutoffs: Mapping[str, datetime]) -> list[tuple[str, str]]:
        self._finish(self.ledger.unready())  # an erasure a crash interrupted: done first
        self._due = {}
        if not cutoffs:
            return []
        out = []
        for path in self._old_files(max(cutoffs.values())):
            for row in self._rows(path.read_text(encoding="utf-8")):
                agreement = agreement_id(str(row.get("agreement") or ""))
                cutoff = cutoffs.get(agreement)
                if cutoff is None or row.get("kind") == "notice":
                    continue
                if datetime.fromisoformat(str(row["delivered_at"])) < cutoff:
                    out.append((str(row["disclosure_id"]), agreement))
                    self._due[str(row["disclosure_id"])] = _held_of(row)
        return out

    def erase(
        self, due: Sequence[Due], receipts: Mapping[str, ReceiptRecord]
    ) -> tuple[ReceiptRecord, ...]:
        done = tuple(receipts[d.disclosure_id] for d in due)
        # The intent first: after a crash, pending() finishes the erasure before sending.
        held = [self._due[r.disclosure_id] for r in done]
        self.ledger.erased(done, ready=False, at=self._clock(), held=held)
        self._finish([(h.disclosure_id, h.delivered_at) for h in held])
        return done

    def _finish(self, due: list[tuple[str, datetime]]) -> None:
        """Remove the lines of these (disclosure id, delivered at) from their day files
        (idempotent), then let their receipts go."""
        if not due:
            return
        gone = {d for d, _at in due}
        days = {at.astimezone(UTC).date() + timedelta(days=k) for _d, at in due for k in (-1, 0, 1)}
        try:
            for path in self._day_files(days):
                rows = self._rows(path.read_text(encoding="utf-8"))
                keep = [r for r in rows if r["disclosure_id"] not in gone]
                if len(keep) != len(rows):
                    _replace(path, keep, self.format, _header_of(path))
        except OSError as exc:
            why = f"{self.system}: cannot erase from export: {exc.strerror}"
            raise SinkUnavailable(why) from exc
        self.ledger.ready(gone)

    def _day_files(self, days: set[date]) -> list[Path]:
        """The files of these UTC days (a day either side was added by the caller: a clock
        not on UTC), and any not named by day."""
        out = []
        for path in sorted(self.folder.glob(f"*.{self.format}")):
            day = _day_of(path)
            if day is None or day in days:
                out.append(path)
        return out

    def pending(self) -> list[ReceiptRecord]:
        self._finish(self.ledger.unready())  # an erasure a crash interrupted: done first
        return self.ledger.pending()

    def sent(self, receipts: Iterable[ReceiptRecord]) -> None:
        self.ledger.sent(receipts)

    def count(self) -> int:
        return len(self._written)

    def close(self) -> None:
        self.ledger.close()


def _rank_of(row: dict[str, Any]) -> tuple[int, int]:
    return (int(row.get("revision") or 1), 1 if row.get("kind") == "notice" else 0)


def _empty(row: dict[str, Any], fmt: str) -> None:
    if fmt == "jsonl":
        row["record"] = {}
        row.pop("withdraws", None)
        return
    for name in row:
        if name not in _FIXED and name not in _REVISION:
            row[name] = ""


def _day_of(path: Path) -> date | None:
    try:
        return date.fromisoformat(path.name[:10])
    except ValueError:
        return None  # not named by the sink: looked inside


def _held_of(row: dict[str, Any]) -> Held:
    return Held(
        str(row["disclosure_id"]),
        str(row.get("provider") or ""),
        str(row.get("event_id") or ""),
        str(row.get("event_type") or ""),
        int(row.get("revision") or 1),
        row.get("kind") == "notice",
        str(row.get("agreement") or ""),
        datetime.fromisoformat(str(row["delivered_at"])),
    )


def _replace(
    path: Path, rows: list[dict[str, Any]], fmt: str, header: list[str] | None = None
) -> None:
    """``path`` now holds ``rows``, or is gone if none: whole or not at all (a temporary
    file, fsynced, renamed over it; the folder fsynced so the rename survives a crash)."""
    if not rows:
        path.unlink()
        _sync_dir(path.parent)
        return
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        if fmt == "jsonl":
            fh.writelines(json.dumps(r, default=json_default, sort_keys=True) + "\n" for r in rows)
        else:
            names = header or list(rows[0])
            fh.write(_csv_line(names))
            fh.writelines(_csv_line([str(r.get(n) or "") for n in names]) for r in rows)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _sync_dir(path.parent)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _csv_line(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def _header_of(path: Path) -> list[str] | None:
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), None)
