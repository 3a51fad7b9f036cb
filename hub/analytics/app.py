"""The faust-streaming edge of the analytics: partner topics in, alerts, audit and VRP out.

The intake (``hub.analytics.intake``, a confluent-kafka thread) reads the partner topics the
rules and the VRP feed need, verifies and decodes each record as the processor does, and
forwards only pseudonymous observations and VRP cells to an internal one-partition topic.
The ``fold`` agent reads that topic and keeps the state in tables backed by changelog
topics, so a restarted worker resumes with what it knew: a re-read or redelivered message
finds its event already in the state and raises and counts nothing. Alerts are decided
under their agreements, encoded with the recipient's derived schema and audited. A timer
publishes the changed weeks of the VRP tables, suppressed.

faust's worker owns its event loop and signal handlers, so it runs in a process of its own
(``python -m hub.analytics.app``, ``hub analytics run`` or ``hub.analytics.runner``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust  # type: ignore[import-untyped]
from confluent_kafka.schema_registry import SchemaRegistryClient

from hub.analytics.alerts import ALERT_TYPE, AlertGovernor, alert_record, audit_record
from hub.analytics.changelogs import make_equal, read_changelogs
from hub.analytics.config import OBSERVATIONS_TOPIC, VRP_TOPIC, AnalyticsConfig
from hub.analytics.core import Analytics, Intake, week_counts
from hub.analytics.intake import IntakeLoop, source_topics
from hub.analytics.observations import ANALYTICS_DOMAIN
from hub.analytics.rules import load_rules
from hub.analytics.tables import publish, write_feed
from hub.analytics.violence import Cell
from hub.audit.records import DECISION, KIND_HEADER
from hub.catalogue.headers import ALERT_RULE, disclosure_headers
from hub.catalogue.schemas import EventType, load_catalogue
from hub.catalogue.topics import AUDIT_TOPIC
from hub.codec import wire
from hub.codec.schemas import SchemaCache
from hub.config import Settings
from hub.errors import ConfigError
from hub.identity.keys import PartnerKeyStore
from hub.kafka.connection import KafkaConnection, faust_credentials
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.subjects import SUBJECT_DOMAIN
from hub.privacy.transform import Transformer
from hub.telemetry.tracing import ensure_traceparent

log = logging.getLogger("hub.analytics")
RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


class Stats:
    """Counts the runner and the demo read back (``--status`` file, JSON)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.read = 0
        self.skipped = 0
        self.folded = 0
        self.alerts: Counter[str] = Counter()
        self.shared: Counter[str] = Counter()
        self.withheld = 0
        self.aggregates = 0
        self.ready = False  # state restored, agents running
        self.restored: dict[str, int] = {}  # table -> entries, once caught up at start
        self._written = 0.0

    def count_read(self, ok: bool) -> None:
        self.read += 1
        self.skipped += not ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "skipped": self.skipped,
            "folded": self.folded,
            "alerts": dict(sorted(self.alerts.items())),
            "shared": dict(sorted(self.shared.items())),
            "withheld": self.withheld,
            "aggregates": self.aggregates,
            "ready": self.ready,
            "restored": self.restored,
            "pid": os.getpid(),
            "at": time.time(),
        }

    def write(self, force: bool = False) -> None:
        if self.path is None or (not force and time.monotonic() - self._written < 0.3):
            return
        self._written = time.monotonic()
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.as_dict()))
        tmp.replace(self.path)


def credentials(settings: Settings) -> Any:
    """faust's form of ``HUB_KAFKA__*`` (the same settings the other clients use)."""
    return faust_credentials(settings.kafka.client_config())  # validates, reads the password


@dataclass
class _Parts:
    """What the agents use, built before the faust app (none of it knows faust)."""

    alert_type: EventType
    governor: AlertGovernor
    intake: Intake
    analytics: Analytics
    transformer: Transformer
    schemas: SchemaCache
    loop: IntakeLoop


