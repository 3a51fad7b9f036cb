"""The drop folder end to end on the real broker, registry and processor: a police CSV
export becomes signed events, the hub shares what the agreements allow, the MASH's SQL
sink stores each disclosure once and receipts it. Bad input is reported and skipped."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from connectors.base.config import parse_config
from connectors.base.health import ConnectorMetrics
from connectors.base.rejects import RejectLog
from connectors.base.runtime import build
from connectors.base.sink import SinkRunner
from connectors.sinks.sql_upsert import SqlUpsertWriter
from connectors.sources.drop_folder import DropFolderSource
from connectors.synthetic.exports import police_csv
from hub.audit.records import ReceiptRecord
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue import RECEIPTS_TOPIC, partner_topic
from hub.config import Settings
from hub.identity.signing import SIZE_HEADER, verify
from hub.processor.build import partner_keys
from tests.connectors.conftest import (
    Hub,
    csv_event_id,
    drop_folder_config,
    for_mash,
    police_events,
    read_topic,
    wait_for,
)

pytestmark = pytest.mark.integration
TOPIC = partner_topic("merseyside-police", "safeguarding-concern")


def _env(hub_or_broker_bootstrap: str, registry_url: str) -> dict[str, str]:
    return {
        "HUB_BOOTSTRAP_SERVERS": hub_or_broker_bootstrap,
        "HUB_SCHEMA_REGISTRY_URL": registry_url,
    }


def test_csv_export_to_mash_queue_with_receipts_and_bad_input(hub: Hub, tmp_path: Path) -> None:
    events = police_events(160)
    config = parse_config(drop_folder_config(tmp_path, settle_seconds=0.3))
    source = build(config, _env(hub.bootstrap, hub.registry_url))
    assert isinstance(source, DropFolderSource)
    inbox = source.inbox
    good = police_csv(events, bad_rows=True)
    (inbox / "concerns-2026-11-02.csv").write_bytes(good)
    # A second export missing a required column, the first one again under another name,
    # and one still being written (the .part name is never read).
    header, *rows = good.decode().splitlines()
    cols = header.split(",")
    drop = cols.index("Borough")
    broken = [
        ",".join(c for i, c in enumerate(r.split(",")) if i != drop) for r in [header, *rows[:5]]
    ]
    (inbox / "concerns-2026-11-03.csv").write_text("\n".join(broken) + "\n")
    (inbox / "concerns-2026-11-04.csv.part").write_bytes(good[:500])

    # The settle rule: a file seen for the first time is not read yet.
    assert source.scan() == 0
    time.sleep(0.4)
    assert source.scan() == 2
    shutil.copy(
        source.processed / next(p.name for p in source.processed.glob("*-concerns-2026-11-02.csv")),
        inbox / "concerns-again.csv",
    )
    assert source.scan() == 0
    time.sleep(0.4)
    assert source.scan() == 1
    source.close()

    # Reports: one processed file with its rejects, two rejected files, the .part untouched.
    assert sorted(p.name for p in inbox.iterdir()) == ["concerns-2026-11-04.csv.part"]
    report_path = next(source.processed.glob("*-concerns-2026-11-02.csv.report.json"))
    report = json.loads(report_path.read_text())
    assert report["rows_read"] == 163 and report["published"] == 160
    assert report["rejected"] == {"wrong-type": 2, "malformed": 1}
    with next(source.processed.glob("*.rejects.csv")).open() as fh:
        rejects = list(csv.DictReader(fh))
    assert [(r["row"], r["code"]) for r in rejects] == [
        ("5", "wrong-type"),
        ("6", "wrong-type"),
        ("7", "malformed"),
    ]
    rejected = {
        json.loads(p.read_text())["reason"].split(":")[0]
        for p in source.rejected.glob("*.report.json")
    }
    assert rejected == {
        "required column(s) missing from the header",
        "a file with the same content was already processed",
    }
    log = RejectLog(config.state_dir / "rejects", config.name).entries()
    assert Counter(e["code"] for e in log) == {
        "wrong-type": 2,
        "malformed": 1,
        "missing-column": 1,
        "duplicate-file": 1,
    }
    for entry in log:  # where and why, never the person
        assert "file" in entry and "Quillfeather" not in json.dumps(entry)

    # Downstream: exactly the Liverpool children at medium or high risk, once each.
    expected = {csv_event_id(e) for e in events if for_mash(e)}
    writer = SqlUpsertWriter(
        f"sqlite:///{tmp_path / 'mash.db'}", "mash_referrals", "mash-case-system"
    )
    sink = SinkRunner(
        name="liverpool-mash-queue",
        recipient="liverpool-mash",
        writer=writer,
        bootstrap=hub.bootstrap,
        registry_url=hub.registry_url,
        rejects=RejectLog(tmp_path / "sink-rejects", "liverpool-mash-queue"),
        metrics=ConnectorMetrics("liverpool-mash-queue"),
    )
    hub.threads.start(sink.run, "sink")
    wait_for(lambda: sink.counts.receipts >= len(expected), 60, "MASH deliveries")
    time.sleep(1.0)
    rows = writer.rows()
    assert {r["event_id"] for r in rows} == expected
    assert len(rows) == len({r["disclosure_id"] for r in rows}) == len(expected)
    assert all(r["triage_status"] == "NEW" and r["person_name"] for r in rows)
    receipts = [
        ReceiptRecord.from_json(m.value())
        for m in read_topic(hub.bootstrap, RECEIPTS_TOPIC, len(expected))
    ]
    assert {r.disclosure_id for r in receipts} == {r["disclosure_id"] for r in rows}
    for r in receipts:
        assert r.status == "delivered" and r.receipt_id == f"{r.disclosure_id}:delivered"
        assert r.recipient == "liverpool-mash" and r.sink == "mash-case-system"


def test_killed_mid_file_resumes_without_loss(
    broker: EmbeddedBroker, registry_url: str, tmp_path: Path
) -> None:
    """SIGKILL the connector process mid-file, restart it: every row is published, the
    replay is at most one checkpoint batch, and the file is reported once, each bad row
    in it once (a row cut short every tenth line: the replay rejects some again)."""
    ensure_topics(broker.bootstrap, [TOPIC])
    events = police_events(3000, seed=11)
    data = drop_folder_config(tmp_path, batch_rows=100)
    cfg = tmp_path / "police.yaml"
    cfg.write_text(yaml.safe_dump(data))
    inbox = Path(data["source"]["inbox"])
    inbox.mkdir(parents=True)
    lines = police_csv(events).split(b"\r\n")
    for at in range(len(lines) - 10, 1, -10):
        lines.insert(at, b"MP-CUT-SHORT,02/11/2026 10:00,only,four cells")
    (inbox / "concerns-big.csv.part").write_bytes(b"\r\n".join(lines))
    (inbox / "concerns-big.csv.part").rename(inbox / "concerns-big.csv")
    env = os.environ | _env(broker.bootstrap, registry_url)
    cmd = [sys.executable, "-m", "hub.cli.connector", "run", str(cfg)]
    state = Path(data["state_dir"]) / "checkpoint.db"

    def rows_done() -> int:
        if not state.exists():
            return 0
        try:
            with sqlite3.connect(state) as db:
                row = db.execute("SELECT max(rows_done) FROM files").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0] or 0)

    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: rows_done() >= 300, 60, "a few checkpoints")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at = rows_done()
    assert killed_at < 3000, "the kill came too late to test a resume"
    second = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    processed = Path(data["source"]["processed"])
    try:
        wait_for(lambda: any(processed.glob("*.report.json")), 60, "the file to finish")
    finally:
        second.send_signal(signal.SIGTERM)  # graceful: exits 0 after its checkpoint
        assert second.wait(20) == 0, second.stderr.read() if second.stderr else ""
    report = json.loads(next(processed.glob("*.report.json")).read_text())
    bad = len(lines) - 3002  # header and the final empty line
    assert report["rows_read"] == 3000 + bad and report["published"] == 3000
    assert report["rejected"] == {"malformed": bad}
    with next(processed.glob("*.rejects.csv")).open() as fh:
        reported = [int(r["row"]) for r in csv.DictReader(fh)]
    assert len(reported) == len(set(reported)) == bad and reported == sorted(reported)
    records = read_topic(broker.bootstrap, TOPIC, 3000)
    ids = Counter(m.key().decode() for m in records)
    assert set(ids) == {csv_event_id(e) for e in events}
    # A replay covers at most the rows after the last checkpoint (one batch, plus what
    # was queued when the process died); it reuses event ids, so the hub dedups them.
    assert len(records) - 3000 <= 200


def test_stopped_mid_file_resumes_with_every_row_once_batch_signed(
    broker: EmbeddedBroker, registry_url: str, tmp_path: Path
) -> None:
    """A graceful stop in the middle of a large file checkpoints what the broker acknowledged;
    the restarted source publishes exactly the rest: every row once, none twice, each record
    verifiable on its own from its batch's one signature and its Merkle audit path."""
    ensure_topics(broker.bootstrap, [TOPIC])
    events = police_events(6000, seed=12)
    config = parse_config(drop_folder_config(tmp_path, batch_rows=250))
    source = build(config, _env(broker.bootstrap, registry_url))
    assert isinstance(source, DropFolderSource)
    (source.inbox / "concerns-big.csv").write_bytes(police_csv(events))
    stop = threading.Event()
    worker = threading.Thread(target=source.scan, args=(stop,))
    worker.start()
    wait_for(lambda: source.ctx.counts.read >= 1500, 60, "rows to be read")
    stop.set()
    worker.join(30)
    source.close()
    state = source.ctx.checkpoints.path
    with sqlite3.connect(state) as db:
        status, done = db.execute("SELECT status, rows_done FROM files").fetchone()
    assert status == "in-progress" and 1500 <= done < 6000
    assert not any(source.processed.iterdir())  # not finished, not reported yet

    again = build(config, _env(broker.bootstrap, registry_url))
    assert isinstance(again, DropFolderSource)
    assert again.scan() == 1
    again.close()
    assert again.ctx.counts.read == 6000 - done  # resumed after the checkpoint, not before
    report = json.loads(next(again.processed.glob("*.report.json")).read_text())
    assert report["rows_read"] == report["published"] == 6000
    records = read_topic(broker.bootstrap, TOPIC, 6000)
    assert len(records) == 6000  # none twice
    assert {m.key().decode() for m in records} == {csv_event_id(e) for e in events}
    keys = partner_keys(Settings(data_dir=tmp_path / "hub")).public_keys()
    sizes = Counter()
    for m in records:
        headers = m.headers() or []
        assert verify(headers, TOPIC, m.key(), m.value(), keys) == "merseyside-police"
        sizes[dict(headers)[SIZE_HEADER]] += 1
    # Signed per produce batch (the checkpoint seals the batch early), not per record.
    assert sizes.most_common(1)[0][0] == b"250" and b"1" not in sizes
