"""Publish to sink row, at a steady rate, with every component in its own process.

The topology a partnership runs: the embedded broker, ``hub process``, one recipient's
sink (``hub connector run``, SQL upsert into a SQLite case-system table) and a partner's
paced, signed publisher are separate processes; only the registry (looked up once per
schema) runs in this one. Each event's clock starts when the publisher sends it (wall
clock, recorded per event id) and stops at the sink row's ``delivered_at`` (the sink's
wall clock when it wrote the row): one machine, one clock.

    python -m bench.sink_latency --rate 50 --seconds 20 [--json]

The first ``--warmup`` seconds are left out (connections, first schema lookups). The
result says how many events reached the sink; percentiles are over those.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
RECIPIENT = "liverpool-mash"
SINK_READY = "running; SIGTERM"
PROCESSOR_READY = "consuming partner topics"


def _percentile(values: Sequence[float], q: float) -> float:
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


class Services:
    """Child processes with their output in files; all stopped (then killed) on close."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs, self.env = logs, env
        self.procs: list[tuple[subprocess.Popen[bytes], IO[bytes], Path]] = []

    def start(self, name: str, args: list[str], ready: str, timeout: float = 120.0) -> None:
        path = self.logs / f"{name}.log"
        out = open(path, "wb")  # noqa: SIM115 - closed in close()
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli.main", *args],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.procs.append((proc, out, path))
        deadline = time.monotonic() + timeout
        while ready not in path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{path.read_text(errors='replace')}")
            time.sleep(0.2)

    def run(self, args: list[str]) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "hub.cli.main", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hub {' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}")

    def close(self) -> None:
        for proc, _out, _path in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, out, _path in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            out.close()


def publish(bootstrap: str, registry: str, data_dir: Path, rate: int, seconds: float) -> Path:
    """The partner: in a child process, so its sends never take the GIL from anything
    measured. Returns the file of send times (event id -> wall-clock ns)."""
    sent = data_dir / "sent.json"
    cmd = [
        *(sys.executable, "-m", "bench.sink_latency", "--publisher"),
        *("--bootstrap", bootstrap, "--registry", registry, "--data-dir", str(data_dir)),
        *("--rate", str(rate), "--seconds", str(seconds), "--sent", str(sent)),
    ]
    subprocess.run(cmd, cwd=ROOT, check=True, timeout=seconds + 300)
    return sent


def publisher_main(args: argparse.Namespace) -> int:
    from bench.processor import publisher_for
    from connectors.synthetic.police import PoliceFeed
    from hub.config import Settings

    settings = Settings(data_dir=Path(args.data_dir))
    publisher = publisher_for(settings, args.bootstrap, args.registry)
    events = PoliceFeed(seed=71).events(int(args.rate * args.seconds))
    sent: dict[str, int] = {}
    start = time.perf_counter()
    for i, event in enumerate(events):
        delay = start + i / args.rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        at = time.time_ns()  # the clock starts before the send, the broker's ack included
        event_id = publisher.publish(event)
        publisher.flush()  # a connector that waits for each event's acknowledgement
        sent[event_id] = at
    publisher.close()
    Path(args.sent).write_text(json.dumps(sent))
    return 0


def sink_rows(db: Path) -> dict[str, float]:
    """event id -> delivered_at (wall-clock seconds) of the rows the sink wrote."""
    import sqlite3

    if not db.exists():
        return {}
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("select event_id, delivered_at from mash_referrals").fetchall()
        except sqlite3.OperationalError:
            return {}
    return {e: datetime.fromisoformat(str(at)).timestamp() for e, at in rows}


def measure(rate: int, seconds: float, warmup: float) -> dict[str, Any]:
    from hub.broker.embedded import EmbeddedBroker
    from hub.registry import RegistryServer, SchemaStore
    from hub.sandbox.layout import Layout, write_sink_config

    with tempfile.TemporaryDirectory(prefix="hub-sink-latency-") as tmp:
        root = Path(tmp)
        for folder in ("logs", "connectors", "sinks"):
            (root / folder).mkdir()
        with (
            EmbeddedBroker() as broker,
            RegistryServer(SchemaStore(f"sqlite:///{root / 'registry.db'}")) as registry,
        ):
            env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_KAFKA__")}
            env.update(
                HUB_DATA_DIR=str(root),
                HUB_BOOTSTRAP_SERVERS=broker.bootstrap,
                HUB_SCHEMA_REGISTRY_URL=registry.url,
                HUB_AUDIT_URL=f"sqlite:///{root / 'audit.db'}",
                PYTHONUNBUFFERED="1",
            )
            services = Services(root / "logs", env)
            try:
                services.run(
                    [
                        *("deploy", "apply", "--no-acls", "--replication-factor", "1"),
                        *("--min-insync-replicas", "1", "--bootstrap", broker.bootstrap),
                        *("--registry-url", registry.url),
                    ]
                )
                services.start("processor", ["process", "--instance", "bench-0"], PROCESSOR_READY)
                config = write_sink_config(Layout(root), RECIPIENT, "mash")
                services.start("sink", ["connector", "run", str(config)], SINK_READY)
                sent_file = publish(broker.bootstrap, registry.url, root, rate, seconds)
                sent = {k: v / 1e9 for k, v in json.loads(sent_file.read_text()).items()}
                db = root / "sinks" / f"{RECIPIENT}.db"
                rows = _drain(db, sent)
            finally:
                services.close()
    first = min(sent.values())
    latencies = sorted(
        (at - sent[e]) * 1000 for e, at in rows.items() if e in sent and sent[e] >= first + warmup
    )
    return {
        "rate": rate,
        "seconds": seconds,
        "published": len(sent),
        "reached_sink": len(rows),
        "samples": len(latencies),
        "p50_ms": round(_percentile(latencies, 0.50), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "p99_ms": round(_percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "load_average": os.getloadavg()[0],
    }


def _drain(db: Path, sent: dict[str, float], quiet: float = 3.0) -> dict[str, float]:
    """The sink's rows once no new one has come for ``quiet`` seconds."""
    rows, last_change, seen = sink_rows(db), time.monotonic(), -1
    while time.monotonic() - last_change < quiet:
        time.sleep(0.5)
        rows = sink_rows(db)
        if len(rows) != seen:
            seen, last_change = len(rows), time.monotonic()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--json", action="store_true")
    # The child's side (the partner's publisher).
    parser.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--registry", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--sent", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.publisher:
        return publisher_main(args)
    result = measure(args.rate, args.seconds, args.warmup)
    from bench.report import emit

    emit(result, args.json, width=14)
    return 0


if __name__ == "__main__":
    sys.exit(main())