def _parts(
    settings: Settings, cfg: AnalyticsConfig, bootstrap: str, registry_url: str, stats: Stats
) -> _Parts:
    catalogue = load_catalogue(settings.schemas_dir)
    alert_type = catalogue.get(ALERT_TYPE)
    if alert_type is None:
        raise ConfigError(f"the catalogue has no {ALERT_TYPE} event type")
    rules = load_rules(cfg.rules(settings))
    keys = LocalKeyProvider(settings.data_dir / "keys", settings.pseudonym_keys)
    intake = Intake(
        rules, keys.current(ANALYTICS_DOMAIN), keys.current(SUBJECT_DOMAIN), cfg.area_level
    )
    public_keys = PartnerKeyStore(
        settings.partnership_dir / "partner-keys", settings.data_dir / "partner-keys"
    ).public_keys()
    loop = IntakeLoop(
        bootstrap=bootstrap,
        client=settings.kafka.client_config(),
        topics=source_topics(settings, intake.event_types()),
        internal_topic=OBSERVATIONS_TOPIC.format(group=cfg.group),
        intake=intake,
        # Its own cache and registry client: the intake runs on another thread.
        schemas=SchemaCache(SchemaRegistryClient({"url": registry_url}), catalogue),
        public_keys=public_keys,
        group=f"{cfg.group}-intake",
        on_read=stats.count_read,
    )
    return _Parts(
        alert_type=alert_type,
        # The folder, not a list: the governor follows approvals and suspensions as they
        # happen.
        governor=AlertGovernor(settings.partnership_dir / "agreements", alert_type),
        intake=intake,
        analytics=Analytics(rules),
        transformer=Transformer(keys),
        schemas=SchemaCache(SchemaRegistryClient({"url": registry_url}), catalogue),
        loop=loop,
    )


def _faust_app(settings: Settings, cfg: AnalyticsConfig, bootstrap: str) -> Any:
    return faust.App(
        cfg.group,
        # broker and broker_credentials: the runtime kit's connection, security included.
        **KafkaConnection.from_settings(settings, bootstrap).faust_broker(),
        web_enabled=False,
        # JSON for the tables' changelogs; every topic below says raw for itself.
        key_serializer="json",
        value_serializer="json",
        store="memory://",  # state is rebuilt from the changelog topics on start
        # Tansu: a short session timeout, or the first group join takes ~23 s.
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_commit_every=100,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        topic_partitions=1,
        producer_acks=-1,
    )


def build_app(
    settings: Settings,
    cfg: AnalyticsConfig,
    bootstrap: str,
    registry_url: str,
    stats: Stats,
) -> Any:
    parts = _parts(settings, cfg, bootstrap, registry_url, stats)
    app = _faust_app(settings, cfg, bootstrap)
    # One partition: the state of a person must live with every message about them, and
    # the volumes (hundreds of events a day per force) need no more.
    name = OBSERVATIONS_TOPIC.format(group=cfg.group)
    internal = app.topic(name, partitions=1, internal=True, **RAW)

    def table(name: str) -> Any:
        return app.Table(name, default=None, partitions=1)

    names = ("linkage", "alerts-raised", "vrp-counts", "vrp-counted")
    tables = _Tables(*(table(n) for n in names))
    emitter = _AlertEmitter(app, parts, cfg, stats)
    _add_intake(app, parts.loop)
    # The changelog reader goes by the intake's group id (granted; it is assigned, joins none).
    reader = (KafkaConnection.from_settings(settings, bootstrap), f"{cfg.group}-intake")
    _add_fold(app, internal, parts.analytics, tables, emitter, stats, reader)
    _add_weekly_tables(app, settings, cfg, tables, stats)
    return app


@dataclass
class _Tables:
    linkage: Any
    raised: Any
    counts: Any
    counted: Any
    # VRP cells (week, source) changed since they were last published.
    dirty: set[tuple[str, str]] = field(default_factory=set)
    # Set once the tables hold what their changelogs hold (hub/analytics/changelogs.py).
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def by_name(self) -> dict[str, Any]:
        return {
            "linkage": self.linkage,
            "alerts-raised": self.raised,
            "vrp-counts": self.counts,
            "vrp-counted": self.counted,
        }


