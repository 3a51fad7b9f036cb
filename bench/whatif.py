"""What-if at scale: ``hub agreements whatif`` over N recorded events, as a user runs it.

The bench's ``whatif_eps`` (bench/stages.py) times decode + decide alone. This times the
whole command: reading the recorded events, re-deciding them under a draft, comparing with
the baseline and summarising per recipient, in a child process, once against the
agreements in force (``--baseline agreements``) and once against an audit store holding
the decisions the hub made (``--baseline audit``).

Setup (not timed):

- **the recorded topic**: N synthetic police safeguarding concerns (``PoliceFeed``; their
  event times spread over 1 January 2026 onwards, 90 s apart, so 1,000,000 span the
  reference agreements' years), encoded as the publisher encodes them (the Confluent wire
  format, the schema registered with a registry server) and written to a file as
  ``bench/stages.py`` writes one (the embedded broker's memory storage stalls past about
  700,000 records). ``hub agreements whatif --topic-file`` reads it through the processor's
  decoding (``TopicFileSource``).
- **the audit**: each event read back through that same source and decided once with the
  processor's compiled path (``compiled.decide`` at the event's time, under the agreements
  on disk); each decision made into the processor's audit record (``AuditRecord.of_decision``
  with the legal basis, gateways, the plan's audit fields and output topic when shared, the
  content digest and event time) and written with the audit store's own writer
  (``AuditStore.write_decisions``: chained, idempotent), 5,000 events' decisions a
  transaction. Left empty: the subject tokens (hub-keyed; the what-if never reads them).
- **the draft**: police-msn v2 (the reference agreement bench/stages.py drafts), which also
  shares domestic-abuse concerns and stops sending the borough: a change on every event the
  network receives, so the comparison does its full work.

Measured per run: wall-clock from start to exit, CPU (user + system) of the child from
``wait4`` (its rusage: exact, whatever it did between samples), its peak RSS (VmHWM from
/proc, sampled every 0.1 s once it has exec'd), events/s and the
seconds for 1,000,000 at that rate, and the load average before and after.

Usage: ``.venv/bin/python -m bench.whatif [--events 1000000] [--workdir DIR] [--json]``;
``--workdir`` keeps the topic file and audit for the next run (built again when N
differs). ``--profile`` runs each under py-spy (``PYSPY``) and writes a speedscope file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from hub.audit.store import AuditStore

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
PYSPY = Path("/tmp/spyenv/bin/py-spy")
DEFAULT_EVENTS = 1_000_000
DRAFT_OF = "police-msn"  # bench/stages.draft_of's choice for police safeguarding concerns
FIRST = datetime(2026, 1, 1, tzinfo=UTC)
SPACING = timedelta(seconds=90)
AUDIT_CHUNK = 5000  # events whose decisions go in one audit transaction

KEYS = (
    "whatif_cli_events",
    "whatif_cli_eps",
    "whatif_cli_1m_seconds",
    "whatif_cli_cpu_s",
    "whatif_cli_rss_mb",
    "whatif_cli_audit_eps",
    "whatif_cli_audit_1m_seconds",
    "whatif_cli_audit_cpu_s",
    "whatif_cli_audit_rss_mb",
    "whatif_audit_rows",
)


def write_draft(path: Path) -> Path:
    """police-msn v2 as a draft file: domestic abuse too, and no borough."""
    data = yaml.safe_load((ROOT / "partnership/agreements" / DRAFT_OF / "v1.yaml").read_text())
    data.update(
        version=2,
        status="draft",
        supersedes=1,
        change_note="Add domestic abuse concerns; stop sending the borough.",
        condition='event.concern_category in ["CCE", "CSE", "COUNTY_LINES", "MODERN_SLAVERY", '
        '"DOMESTIC_ABUSE"]',
        fields=[f for f in data["fields"] if f["id"] != "borough"],
        approval={},
    )
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _events(n: int, seed: int) -> Iterator[dict[str, Any]]:
    """Police concerns whose event times run from FIRST, SPACING apart."""
    from connectors.synthetic.police import PoliceFeed

    feed = PoliceFeed(seed=seed)
    for i in range(n):
        event = feed.next_event()
        env = event["envelope"]
        lag = env["recorded_at"] - env["occurred_at"]
        env["occurred_at"] = FIRST + i * SPACING
        env["recorded_at"] = env["occurred_at"] + lag
        yield event


def record_topic(path: Path, n: int, registry_url: str, seed: int = 2026) -> str:
    """N events, encoded as the publisher encodes them, into a topic file; its topic."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from bench.stages import _LEN
    from connectors.base.publisher import WireEncoder
    from connectors.synthetic.police import EVENT_TYPE, PARTNER
    from hub.catalogue.schemas import load_catalogue
    from hub.catalogue.topics import partner_topic
    from hub.config import Settings

    concern = load_catalogue(Settings().schemas_dir).get(EVENT_TYPE)
    assert concern is not None
    topic = partner_topic(PARTNER, EVENT_TYPE)
    encode = WireEncoder(SchemaRegistryClient({"url": registry_url}), concern, topic)
    part = path.with_suffix(".part")
    with part.open("wb") as fh:
        for event in _events(n, seed):
            value = encode(event)
            fh.write(_LEN.pack(len(value)))
            fh.write(value)
    part.replace(path)
    return topic


