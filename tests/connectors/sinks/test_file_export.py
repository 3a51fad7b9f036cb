"""The daily file export: one file per recipient per day, each disclosure once, and a line
cut short by a crash is dropped at start (it was never receipted)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

from connectors.base.sink import Delivery
from connectors.sinks.file_export import FileExportWriter
from tests.connectors.conftest import Stream

VRP = Stream("merseyside-vrp", "assault-attendance", "nhs-vrp-assaults@v1")


def vrp(i: int) -> Delivery:
    record = {
        "envelope": {"event_id": f"evt-{i}"},
        "weapon": "KNIFE",
        "location": {"borough": "LIVERPOOL", "lsoa": None},
        "factors": ["A", "B"],
    }
    return VRP.delivery(f"dsc-{i}", record, offset=i)


def test_jsonl_is_idempotent_across_restarts(tmp_path: Path) -> None:
    writer = FileExportWriter(tmp_path, "merseyside-vrp", "vrp-files", "jsonl")
    first = writer.write([vrp(1), vrp(2), vrp(1)])
    assert [o.status for o in first] == ["delivered"] * 3
    (path,) = (tmp_path / "merseyside-vrp").glob("*.jsonl")
    assert path.name == f"{datetime.now(UTC):%Y-%m-%d}.jsonl"
    # A crash mid-write leaves half a line; a restart drops it and redelivery writes it whole.
    with path.open("a") as fh:
        fh.write('{"disclosure_id": "dsc-3", "deliv')
    again = FileExportWriter(tmp_path, "merseyside-vrp", "vrp-files", "jsonl")
    outcomes = again.write([vrp(2), vrp(3)])
    assert outcomes[0].at == first[1].at  # already there: the first delivery time
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["disclosure_id"] for line in lines] == ["dsc-1", "dsc-2", "dsc-3"]


def test_csv_flattens_records_with_a_stable_header(tmp_path: Path) -> None:
    writer = FileExportWriter(tmp_path, "merseyside-vrp", "vrp-files", "csv")
    writer.write([vrp(1)])
    FileExportWriter(tmp_path, "merseyside-vrp", "vrp-files", "csv").write([vrp(2), vrp(1)])
    (path,) = (tmp_path / "merseyside-vrp").glob("*.csv")
    assert path.name.endswith("-assault-attendance.csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["disclosure_id"] for r in rows] == ["dsc-1", "dsc-2"]
    assert rows[0]["location.borough"] == "LIVERPOOL" and rows[0]["location.lsoa"] == ""
    assert rows[0]["factors"] == "A;B" and rows[0]["agreement"] == "nhs-vrp-assaults@v1"
