"""Backfill: a partner's N-row CSV export through the drop-folder connector (issue 17).

The police case system's export (``connectors.synthetic.exports.police_csv`` over a seeded
``PoliceFeed``, one unique incident reference a row, written in slices so the generator
never holds the file) is dropped into the inbox of the example connector
``connectors/examples/police-concerns-csv.yaml``, run as deployed: ``python -m
hub.cli.connector run`` in a process of its own, against the embedded broker and schema
registry, signing with a development key (one Ed25519 signature per produce batch).

This process watches the connector from outside, every 0.1 s: rows done from its checkpoint
file (SQLite, read-only), CPU seconds (utime + stime, /proc/<pid>/stat: noise from other
work on a shared machine does not inflate it, as it would wall-clock time) and memory
(VmRSS, VmHWM from /proc/<pid>/status). Reported:

* ``backfill_cpu_us_per_row``: connector CPU per row from its first checkpoint to the file's
  report (steady state: reading, mapping, serialising, signing, producing, checkpoints),
  and ``backfill_cpu_rows_per_s`` = 1e6 / that (rows a second on one core);
* ``backfill_rows_per_s``: rows over wall-clock seconds, same interval;
* ``backfill_cpu_s_total``: all the connector's CPU, start-up and the hashing pass included;
* ``backfill_rss_mb_10pct`` / ``backfill_rss_mb_100pct``: peak RSS (VmHWM) when 10% of the
  rows are checkpointed and at the end; flat means the file is streamed, not held;
* ``backfill_published`` / ``backfill_published_distinct``: records and distinct event ids
  on the partner topic afterwards, read back: both must equal the rows (none lost, none
  twice).

The embedded broker keeps records in memory and has been seen to stall past about 700,000
of them; 1,000,000 rows went through without a stall on 2026-12-05 (1,000,000 records read
back, each once). Should it stall, the run reports the figures up to the stall and the row
it reached (``backfill_stalled_at_row``) instead of hanging; ``--rows 600000`` stays under it.
``backfill_stage_us`` splits the CPU a row costs by step (:func:`stage_us`).

Usage: ``.venv/bin/python bench/backfill.py [--rows N] [--batch-rows N] [--json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from bench.cpu import process_cpu
from connectors.synthetic.exports import police_csv
from connectors.synthetic.police import PoliceFeed
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue.topics import partner_topic
from hub.registry import RegistryServer, SchemaStore

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "connectors" / "examples" / "police-concerns-csv.yaml"
TOPIC = partner_topic("merseyside-police", "safeguarding-concern")
DEFAULT_ROWS = 1_000_000  # issue 17's size; a broker stall is reported, not waited out
SLICE = 10_000
STALL_SECONDS = 120.0  # no checkpoint for this long: the broker (or the connector) stalled


def write_export(path: Path, rows: int, seed: int = 2026) -> int:
    """The police's CSV export of ``rows`` concerns at ``path`` (written under ``.part`` and
    renamed, as a well-behaved export job does); returns its size in bytes."""
    feed = PoliceFeed(seed=seed)
    part = path.with_name(path.name + ".part")
    with part.open("wb") as fh:
        done = 0
        while done < rows:
            n = min(SLICE, rows - done)
            chunk = police_csv(feed.events(n))
            fh.write(chunk if done == 0 else chunk.split(b"\r\n", 1)[1])  # one header
            done += n
    part.replace(path)
    return path.stat().st_size


def connector_config(tmp: Path, batch_rows: int) -> dict[str, Any]:
    """The example connector, pointed at ``tmp`` with a development signing key."""
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    data.pop("hub")
    data.pop("health")
    data["signing"] = {"key_id": "merseyside-police/dev1", "dev_keys_dir": str(tmp / "keys")}
    data["state_dir"] = str(tmp / "state")
    data["source"].update(
        inbox=str(tmp / "inbox"),
        processed=str(tmp / "processed"),
        rejected=str(tmp / "rejected"),
        settle_seconds=0,
        poll_seconds=0.2,
        batch_rows=batch_rows,
    )
    return data


@dataclass
class Watch:
    """What this process saw of the connector process."""

    rows: int
    samples: list[tuple[float, int, float, float]] = field(default_factory=list)
    # (monotonic seconds, rows checkpointed, CPU seconds, VmHWM MB)
    rss_10pct: float = 0.0
    stalled_at: int | None = None  # rows checkpointed when the run stopped moving

    def first_checkpoint(self) -> tuple[float, int, float, float]:
        return next(s for s in self.samples if s[1] > 0)


def _status_mb(pid: int, name: str) -> float:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return float(line.split()[1]) / 1024
    return 0.0


def _rows_done(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT max(rows_done) FROM files").fetchone()
    except sqlite3.Error:
        return 0  # created, or mid-write: the next sample reads it
    return int(row[0] or 0)


def watch(proc: subprocess.Popen[bytes], tmp: Path, rows: int) -> Watch:
    """Sample the connector until its file is reported; raise if it stalls or dies."""
    w = Watch(rows)
    db, processed = tmp / "state" / "checkpoint.db", tmp / "processed"
    last_progress, last_rows = time.monotonic(), -1
    while True:
        # The report is written after the last acknowledgement: read CPU and memory after it.
        finished = any(processed.glob("*.report.json"))
        now, done = time.monotonic(), rows if finished else _rows_done(db)
        sample = (now, done, process_cpu(proc.pid), _status_mb(proc.pid, "VmHWM"))
        w.samples.append(sample)
        if not w.rss_10pct and done >= rows // 10:
            w.rss_10pct = sample[3]
        if finished:
            return w
        if proc.poll() is not None:
            raise RuntimeError(f"connector exited ({proc.returncode}) at row {done}")
        if done != last_rows:
            last_progress, last_rows = now, done
        elif now - last_progress > STALL_SECONDS:
            # The broker's memory storage stalls past ~700,000 records: report the figures
            # up to here, and say where it stopped.
            w.stalled_at = done
            return w
        time.sleep(0.1)


def published(bootstrap: str) -> tuple[int, int]:
    """(records, distinct keys) on the partner topic, read back to the end."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from hub.broker.client_config import consumer_config

    c = Consumer(consumer_config(bootstrap, "bench-backfill-count"))
    try:
        meta = c.list_topics(TOPIC, timeout=10)
        c.assign(
            [TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in meta.topics[TOPIC].partitions]
        )
        total, quiet = 0, time.monotonic()
        keys: set[bytes | None] = set()
        while time.monotonic() - quiet < 3.0:
            batch = [m for m in c.consume(10_000, 0.5) if m.error() is None]
            if batch:
                total += len(batch)
                keys.update(m.key() for m in batch)
                quiet = time.monotonic()
        return total, len(keys)
    finally:
        c.close()