def build_audit(audit_url: str, path: Path, topic: str, registry_url: str) -> int:
    """Decide every recorded event once as the processor does and write the decisions with
    the audit store's writer; the rows written."""
    from hub.agreements.loader import load_agreements
    from hub.audit.store import AuditStore
    from hub.catalogue.schemas import load_catalogue
    from hub.config import Settings
    from hub.console.whatif import TopicFileSource

    settings = Settings()
    agreements = load_agreements(settings.partnership_dir / "agreements")
    source = TopicFileSource(path, topic, registry_url, load_catalogue(settings.schemas_dir))
    store = AuditStore(audit_url)
    _bulk_load(store)
    decide = _Decider(agreements, topic)
    rows, batch = 0, []
    try:
        for offset, item in enumerate(source.read([topic], FIRST, FIRST, 1 << 62)):
            batch += decide(item, offset)
            if offset % AUDIT_CHUNK == AUDIT_CHUNK - 1:
                rows += store.write_decisions(batch)
                batch = []
        rows += store.write_decisions(batch)
    finally:
        store.close()
    return rows


def _bulk_load(store: AuditStore) -> None:
    """This loader's connections only: a page cache that holds the indexes (a million events'
    decisions go into random places of five indexes; SQLite's default 2 MB cache made each
    insert a read from disk, slower as the store grew) and no fsync per transaction (the
    store is built again if this is cut short). What the rows hold is the writer's."""
    from sqlalchemy import event

    @event.listens_for(store.engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA cache_size = -2000000")  # KiB: up to 2 GB
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.close()

    store.engine.dispose()  # the upgrade's pooled connection opened without them


class _Decider:
    """One recorded event's audit records, as ``Processor._route`` makes them."""

    def __init__(self, agreements: list[Any], topic: str) -> None:
        from hub.policy.engine import PolicyEngine

        self._engine = PolicyEngine(agreements)
        self._topic = topic
        self._basis = {
            (a.id, a.version): (a.legal_basis.summary(), a.legal_basis.gateways) for a in agreements
        }

    def __call__(self, item: Any, offset: int) -> list[Any]:
        from hub.audit.records import AuditRecord
        from hub.catalogue import share_topic
        from hub.policy import compiled
        from hub.processor.corrections import content_for
        from hub.processor.ledger import content_digest

        when = item.occurred
        digest = content_digest(item.event)
        content = content_for(digest, 1)  # every recorded event is a first revision
        decided_at = (when + timedelta(minutes=5)).isoformat()  # decided soon after
        out = []
        event, event_type, provider = item.event, item.event_type, item.provider
        for decision in compiled.decide(self._engine, event, event_type, provider, when):
            d = decision.with_content(content)
            shared = d.shared and d.plan is not None
            basis, gateways = self._basis.get((d.agreement_id, d.agreement_version), (None, ()))
            out.append(
                AuditRecord.of_decision(
                    d,
                    legal_basis=basis,
                    gateways=gateways,
                    decided_at=decided_at,
                    instance="bench-whatif",
                    source=(self._topic, 0, offset),
                    fields=d.plan.audit_fields() if shared and d.plan else {},
                    output_topic=share_topic(d.recipient, d.event_type) if shared else None,
                    content_digest=digest,
                    revision=1,
                    occurred_at=when.isoformat(),
                )
            )
        return out


@dataclass
class Timed:
    wall_s: float
    cpu_s: float
    rss_mb: float
    exit_code: int
    result: dict[str, Any]
    stderr_tail: str


def timed(cmd: list[str], env: dict[str, str], out_dir: Path, root: Path = ROOT) -> Timed:
    """Run ``cmd``; its wall-clock and CPU (the child's rusage), its peak RSS (VmHWM from
    /proc, sampled: the rusage's maximum counts the parent's pages the child held before
    its exec) and its JSON."""
    from bench.cpu import command_line, status_mb

    own = " ".join(cmd)
    out, err = out_dir / "stdout.json", out_dir / "stderr.txt"
    peak = 0.0
    with out.open("wb") as fo, err.open("wb") as fe:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=fo, stderr=fe)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if command_line(proc.pid).strip() == own:  # exec'd: its own memory, not ours
                peak = max(peak, status_mb(proc.pid, "VmHWM"))
            time.sleep(0.1)
        wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    text = out.read_text().strip().splitlines()
    tail = " | ".join(err.read_text().strip().splitlines()[-3:])
    return Timed(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        rss_mb=peak,
        exit_code=proc.returncode,
        result=json.loads(text[-1]) if proc.returncode == 0 and text else {},
        stderr_tail=tail,
    )


