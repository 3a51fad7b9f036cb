"""Issue 18 at the file export sink: lines carry provider, event id, revision and kind; a
late older revision never lands over a newer one (logged empty, ``superseded``); a
retraction notice erases the personal data of the event's earlier lines in every file (or
flags them), and the memory of what is held survives a restart."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from connectors.sinks.file_export import FileExportWriter
from tests.connectors.sinks.test_push_corrections import EVENT, notice, share


def lines(folder: Path) -> list[dict[str, object]]:
    return [
        json.loads(x) for p in sorted(folder.glob("*.jsonl")) for x in p.read_text().splitlines()
    ]


@pytest.mark.parametrize("mode", ["delete", "flag"])
def test_jsonl_updates_late_revisions_and_retractions(tmp_path: Path, mode: str) -> None:
    writer = FileExportWriter(tmp_path, "liverpool-mash", "mash", on_retraction=mode)
    writer.write([share(2, "d2", "corrected")])
    writer.write([share(1, "d1", "original")])  # late
    by_id = {x["disclosure_id"]: x for x in lines(tmp_path / "liverpool-mash")}
    assert by_id["d1"]["state"] == "superseded" and by_id["d1"]["record"] == {}
    assert by_id["d2"]["record"]["name"] == "corrected" and by_id["d2"]["revision"] == 2
    assert by_id["d2"]["withdraws"] == "d1"
    # After a restart the writer still knows revision 2 is held.
    writer = FileExportWriter(tmp_path, "liverpool-mash", "mash", on_retraction=mode)
    [again] = writer.write([share(1, "d1b", "original")])
    assert again.status == "delivered"
    [done] = writer.write([notice(2)])
    assert done.status == "delivered"
    by_id = {x["disclosure_id"]: x for x in lines(tmp_path / "liverpool-mash")}
    assert by_id["n1"]["kind"] == "notice" and by_id["n1"]["state"] == "tombstone"
    assert by_id["n1"]["record"]["reason_code"] == "WRONG_PERSON"
    if mode == "delete":
        assert by_id["d2"]["state"] == "erased" and by_id["d2"]["record"] == {}
        assert (
            "corrected"
            not in (tmp_path / "liverpool-mash")
            .joinpath(next(p.name for p in (tmp_path / "liverpool-mash").glob("*.jsonl")))
            .read_text()
        )
    else:
        assert by_id["d2"]["state"] == "retracted" and by_id["d2"]["record"]["name"] == "corrected"
    # Redelivered notice: nothing changes, same receipt time.
    [twice] = writer.write([notice(2)])
    assert twice.at == done.at


def test_csv_erasure_blanks_the_record_columns(tmp_path: Path) -> None:
    writer = FileExportWriter(tmp_path, "liverpool-mash", "mash", fmt="csv")
    writer.write([share(1, "d1", "original")])
    writer.write([notice(1)])
    rows = [
        r
        for p in sorted((tmp_path / "liverpool-mash").glob("*.csv"))
        for r in csv.DictReader(p.open(newline=""))
    ]
    [shared] = [r for r in rows if r["disclosure_id"] == "d1"]
    assert shared["state"] == "erased" and shared["name"] == "" and shared["event_id"] == EVENT
    assert not any("original" in v for r in rows for v in r.values())
