"""Promise (issue 18): a file export sink keeps no line past its agreement's retention: the
line leaves its file (rewritten whole or not at all), the notice lines (tombstones) stay,
and each erasure is receipted once, through an outbox that survives a crash between the
erase and the broker's acknowledgement. Real files and ledger; the clock is injected."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.sinks import file_export
from connectors.sinks.file_export import FileExportWriter
from connectors.sinks.retention import RetentionTimer, parse_period
from tests.connectors.conftest import Stream
from tests.connectors.sinks.helpers import (
    T0,
    A,
    B,
    Broker,
    C,
    Clock,
    Crash,
    hourly,
    retraction,
    share,
)

IOM = Stream("liverpool-mash", "iom-nominal-update", "police-iom@v2")
PERIODS = {"police-liverpool-mash": parse_period("P2Y"), "police-iom": parse_period("P6Y")}


def lines(folder: Path, fmt: str = "jsonl") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(folder.glob(f"*.{fmt}")):
        if fmt == "jsonl":
            rows = [json.loads(x) for x in p.read_text().splitlines()]
        else:
            rows = list(csv.DictReader(p.open(newline="")))
        out |= {str(r["disclosure_id"]): r for r in rows}
    return out


def exported(tmp_path: Path, clock: Clock, fmt: str = "jsonl") -> FileExportWriter:
    """A writer with, delivered by ``clock``: A (MASH, P2Y) at T0, C at T0 and its retraction
    ten days later, B (IOM, P6Y) at T0, and A's revision 2 four hundred days on."""
    w = FileExportWriter(tmp_path, "liverpool-mash", "mash-files", fmt, clock=clock)
    clock.now = T0
    w.write([share("d-a1", A), share("d-c1", C), share("d-b1", B, stream=IOM)])
    clock.now = T0 + timedelta(days=10)
    w.write([retraction("n-c1", C)])
    clock.now = T0 + timedelta(days=400)
    w.write([share("d-a2", A, revision=2)])
    return w


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_lines_past_retention_leave_the_files_and_are_receipted_once(
    tmp_path: Path, fmt: str
) -> None:
    clock = Clock()
    w = exported(tmp_path, clock, fmt)
    folder = tmp_path / "liverpool-mash"
    enforcer = w.retention_enforcer("liverpool-mash", PERIODS, clock=clock)
    clock.now = T0 + timedelta(days=2 * 366)  # past P2Y for the T0 lines, not for IOM's P6Y
    run = enforcer.run()
    # d-c1 was erased by its retraction (no personal data left) and is still a disclosure
    # line: it goes too, as the SQL sink deletes its erased rows; the notice line stays.
    assert sorted(run.erased) == ["d-a1", "d-c1"]
    held = lines(folder, fmt)
    assert set(held) == {"d-b1", "n-c1", "d-a2"}
    assert held["n-c1"]["kind"] == "notice" and held["n-c1"]["state"] == "tombstone"
    text = "".join(p.read_text() for p in folder.glob(f"*.{fmt}"))
    assert f"{A}-r1" not in text and not list(folder.glob("*.tmp"))
    receipts = {r.disclosure_id: r for r in run.receipts}
    assert all(r.status == "erased" and r.receipt_id == f"{d}:erased" for d, r in receipts.items())
    assert all(run.run_id in (r.reason or "") for r in receipts.values())
    assert "police-liverpool-mash retention P2Y" in (receipts["d-a1"].reason or "")
    assert sorted(r.receipt_id for r in enforcer.pending()) == ["d-a1:erased", "d-c1:erased"]

    assert enforcer.run().erased == (), "nothing erased twice"
    clock.now = T0 + timedelta(days=400 + 2 * 366)  # A's revision 2 now; IOM keeps B
    assert enforcer.run().erased == ("d-a2",)
    clock.now = T0 + timedelta(days=6 * 366)
    assert enforcer.run().erased == ("d-b1",)
    assert set(lines(folder, fmt)) == {"n-c1"}
    # A restart: an erased disclosure redelivered is not written again (same first time).
    w.close()
    w = FileExportWriter(tmp_path, "liverpool-mash", "mash-files", fmt, clock=clock)
    [again] = w.write([share("d-a1", A)])
    assert again.status == "delivered" and datetime.fromisoformat(again.at) == T0
    assert set(lines(folder, fmt)) == {"n-c1"}
    enforcer = w.retention_enforcer("liverpool-mash", PERIODS, clock=clock)
    assert enforcer.run().erased == ()
    assert len(enforcer.pending()) == 4
    enforcer.sent(enforcer.pending())
    assert enforcer.pending() == []
    w.close()


