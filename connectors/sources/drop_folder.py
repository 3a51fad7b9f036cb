"""A drop folder: a case system exports CSV or JSON-lines files, this source publishes them.

When a file is read (the "complete file" rule):
  * names starting with ``.`` or ending in ``.part``, ``.tmp``, ``.partial`` or ``~`` are
    never read: write the export under such a name and rename it into place when complete
    (a rename within one file system is atomic);
  * any other file matching a route is read only once its size and modification time have
    stayed the same for ``settle_seconds`` across two scans, so an export written in place
    is not read half-way.

Files are streamed, never read whole: one pass over the bytes (1 MiB at a time) computes
the SHA-256 of the content and checks the text decodes, then a second pass over the same
open file reads, maps and publishes row by row, so memory stays flat whatever the file's
size (bench/backfill.py measures it on a 1,000,000-row export). A file whose content was
already processed is a duplicate and is moved to ``rejected/`` unread. Rows are published
signed, one Merkle-tree signature per produce batch (connectors/base/publisher.py); every
``batch_rows`` rows the source waits for the broker's acknowledgement and then checkpoints
``(content hash, rows done)``, so a restart resumes mid-file: a graceful stop checkpoints
what was acknowledged and the restart publishes no row twice; after a crash the rows since
the last checkpoint are replayed with their event ids (derived from the row's key columns)
and the hub deduplicates them.

A finished file moves to ``processed/`` with ``<file>.report.json`` (rows read, published,
rejected by reason) and, when some rows were rejected, ``<file>.rejects.csv`` (row number,
line, reason code, reason, then the original cells). A file that cannot be read at all
(undecodable, or a required column missing from the header) moves to ``rejected/`` with its
report. A bad row never stops the rest of the file.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import hashlib
import io
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from connectors.base.config import DropFolderSourceConfig as DropFolderConfig
from connectors.base.config import FileRoute
from connectors.base.errors import (
    DuplicateFile,
    MalformedInput,
    MissingColumn,
    RecordRejected,
)
from connectors.base.mapping import Mapper, coerce_event
from connectors.base.plugins import BuildContext, register_source
from connectors.base.source import SourceContext

log = logging.getLogger(__name__)
_IGNORED_SUFFIXES = (".part", ".tmp", ".partial", "~")
# A JSON line longer than the largest event the broker takes (1 MB) cannot be published.
MAX_LINE_CHARS = 1_000_000


@dataclass
class FileReport:
    file: str
    event_type: str
    content_hash: str
    started_at: str
    rows_read: int = 0
    published: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    status: str = "processed"
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    finished_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class DropFolderSource:
    def __init__(self, config: DropFolderConfig, ctx: SourceContext) -> None:
        self.name = ctx.name
        self.config = config
        self.ctx = ctx
        self.inbox = config.inbox
        self.processed = config.processed or config.inbox.parent / "processed"
        self.rejected = config.rejected or config.inbox.parent / "rejected"
        for folder in (self.inbox, self.processed, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)
        self._mappers = {
            i: Mapper(ctx.event_type(r.event_type), ctx.partner, r.mapping)
            for i, r in enumerate(config.files)
            if r.mapping is not None
        }
        for r in config.files:
            ctx.event_type(r.event_type)  # fail at start-up on an unknown type
        self._observed: dict[str, tuple[int, int, float]] = {}
        self.reports: list[FileReport] = []

    # -- the loop

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.scan(stop)
            self.ctx.metrics.progress()
            stop.wait(self.config.poll_seconds)

    def scan(self, stop: threading.Event | None = None) -> int:
        """Process every file that is ready; returns how many were finished."""
        stop = stop or threading.Event()
        done = 0
        for path in sorted(self.inbox.iterdir(), key=lambda p: p.name):
            if stop.is_set():
                break
            route = self.route(path)
            if route is None or not self._ready(path):
                continue
            if self._process(path, route, stop):
                done += 1
        return done

    def route(self, path: Path) -> tuple[int, FileRoute] | None:
        """The route (index, route) that reads ``path``, or None if it is not read."""
        if not path.is_file() or path.name.startswith(".") or path.name.endswith(_IGNORED_SUFFIXES):
            return None
        for i, route in enumerate(self.config.files):
            if fnmatch.fnmatch(path.name, route.pattern):
                return i, route
        return None

    def _ready(self, path: Path) -> bool:
        """The file has not changed for ``settle_seconds`` (see the module docs)."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        now = time.monotonic()
        seen = self._observed.get(path.name)
        current = (st.st_size, st.st_mtime_ns)
        if seen is None or seen[:2] != current:
            self._observed[path.name] = (*current, now)
            return self.config.settle_seconds == 0
        return now - seen[2] >= self.config.settle_seconds

    # -- one file

    def _process(self, path: Path, indexed: tuple[int, FileRoute], stop: threading.Event) -> bool:
        index, route = indexed
        # One open file for both passes: a rename over ``path`` meanwhile cannot swap the
        # content between the hash that names the checkpoint and the rows published.
        with path.open("rb") as fh:
            st = os.fstat(fh.fileno())
            identity = (st.st_dev, st.st_ino)
            digest, unreadable = fingerprint(fh, route.encoding)
            report = FileReport(path.name, route.event_type, digest, _now())
            state = self.ctx.checkpoints.file_state(digest)
            if state is not None and state[0] in ("done", "rejected"):
                duplicate = DuplicateFile("a file with the same content was already processed")
                fh.close()
                self._reject_file(path, report, duplicate)
                return True
            try:
                if unreadable is not None:
                    raise MalformedInput(unreadable)
                rows, warnings = read_rows(fh, route, self._mappers.get(index))
            except RecordRejected as exc:
                fh.close()
                self._reject_file(path, report, exc)
                self.ctx.checkpoints.file_progress(digest, path.name, "rejected", 0)
                return True
            report.warnings += warnings
            rows_done = state[1] if state is not None else 0
            self._trim_pending(digest, rows_done)
            if rows_done:
                log.info("%s: resuming %s after row %d", self.name, path.name, rows_done)
            last_row = self._publish_rows(path.name, digest, rows, (index, route), rows_done, stop)
        if last_row is None:
            return False  # stopped mid-file, checkpointed: the next run resumes there
        self.ctx.flush(stop)
        self._finish(path, report, self._pending(digest), (last_row, identity))
        self.ctx.checkpoints.file_progress(digest, path.name, "done", last_row)
        return True

    def _publish_rows(
        self,
        name: str,
        digest: str,
        rows: Iterator[tuple[int, int, list[str] | str, Any]],
        indexed: tuple[int, FileRoute],
        rows_done: int,
        stop: threading.Event,
    ) -> int | None:
        """Map and publish the rows after ``rows_done``, checkpointing every ``batch_rows``;
        the last row number, or None when ``stop`` came first (after a checkpoint)."""
        index, route = indexed
        slug = route.event_type
        mapper = self._mappers.get(index)
        event_type = self.ctx.event_type(slug)
        batch_rows = self.config.batch_rows
        publish = self.ctx.publish
        pending = self._pending(digest)
        since_checkpoint = 0
        last_row = rows_done
        for row_no, line, cells, record in rows:
            if row_no <= rows_done:
                continue  # acknowledged before the restart: never published twice
            if stop.is_set():
                # Graceful stop mid-file: everything so far acknowledged and checkpointed.
                self.ctx.read(since_checkpoint)
                self._checkpoint(digest, name, last_row)
                return None
            try:
                if isinstance(record, RecordRejected):
                    raise record
                event = (
                    mapper.map(record)
                    if mapper is not None
                    else coerce_event(event_type, record, self.ctx.partner)
                )
                publish(slug, event)
            except RecordRejected as exc:
                where = {"file": name, "row": row_no, "line": line, "field": exc.field}
                self.ctx.reject(where, exc)
                with pending.open("a", encoding="utf-8") as out:
                    entry = {"row": row_no, "line": line, "code": exc.code, "reason": str(exc)}
                    out.write(json.dumps(entry | {"cells": cells}) + "\n")
            last_row = row_no
            since_checkpoint += 1
            if since_checkpoint >= batch_rows:
                self.ctx.read(since_checkpoint)  # counted per batch: a metric update costs
                self._checkpoint(digest, name, last_row)
                since_checkpoint = 0
        self.ctx.read(since_checkpoint)
        return last_row

    def _pending(self, digest: str) -> Path:
        """Where a file's rejected rows wait (across restarts) for its report."""
        folder = self.ctx.state_dir / "files"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{digest}.rejects.jsonl"

    def _checkpoint(self, digest: str, name: str, rows_done: int) -> None:
        self.ctx.flush()
        self.ctx.checkpoints.file_progress(digest, name, "in-progress", rows_done)

    # -- reports

    def _finish(
        self, path: Path, report: FileReport, pending: Path, read: tuple[int, tuple[int, int]]
    ) -> None:
        rows, identity = read
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target = _unused(self.processed, stamp, path.name)
        rejects_csv = self.processed / f"{target.name}.rejects.csv"
        rejected = 0
        if pending.exists():
            # Streamed, in row order: a file of a million bad rows is reported in flat memory
            # (each row is there once: a resume trims what it will replay, _trim_pending).
            with (
                pending.open(encoding="utf-8") as src,
                rejects_csv.open("w", newline="", encoding="utf-8") as fh,
            ):
                writer = csv.writer(fh)
                writer.writerow(["row", "line", "code", "reason", "original"])
                for raw in src:
                    entry = json.loads(raw)
                    cells = entry["cells"]
                    writer.writerow(
                        [entry["row"], entry["line"], entry["code"], entry["reason"]]
                        + (cells if isinstance(cells, list) else [cells])
                    )
                    report.rejected[entry["code"]] = report.rejected.get(entry["code"], 0) + 1
                    rows = max(rows, entry["row"])
                    rejected += 1
            if not rejected:
                rejects_csv.unlink()
        report.rows_read = rows
        report.published = rows - rejected
        report.finished_at = _now()
        self._file_away(path, target, report, identity)
        pending.unlink(missing_ok=True)
        self.reports.append(report)
        log.info("%s: %s processed, %d rejected rows", self.name, path.name, rejected)

    def _file_away(
        self, path: Path, target: Path, report: FileReport, identity: tuple[int, int]
    ) -> None:
        """Move the file read to ``target`` with its report, unless another file took its
        name while it was read (a new export renamed over it): that one was not read, so
        it stays in the inbox for the next scan."""
        try:
            st = path.stat()
            replaced = (st.st_dev, st.st_ino) != identity
        except FileNotFoundError:
            replaced = True
        if replaced:
            report.warnings.append(
                "the file was replaced or removed while it was read: what was read is "
                "reported here; a new file under its name stays in the inbox"
            )
        self._write_report(self.processed / f"{target.name}.report.json", report)
        if not replaced:
            shutil.move(path, target)

    def _trim_pending(self, digest: str, rows_done: int) -> None:
        """Keep the rejected rows up to the checkpoint: the rows after it are read again
        (and rejected again) on resume, and must be reported once. A line cut short by a
        crash is dropped with them."""
        pending = self._pending(digest)
        if not pending.exists():
            return
        if rows_done == 0:
            pending.unlink()
            return
        kept = pending.with_name(pending.name + ".part")
        with pending.open(encoding="utf-8") as src, kept.open("w", encoding="utf-8") as out:
            for raw in src:
                try:
                    row = json.loads(raw)["row"]
                except (ValueError, KeyError, TypeError):
                    continue
                if row <= rows_done:
                    out.write(raw)
        kept.replace(pending)

    def _reject_file(self, path: Path, report: FileReport, error: RecordRejected) -> None:
        self.ctx.reject({"file": path.name}, error)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target = _unused(self.rejected, stamp, path.name)
        report.status, report.reason, report.finished_at = "rejected", str(error), _now()
        report.rejected = {error.code: 1}
        self._write_report(self.rejected / f"{target.name}.report.json", report)
        shutil.move(path, target)
        self.reports.append(report)

    @staticmethod
    def _write_report(path: Path, report: FileReport) -> None:
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(report.as_dict(), indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(path)

    def close(self) -> None:
        self.ctx.close()


def _unused(folder: Path, stamp: str, name: str) -> Path:
    """``folder/<stamp>-<name>``, with a counter after the stamp when that file (or its
    report) exists: two exports of one name filed in the same second must not overwrite
    each other."""
    target, n = folder / f"{stamp}-{name}", 1
    while target.exists() or target.with_name(target.name + ".report.json").exists():
        n += 1
        target = folder / f"{stamp}.{n}-{name}"
    return target


def _now() -> str:
    return datetime.now(UTC).isoformat()


def fingerprint(fh: BinaryIO, encoding: str, chunk: int = 1 << 20) -> tuple[str, str | None]:
    """The SHA-256 (hex) of a file's content and, when it is not ``encoding`` text, why not,
    in one pass of ``chunk`` bytes at a time; the file is left at its start."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, problem = 0, None
    while block := fh.read(chunk):
        digest.update(block)
        if problem is None:
            problem = _undecodable(decoder, block, offset, encoding, final=False)
        offset += len(block)
    if problem is None:
        problem = _undecodable(decoder, b"", offset, encoding, final=True)
    fh.seek(0)
    return digest.hexdigest(), problem


def _undecodable(
    decoder: codecs.IncrementalDecoder, block: bytes, offset: int, encoding: str, *, final: bool
) -> str | None:
    carried = len(decoder.getstate()[0])  # bytes of a character split across blocks
    try:
        decoder.decode(block, final)
    except UnicodeDecodeError as exc:
        return f"file is not {encoding} text (byte {offset - carried + exc.start}); export as UTF-8"
    return None


def read_rows(
    source: bytes | BinaryIO, route: FileRoute, mapper: Mapper | None
) -> tuple[Iterator[tuple[int, int, list[str] | str, Any]], list[str]]:
    """Rows of a file as (row number, line number, original cells, record or the reason it
    is unreadable), plus warnings about the file. Raises for a file unreadable as a whole.

    ``source`` is read as a stream (the rows come as they are read); bytes are accepted
    for small samples. A stream should have passed :func:`fingerprint` (which names the
    byte where the text stops decoding); a decoding error met here rejects the file."""
    binary = io.BytesIO(source) if isinstance(source, bytes) else source
    if isinstance(source, bytes):
        _, problem = fingerprint(binary, route.encoding)
        if problem is not None:
            raise MalformedInput(problem)
    # newline="" for CSV (the reader handles quoted line breaks); universal for JSON lines.
    text = io.TextIOWrapper(
        binary, encoding=route.encoding, newline="" if route.format == "csv" else None
    )
    if route.format == "jsonl":
        return _json_rows(text), []
    if mapper is None:
        raise MalformedInput("a CSV route needs a mapping")
    reader = csv.reader(text, delimiter=route.delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise MalformedInput("file is empty (no header row)") from None
    except csv.Error as exc:
        raise MalformedInput(f"header row is not valid CSV: {exc}") from None
    except UnicodeDecodeError:
        raise MalformedInput(f"file is not {route.encoding} text; export as UTF-8") from None
    missing = sorted(mapper.required_columns() - set(header))
    if missing:
        raise MissingColumn(f"required column(s) missing from the header: {', '.join(missing)}")
    warnings = []
    absent = sorted(mapper.columns() - set(header))
    if absent:
        warnings.append(f"optional column(s) not in the file, left empty: {', '.join(absent)}")
    return _csv_rows(reader, header, mapper.columns()), warnings


def _csv_rows(
    reader: Any, header: list[str], wanted: set[str]
) -> Iterator[tuple[int, int, list[str] | str, Any]]:
    row_no = 0
    width = len(header)
    # Only the mapped columns: the record is built per row, so unmapped cells cost nothing.
    picks = [(name, i) for i, name in enumerate(header) if name in wanted]
    absent = dict.fromkeys(wanted - set(header))
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row_no += 1
            yield row_no, line, [], MalformedInput(f"row is not valid CSV: {exc}")
            continue
        if not cells or cells == [""]:
            continue  # blank lines are not rows
        row_no += 1
        if len(cells) != width:
            err = MalformedInput(f"row has {len(cells)} fields, the header has {width}")
            yield row_no, line, cells, err
            continue
        record: dict[str, Any] = {name: cells[i] for name, i in picks}
        if absent:
            record.update(absent)
        yield row_no, line, cells, record


def _json_rows(text: io.TextIOBase) -> Iterator[tuple[int, int, list[str] | str, Any]]:
    row_no, line = 0, 0
    while raw := text.readline(MAX_LINE_CHARS + 1):
        line += 1
        if len(raw) > MAX_LINE_CHARS and not raw.endswith("\n"):
            # Never held whole: a line as long as the file would cost its size in memory.
            while (rest := text.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass
            row_no += 1
            too_long = MalformedInput(f"line is longer than {MAX_LINE_CHARS} characters")
            yield row_no, line, raw[:200], too_long
            continue
        if not raw.strip():
            continue
        row_no += 1
        raw = raw.rstrip("\n")
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield row_no, line, raw, MalformedInput(f"not valid JSON: {exc.msg}")
            continue
        if not isinstance(record, dict):
            yield row_no, line, raw, MalformedInput("a JSON line must be one object")
            continue
        yield row_no, line, raw, record


@register_source("drop-folder")
def _build(config: DropFolderConfig, build: BuildContext) -> DropFolderSource:
    return DropFolderSource(config, build.partner_context())