def stage_us(
    path: Path, bootstrap: str, registry_url: str, keys: Path, rows: int
) -> dict[str, float]:
    """CPU microseconds a row of each step of the connector's path, in this process over the
    first ``rows`` rows of the export: each pass does one step more than the one before, and
    a step's cost is the difference. The calling thread's CPU time only (the Python work;
    librdkafka's own threads and the in-process registry are not in it)."""
    from connectors.base.config import FileRoute
    from connectors.base.mapping import Mapper
    from connectors.base.publisher import PartnerPublisher
    from hub.catalogue.schemas import load_catalogue
    from hub.identity.keys import PartnerKeyStore

    route = FileRoute.model_validate(yaml.safe_load(EXAMPLE.read_text())["source"]["files"][0])
    et = load_catalogue(ROOT / "schemas" / "avro").get("safeguarding-concern")
    assert et is not None and route.mapping is not None
    mapper = Mapper(et, "merseyside-police", route.mapping)
    signer = PartnerKeyStore(None, keys).dev_signing_key("merseyside-police")
    publisher = PartnerPublisher(
        partner="merseyside-police",
        event_type=et,
        bootstrap=bootstrap,
        registry_url=registry_url,
        signer=signer,
    )
    steps: dict[str, Any] = {
        "read": lambda record: None,
        "map": mapper.map,
        "serialize": lambda record: publisher.serialize(mapper.map(record)),
        "publish": lambda record: publisher.publish(mapper.map(record)),
    }
    publisher.publish(mapper.map(next(_records(path, route, mapper, 1))))  # registers
    publisher.flush()
    totals: dict[str, float] = {}
    for name, step in steps.items():
        start = time.thread_time()
        for i, record in enumerate(_records(path, route, mapper, rows), 1):
            step(record)
            if i % 500 == 0 and name == "publish":
                publisher.flush()  # as the connector does at each checkpoint
        publisher.flush()
        totals[name] = 1e6 * (time.thread_time() - start) / rows
    publisher.close()
    previous, out = 0.0, {}
    for name, total in totals.items():
        out[name] = round(total - previous, 1)
        previous = total
    out["total"] = round(previous, 1)
    return out