def whatif_command(draft: Path, topic_file: Path, topic: str, registry_url: str) -> list[str]:
    return [
        sys.executable, "-m", "hub.cli.main", "agreements", "whatif", str(draft),
        "--topic-file", str(topic_file), "--topic", topic, "--registry-url", registry_url,
        "--json",
    ]  # fmt: skip


def _prepared(work: Path, n: int, registry_url: str) -> tuple[Path, str, str, int]:
    """The topic file, its topic, the audit URL and its rows: kept from an earlier run with
    the same N in ``work``, else built (the registry store is kept with them, so the schema
    ids in the file still resolve)."""
    from connectors.synthetic.police import EVENT_TYPE, PARTNER
    from hub.catalogue.topics import partner_topic

    path, db, manifest = work / "recorded-topic.bin", work / "audit.db", work / "manifest.json"
    audit_url = f"sqlite:///{db}"
    if manifest.exists():
        known = json.loads(manifest.read_text())
        if known.get("events") == n and path.exists() and db.exists():
            return path, partner_topic(PARTNER, EVENT_TYPE), audit_url, int(known["rows"])
    for stale in (path, db, manifest):
        stale.unlink(missing_ok=True)
    say(f"recording {n:,} events to {path} ...")
    started = time.monotonic()
    topic = record_topic(path, n, registry_url)
    say(f"  {time.monotonic() - started:.0f}s; deciding them once into the audit {db} ...")
    started = time.monotonic()
    rows = build_audit(audit_url, path, topic, registry_url)
    say(f"  {rows:,} decisions written in {time.monotonic() - started:.0f}s")
    manifest.write_text(json.dumps({"events": n, "rows": rows}))
    return path, topic, audit_url, rows


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _figures(prefix: str, t: Timed, n: int) -> dict[str, Any]:
    if t.exit_code != 0:
        raise RuntimeError(f"{prefix}: exit {t.exit_code}: {t.stderr_tail}")
    read = int(t.result["events_read"]) + int(t.result["outside"])
    if read != n:
        raise RuntimeError(f"{prefix}: read {read:,} events of {n:,}")
    return {
        f"{prefix}_eps": round(n / t.wall_s, 1),
        f"{prefix}_1m_seconds": round(t.wall_s * 1_000_000 / n, 1),
        f"{prefix}_cpu_s": round(t.cpu_s, 1),
        f"{prefix}_rss_mb": round(t.rss_mb, 1),
        f"{prefix}_compared": int(t.result["compared"]),
        f"{prefix}_changed": bool(t.result["changed"]),
    }


def run(
    events: int = DEFAULT_EVENTS,
    workdir: Path | None = None,
    profile: bool = False,
    root: Path = ROOT,
) -> dict[str, Any]:
    """Set up (or reuse) N recorded events and their audit, then time the command against
    each baseline; the figures as a dict (keys in ``KEYS`` and a few more). ``root`` is the
    checkout whose command is timed (another one compares before and after a change)."""
    from hub.registry import RegistryServer, SchemaStore

    with tempfile.TemporaryDirectory(prefix="bench-whatif-") as tmp_name:
        work = workdir or Path(tmp_name)
        work.mkdir(parents=True, exist_ok=True)
        store = SchemaStore(f"sqlite:///{work / 'registry.db'}")
        with RegistryServer(store) as registry:
            path, topic, audit_url, rows = _prepared(work, events, registry.url)
            draft = write_draft(work / "police-msn-draft.yaml")
            # A data dir of its own: the command's settings never touch the user's.
            env = os.environ | {"HUB_DATA_DIR": str(work / "data"), "HUB_TRACING": "none"}
            cmd = whatif_command(draft, path, topic, registry.url)
            load_before = [round(x, 2) for x in os.getloadavg()]
            got: dict[str, Any] = {"whatif_cli_events": events, "whatif_audit_rows": rows}
            for prefix, extra in (
                ("whatif_cli", ["--baseline", "agreements"]),
                ("whatif_cli_audit", ["--baseline", "audit", "--audit-url", audit_url]),
            ):
                say(f"{prefix}: hub agreements whatif {' '.join(extra)} over {events:,} ...")
                argv = [*cmd, *extra]
                if profile:
                    speedscope = work / f"{prefix}.speedscope.json"
                    argv = [str(PYSPY), "record", "-o", str(speedscope), "--format",
                            "speedscope", "--", *argv]  # fmt: skip
                t = timed(argv, env, work, root)
                got |= _figures(prefix, t, events)
                say(f"  {t.wall_s:.1f}s wall, {t.cpu_s:.1f}s CPU, {t.rss_mb:.0f} MB")
            got["load_average"] = [load_before, [round(x, 2) for x in os.getloadavg()]]
    return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the setup here")
    parser.add_argument("--profile", action="store_true", help=f"under py-spy ({PYSPY})")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to time")
    parser.add_argument("--json", action="store_true", help="one JSON line only")
    args = parser.parse_args(argv)
    if args.profile and not shutil.which(str(PYSPY)):
        parser.error(f"--profile: {PYSPY} not found")
    result = run(args.events, args.workdir, args.profile, args.root.resolve())
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:32} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