def test_a_file_with_nothing_left_is_removed_and_a_csv_keeps_its_header(tmp_path: Path) -> None:
    clock = Clock()
    w = FileExportWriter(tmp_path, "liverpool-mash", "mash-files", "csv", clock=clock)
    w.write([share("d-a1", A), share("d-b1", B, stream=IOM)])
    enforcer = w.retention_enforcer("liverpool-mash", PERIODS, clock=clock)
    clock.now = T0 + timedelta(days=3 * 366)
    assert enforcer.run().erased == ("d-a1",)
    folder = tmp_path / "liverpool-mash"
    names = sorted(p.name for p in folder.glob("*.csv"))
    assert names == ["2026-01-05-iom-nominal-update.csv"], "the emptied day file is gone"
    [row] = list(csv.DictReader((folder / names[0]).open(newline="")))
    assert row["disclosure_id"] == "d-b1" and row["name"] == f"{B}-r1"
    w.close()


def test_a_crash_mid_erasure_leaves_whole_files_and_loses_no_receipt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    w = exported(tmp_path, clock)
    folder = tmp_path / "liverpool-mash"
    before = {p.name: p.read_bytes() for p in folder.glob("*.jsonl")}
    clock.now = T0 + timedelta(days=2 * 366)

    def die(_src: object, _dst: object) -> None:
        raise Crash  # the temporary file is written and fsynced; the rename never happens

    monkeypatch.setattr(file_export.os, "replace", die)
    with pytest.raises(Crash):
        w.retention_enforcer("liverpool-mash", PERIODS, clock=clock).run()
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.glob("*.jsonl")} == before, "the old files"
    assert list(folder.glob("*.tmp")), "a temporary file is left, and never read as an export"

    broker = Broker()

    def restart() -> RetentionTimer:
        writer = FileExportWriter(tmp_path, "liverpool-mash", "mash-files", clock=clock)
        return hourly(writer.retention_enforcer("liverpool-mash", PERIODS, clock=clock), clock)

    timer = restart()
    timer.tick(broker)  # the interrupted erasure is finished first; then the broker refuses
    assert set(lines(folder)) == {"d-b1", "n-c1", "d-a2"} and timer.failures == 1
    assert timer.runs[-1].erased == (), "finished, not erased again under a new run"
    timer = restart()  # the process dies again before the broker is back
    broker.down = False
    timer.tick(broker)
    assert broker.ids() == ["d-a1:erased", "d-c1:erased"]
    clock.now += timedelta(hours=2)
    timer.tick(broker)
    assert len(broker.sent) == 2, "each erasure receipted once"


def test_a_failed_rewrite_fails_the_run_not_the_sink_and_is_finished_later(
    tmp_path: Path,
) -> None:
    clock = Clock()
    w = exported(tmp_path, clock)
    folder = tmp_path / "liverpool-mash"
    timer = hourly(w.retention_enforcer("liverpool-mash", PERIODS, clock=clock), clock)
    clock.now = T0 + timedelta(days=2 * 366)
    # A real filesystem failure: the temporary file's name is taken by a folder.
    [day] = [p for p in folder.glob("*.jsonl") if p.name.startswith("2026-01-05")]
    blocker = day.with_name(day.name + ".tmp")
    blocker.mkdir()
    broker = Broker(down=False)
    timer.tick(broker)
    assert timer.failures == 1 and broker.sent == [] and "d-a1" in lines(folder)
    [(_key, d)] = [(k, v) for k, v in lines(folder).items() if k == "d-b1"]
    assert d["record"]["name"] == f"{B}-r1", "deliveries and other lines untouched"
    blocker.rmdir()
    clock.now += timedelta(minutes=2)
    timer.tick(broker)
    assert broker.ids() == ["d-a1:erased", "d-c1:erased"]
    assert set(lines(folder)) == {"d-b1", "n-c1", "d-a2"}