def _records(path: Path, route: Any, mapper: Any, rows: int) -> Any:
    from connectors.sources.drop_folder import read_rows

    with path.open("rb") as fh:
        found, _ = read_rows(fh, route, mapper)
        for row_no, _line, _cells, record in found:
            if row_no > rows:
                return
            yield record


def run(
    rows: int = DEFAULT_ROWS, *, batch_rows: int = 500, seed: int = 2026, stage_rows: int = 20_000
) -> dict[str, Any]:
    """Run the backfill once; the figures as a dict (keys prefixed ``backfill_``)."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp_name,
        EmbeddedBroker() as broker,
        RegistryServer(SchemaStore("sqlite://")) as registry,
    ):
        tmp = Path(tmp_name)
        (tmp / "inbox").mkdir()
        ensure_topics(broker.bootstrap, [TOPIC])
        size = write_export(tmp / "inbox" / "concerns-backfill.csv", rows, seed)
        cfg = tmp / "connector.yaml"
        cfg.write_text(yaml.safe_dump(connector_config(tmp, batch_rows)))
        env = os.environ | {
            "HUB_BOOTSTRAP_SERVERS": broker.bootstrap,
            "HUB_SCHEMA_REGISTRY_URL": registry.url,
        }
        cmd = [sys.executable, "-m", "hub.cli.connector", "run", str(cfg)]
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            w = watch(proc, tmp, rows)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        on_topic = published(broker.bootstrap)
        processed = next((tmp / "processed").glob("*-concerns-backfill.csv"), None)
        export = processed or tmp / "inbox" / "concerns-backfill.csv"
        stages = (
            stage_us(export, broker.bootstrap, registry.url, tmp / "keys", min(stage_rows, rows))
            if stage_rows and w.stalled_at is None
            else {}
        )
    return figures(w, rows, size, on_topic, batch_rows) | {"backfill_stage_us": stages}


def figures(
    w: Watch, rows: int, size: int, on_topic: tuple[int, int], batch_rows: int
) -> dict[str, Any]:
    t0, r0, c0, _ = w.first_checkpoint()
    # The last sample that moved: a stall's idle minutes are not the connector's pace.
    last = w.samples[-1]
    if w.stalled_at is not None:
        last = next(s for s in w.samples if s[1] == w.stalled_at)
    t1, r1, c1, hwm = last
    steady = max(r1 - r0, 1)
    cpu_us = 1e6 * (c1 - c0) / steady
    return {
        "backfill_rows": rows,
        "backfill_file_mb": round(size / 2**20, 1),
        "backfill_batch_rows": batch_rows,
        "backfill_rows_per_s": round(steady / max(t1 - t0, 1e-9)),
        "backfill_cpu_us_per_row": round(cpu_us, 1),
        "backfill_cpu_rows_per_s": round(1e6 / cpu_us) if cpu_us > 0 else None,
        "backfill_cpu_s_total": round(c1, 1),
        "backfill_rss_mb_10pct": round(w.rss_10pct, 1),
        "backfill_rss_mb_100pct": round(hwm, 1),
        "backfill_rss_growth_pct": round(100 * (hwm - w.rss_10pct) / w.rss_10pct, 1)
        if w.rss_10pct
        else None,
        "backfill_published": on_topic[0],
        "backfill_published_distinct": on_topic[1],
        "backfill_stalled_at_row": w.stalled_at,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--batch-rows", type=int, default=500, help="rows per checkpoint")
    parser.add_argument("--json", action="store_true", help="one JSON line only")
    args = parser.parse_args()
    result = run(args.rows, batch_rows=args.batch_rows)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:28} {value}")
    if result["backfill_published"] != args.rows:
        print(f"WARNING: {result['backfill_published']} records on the topic for {args.rows} rows")


if __name__ == "__main__":
    main()