class _AlertEmitter:
    """Decides each alert under its agreements, shares it encoded with the recipient's
    derived schema, and audits every decision."""

    def __init__(self, app: Any, parts: _Parts, cfg: AnalyticsConfig, stats: Stats) -> None:
        self.app, self.parts, self.cfg, self.stats = app, parts, cfg, stats
        self.audit = app.topic(AUDIT_TOPIC, **RAW)
        self.shares: dict[str, Any] = {}

    async def emit(self, match: Any, source: tuple[str, int, int]) -> None:
        now = datetime.now(UTC)
        record = alert_record(match, now)
        self.stats.alerts[match.rule.id] += 1
        # An alert is a record the hub creates: a trace of its own, named by every decision
        # about it and carried to the recipients (exporter or not, like partner records).
        carry: list[tuple[str, bytes]] = []
        trace_id = ensure_traceparent(carry)
        for d in self.parts.governor.decide(match, record, now):
            out_topic = None
            if d.decision.shared and d.decision.plan is not None:
                out_topic = await self._share(d.decision, record, match, carry)
                self.stats.shared[d.decision.recipient] += 1
            else:
                self.stats.withheld += 1
            row = audit_record(
                d, match, now, instance=self.cfg.instance, source=source, output_topic=out_topic
            )
            row.trace_id = trace_id
            await self.audit.send(
                key=row.decision_id.encode(),
                value=row.to_json(),
                headers=[(KIND_HEADER, DECISION.encode())],
            )

    async def _share(
        self, dec: Any, record: dict[str, Any], match: Any, carry: list[tuple[str, bytes]]
    ) -> str:
        parts = self.parts
        out = parts.schemas.output(dec.plan, parts.alert_type, dec.recipient)
        if out.topic not in self.shares:
            self.shares[out.topic] = self.app.topic(out.topic, **RAW)
        value = parts.transformer.apply(dec.plan, record, parts.alert_type)
        payload = wire.encode(out.schema_id, out.parsed, value)
        disclosure = (dec.disclosure_id or "").encode()
        await self.shares[out.topic].send(
            key=disclosure,
            value=payload,
            headers=[
                *disclosure_headers(
                    dec.disclosure_id or "",
                    event_id=dec.event_id,
                    provider=dec.provider,
                    recipient=dec.recipient,
                    agreement=f"{dec.agreement_id}@v{dec.agreement_version}",
                ),
                (ALERT_RULE, match.rule.ref.encode()),
                *carry,
            ],
        )
        return str(out.topic)


def _add_intake(app: Any, loop: IntakeLoop) -> None:
    @app.task  # type: ignore[untyped-decorator]
    async def take() -> None:
        # Blocking client, own thread: the event loop stays free for the agents.
        thread = threading.Thread(target=loop.run, name="analytics-intake", daemon=True)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.5)
        if loop.error is not None:
            log.error("intake stopped: %s", type(loop.error).__name__)
            await app.crash(loop.error)

    @app.on_before_shutdown.connect  # type: ignore[untyped-decorator]
    async def _stop_intake(_sender: Any, /, *_args: Any, signal: Any, **_kw: Any) -> None:
        loop.stop.set()


def _add_fold(
    app: Any,
    internal: Any,
    analytics: Analytics,
    tables: _Tables,
    emitter: _AlertEmitter,
    stats: Stats,
    reader: tuple[KafkaConnection, str],
) -> None:
    @app.agent(internal)  # type: ignore[untyped-decorator]
    async def fold(stream: Any) -> None:
        # Nothing is folded before the tables hold everything their changelogs hold: a
        # message folded into a half-restored state would count or alert a second time.
        await _catch_up(app, tables, stats, *reader)
        async for value in stream:
            msg = json.loads(value)
            t = tables
            applied = analytics.apply(msg, t.linkage, t.raised, t.counts, t.counted)
            stats.folded += 1
            log.debug(
                "folded %s %s: %d alert(s)%s",
                msg.get("kind"),
                msg.get("event_id") or msg.get("obs", {}).get("event_id"),
                len(applied.matches),
                " (already seen)" if applied.duplicate else "",
            )
            if applied.counted is not None:
                tables.dirty.add((applied.counted.week, applied.counted.source))
            topic, partition, offset = str(msg.get("source", "||-1")).rsplit("|", 2)
            source = (topic, int(partition or -1), int(offset or -1))
            for match in applied.matches:
                await emitter.emit(match, source)
            stats.write()


