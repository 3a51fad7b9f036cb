"""The drop folder reads files as streams: rows come as they are read, the content hash and
the text check take one pass of fixed-size blocks, and what a file holds is reported the
same as when it was read whole. Pure file handling: no broker."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.base.config import FileRoute, parse_config
from connectors.base.errors import MalformedInput, MissingColumn, RecordRejected
from connectors.base.mapping import Mapper
from connectors.base.runtime import build
from connectors.sources.drop_folder import (
    MAX_LINE_CHARS,
    DropFolderSource,
    fingerprint,
    read_rows,
)
from connectors.synthetic.exports import CSV_COLUMNS, police_csv
from connectors.synthetic.police import PoliceFeed
from hub.catalogue import Catalogue
from tests.connectors.conftest import drop_folder_config

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def police_route() -> FileRoute:
    data = yaml.safe_load((ROOT / "connectors/examples/police-concerns-csv.yaml").read_text())
    return FileRoute.model_validate(data["source"]["files"][0])


@pytest.fixture
def police_mapper(catalogue: Catalogue, police_route: FileRoute) -> Mapper:
    et = catalogue.get("safeguarding-concern")
    assert et is not None and police_route.mapping is not None
    return Mapper(et, "merseyside-police", police_route.mapping)


def test_rows_come_before_the_file_is_read_whole(
    tmp_path: Path, police_route: FileRoute, police_mapper: Mapper
) -> None:
    content = police_csv(PoliceFeed(seed=3).events(20_000))
    path = tmp_path / "concerns-big.csv"
    path.write_bytes(content)
    with path.open("rb") as fh:
        rows, warnings = read_rows(fh, police_route, police_mapper)
        first = next(rows)
        # The text layer reads ahead in blocks of kilobytes, never the megabytes of the file.
        assert fh.tell() < 64 * 1024 < len(content) // 50
        assert first[:2] == (1, 2) and isinstance(first[3], dict)
        police_mapper.map(first[3])
        count = 1 + sum(1 for _ in rows)
    assert count == 20_000 and warnings == []


def test_stream_and_bytes_give_the_same_rows(
    tmp_path: Path, police_route: FileRoute, police_mapper: Mapper
) -> None:
    content = police_csv(PoliceFeed(seed=4).events(40), bad_rows=True)
    (tmp_path / "f.csv").write_bytes(content)
    rows, _ = read_rows(content, police_route, police_mapper)
    whole = list(rows)
    with (tmp_path / "f.csv").open("rb") as fh:
        streamed, _ = read_rows(fh, police_route, police_mapper)
        got = [(r, line, cells, str(rec)) for r, line, cells, rec in streamed]
    assert got == [(r, line, cells, str(rec)) for r, line, cells, rec in whole]
    bad = [(r, type(rec).__name__) for r, _, _, rec in whole if isinstance(rec, RecordRejected)]
    assert bad == [(7, "MalformedInput")]  # the row cut short; the others fail in mapping


@pytest.mark.parametrize("block", [1, 2, 3, 7, 1 << 20])
def test_fingerprint_hashes_and_names_the_first_undecodable_byte(block: int) -> None:
    good = "row,é,漢字\n".encode() * 5  # characters split across any block boundary
    assert fingerprint(io.BytesIO(good), "utf-8", block) == (
        hashlib.sha256(good).hexdigest(),
        None,
    )
    bad = good + b"abc\xff" + good
    fh = io.BytesIO(bad)
    digest, problem = fingerprint(fh, "utf-8", block)
    assert digest == hashlib.sha256(bad).hexdigest() and fh.tell() == 0
    assert problem == f"file is not utf-8 text (byte {len(good) + 3}); export as UTF-8"
    cut = good + "é".encode()[:1]  # the file ends inside a character
    assert fingerprint(io.BytesIO(cut), "utf-8", block)[1] == (
        f"file is not utf-8 text (byte {len(good)}); export as UTF-8"
    )


def test_undecodable_bytes_and_missing_columns_reject_the_file(
    police_route: FileRoute, police_mapper: Mapper
) -> None:
    content = police_csv(PoliceFeed(seed=5).events(3))
    with pytest.raises(MalformedInput, match=r"not utf-8-sig text \(byte"):
        read_rows(content + b"\xff\n", police_route, police_mapper)
    header = content.partition(b"\r\n")[0]
    with pytest.raises(MissingColumn, match="Borough"):
        read_rows(header.replace(b",Borough", b"") + b"\r\n", police_route, police_mapper)
    with pytest.raises(MalformedInput, match="empty"):
        read_rows(b"", police_route, police_mapper)


def test_json_lines_stream_with_line_numbers(tmp_path: Path) -> None:
    route = FileRoute(pattern="*.jsonl", event_type="safeguarding-concern", format="jsonl")
    # A JSON string may hold U+2028: it is inside the line, not a line break.
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\n{"b": "x\xe2\x80\xa8y"}\nnot json\n[1]\n')
    with path.open("rb") as fh:
        rows, _ = read_rows(fh, route, None)
        got = [(r, line, rec if isinstance(rec, dict) else str(rec)) for r, line, _, rec in rows]
    assert got[:2] == [(1, 1, {"a": 1}), (2, 3, {"b": "x\u2028y"})]
    assert [(r, line) for r, line, _ in got[2:]] == [(3, 4), (4, 5)]
    assert "not valid JSON" in str(got[2][2]) and "one object" in str(got[3][2])


def test_a_json_line_longer_than_an_event_is_rejected_unread(tmp_path: Path) -> None:
    route = FileRoute(pattern="*.jsonl", event_type="safeguarding-concern", format="jsonl")
    path = tmp_path / "x.jsonl"
    huge = b'{"a": "' + b"x" * (MAX_LINE_CHARS + 10) + b'"}\n'
    path.write_bytes(b'{"a": 1}\n' + huge + b'{"b": 2}\n')
    with path.open("rb") as fh:
        rows, _ = read_rows(fh, route, None)
        got = [
            (r, line, len(cells), rec if isinstance(rec, dict) else str(rec))
            for r, line, cells, rec in rows
        ]
    assert got == [
        (1, 1, 8, {"a": 1}),
        (2, 2, 200, f"line is longer than {MAX_LINE_CHARS} characters"),
        (3, 3, 8, {"b": 2}),
    ]


def test_a_file_renamed_over_the_one_being_read_stays_for_the_next_scan(tmp_path: Path) -> None:
    """The export job renames a new file into place while the old one is read: the old one's
    rows are reported, the new one is not filed away unread but read at the next scan."""
    config = parse_config(drop_folder_config(tmp_path))
    env = {"HUB_BOOTSTRAP_SERVERS": "127.0.0.1:9", "HUB_SCHEMA_REGISTRY_URL": "http://127.0.0.1:9"}
    source = build(config, env)  # every row below is rejected: nothing reaches a broker
    assert isinstance(source, DropFolderSource)
    header = ",".join(CSV_COLUMNS).encode()
    cut = b"\r\nMP-1,02/11/2026 10:00,only,four cells"
    (source.inbox / "concerns-1.csv").write_bytes(header + cut * 3)
    reject, renamed = source.ctx.reject, []

    def export_job_renames_mid_read(where: dict[str, Any], error: RecordRejected) -> Any:
        new = source.inbox / "concerns-1.csv.part"
        if where.get("row") == 2 and not renamed:
            renamed.append(new)
            new.write_bytes(header + cut * 5)
            new.replace(source.inbox / "concerns-1.csv")
        return reject(where, error)

    source.ctx.reject = export_job_renames_mid_read  # type: ignore[method-assign]
    assert source.scan() == 1
    [first] = [json.loads(p.read_text()) for p in source.processed.glob("*.report.json")]
    assert first["rows_read"] == 3 and first["rejected"] == {"malformed": 3}
    assert "replaced or removed while it was read" in first["warnings"][0]
    assert [p.name for p in source.inbox.iterdir()] == ["concerns-1.csv"]
    assert source.scan() == 1  # the new file, read in full
    source.close()
    assert not any(source.inbox.iterdir())
    reports = [json.loads(p.read_text()) for p in source.processed.glob("*.report.json")]
    assert sorted(r["rows_read"] for r in reports) == [3, 5]