async def _catch_up(
    app: Any, tables: _Tables, stats: Stats, kafka: KafkaConnection, group: str
) -> None:
    """After faust's restore, each table made to hold exactly what its changelog holds to
    its true end (see hub/analytics/changelogs.py for why faust's restore may stop short)."""
    if tables.ready.is_set():
        return  # the agent restarted (a crash it recovered from): the tables are current
    while True:
        recovery = getattr(app.tables, "recovery", None)  # untyped in faust's TableManagerT
        if recovery is not None and not app.in_recovery and recovery.completed.is_set():
            break
        await asyncio.sleep(0.1)
    named = tables.by_name()
    topics = {t.changelog_topic.get_topic_name(): name for name, t in named.items()}
    states = await asyncio.to_thread(read_changelogs, kafka, list(topics), group)
    for topic, name in topics.items():
        store = named[name].data  # the store itself: a write there goes to no changelog
        restored = len(store)
        changed = make_equal(store, states[topic])
        stats.restored[name] = len(store)
        if changed:
            log.warning(
                "table %s: faust restored %d entries, its changelog holds %d; %d set from "
                "the changelog (the broker reported the changelog's end short)",
                name,
                restored,
                len(store),
                changed,
            )
    log.info(
        "state restored from the changelogs: %s",
        ", ".join(f"{n} {c}" for n, c in stats.restored.items()),
    )
    tables.ready.set()


def _add_weekly_tables(
    app: Any, settings: Settings, cfg: AnalyticsConfig, tables: _Tables, stats: Stats
) -> None:
    vrp = app.topic(VRP_TOPIC.format(recipient=cfg.vrp_recipient), **RAW)
    started = {"restored": False}

    @app.timer(interval=cfg.publish_every)  # type: ignore[untyped-decorator]
    async def publish_weeks() -> None:
        # The timer runs from the start: publishing a half-restored state would show
        # counts that are too low (and nothing would correct them until a week changed).
        if not tables.ready.is_set():
            return
        stats.ready = True
        counts, dirty = tables.counts, tables.dirty
        if not started["restored"]:
            # After a restart every week the restored state holds is published again: the
            # records are keyed by week and source, so a reader keeps the latest.
            dirty.update({(c.week, c.source) for c in map(Cell.from_key, list(counts.keys()))})
            started["restored"] = True
        for week, source in sorted(dirty):
            record = publish(week, source, week_counts(counts, week, source), cfg.threshold)
            await vrp.send(key=f"{week}|{source}".encode(), value=json.dumps(record).encode())
            write_feed(cfg.feed(settings), record)
            stats.aggregates += 1
        dirty.clear()
        stats.write(force=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="run the hub analytics worker (faust)")
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument("--registry", default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--status", type=Path, default=None, help="write counts here (JSON)")
    args = parser.parse_args(argv)
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    bootstrap = args.bootstrap or settings.bootstrap_servers
    registry = args.registry or settings.schema_registry_url
    if not bootstrap or not registry:
        raise SystemExit("set HUB_BOOTSTRAP_SERVERS and HUB_SCHEMA_REGISTRY_URL (or pass both)")
    cfg = AnalyticsConfig()
    logging.basicConfig(level=logging.WARNING)
    # Our own handler: faust's worker sets up logging for its level and would drop ours.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(cfg.log_level.upper())
    stats = Stats(args.status)
    app = build_app(settings, cfg, bootstrap, registry, stats)
    stats.write(force=True)
    # faust parses sys.argv itself: give it only the worker command.
    sys.argv = [sys.argv[0], "worker", "--loglevel", "WARNING"]
    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
