"""Run the hub's main job on embedded defaults, with the whole synthetic partnership.

Embedded broker -> embedded schema registry -> every partner's connector (drop folders and a
web hook) -> processor -> a sink for every recipient (with delivery receipts) -> audit
ingester -> audit store. Each run gets its own folder under ``<data_dir>/runs/`` so the
summary counts one run; development keys persist in ``<data_dir>/keys``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.base.publisher import PartnerPublisher
from connectors.synthetic.police import EVENT_TYPE, PARTNER, PoliceFeed, malformed_records
from hub.analytics.config import AnalyticsConfig
from hub.analytics.runner import AnalyticsRun, run_analytics
from hub.audit.setup import audit_key_store, open_store
from hub.audit.store import AuditStore
from hub.audit.verify import verify_store
from hub.broker.admin import ensure_topics
from hub.broker.embedded import EmbeddedBroker
from hub.catalogue.schemas import load_catalogue
from hub.config import Settings
from hub.demo.corrections import Corrections
from hub.demo.corrections import counts as correction_counts
from hub.demo.partnership import PartnershipRun, partnership_topics, run_partnership
from hub.errors import HubError
from hub.identity.keys import PartnerKeyStore, SigningKey
from hub.processor.build import build_ingester, partner_keys
from hub.registry import RegistryServer, SchemaStore

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
_STOPPED = threading.Event()
_STOPPED.set()  # the analytics run after the partnership: read everything, drain, stop
DEMO_PUBLISH_EVERY = 1.0  # seconds between the analytics' VRP publications in the demo


@dataclass(frozen=True)
class DemoOptions:
    events: int = 600
    seed: int = 7
    timeout: float = 180.0
    # Called after the run while the broker and registry are still up (the CLI serves the
    # console from here until Ctrl-C, so its what-if can read the partner topics).
    hold: Callable[[DemoRuntime], None] | None = None


@dataclass(frozen=True)
class DemoRuntime:
    settings: Settings
    bootstrap: str
    registry_url: str
    summary: DemoSummary


@dataclass
class DemoSummary:
    published: int  # records on partner topics: connector events plus the hostile ones
    valid_events: int  # events the partners' connectors published
    malformed_sent: int  # hostile records sent straight to Kafka, bypassing connectors
    shared: dict[str, int]
    withheld: int
    deadlettered: int
    deadletter_reasons: dict[str, int]
    decisions: int
    audit_records: int
    delivered: dict[str, int]
    receipts: int = 0  # delivery receipts in the audit store
    published_by_partner: dict[str, int] = field(default_factory=dict)
    connector_rejects: dict[str, int] = field(default_factory=dict)  # refused by connectors
    alerts: dict[str, int] = field(default_factory=dict)  # linkage alerts raised, by rule
    alerts_shared: dict[str, int] = field(default_factory=dict)  # alert disclosures, by recipient
    alerts_withheld: int = 0  # alert decisions withheld (no agreement for that recipient)
    vrp_tables: int = 0  # weekly VRP aggregate tables published
    # Issue 18 (hub/demo/corrections.py): updates shared, retraction notices, their receipts.
    corrections: int = 0
    retractions: int = 0
    retraction_receipts: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    audit_intact: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "published_by_partner": self.published_by_partner,
            "valid_events": self.valid_events,
            "malformed_sent": self.malformed_sent,
            "connector_rejects": self.connector_rejects,
            "alerts": self.alerts,
            "alerts_shared": self.alerts_shared,
            "alerts_withheld": self.alerts_withheld,
            "vrp_tables": self.vrp_tables,
            "corrections": self.corrections,
            "retractions": self.retractions,
            "retraction_receipts": self.retraction_receipts,
            "shared": self.shared,
            "withheld": self.withheld,
            "deadlettered": self.deadlettered,
            "deadletter_reasons": self.deadletter_reasons,
            "decisions": self.decisions,
            "audit_records": self.audit_records,
            "delivered": self.delivered,
            "receipts": self.receipts,
            "outputs": self.outputs,
            "seconds": round(self.seconds, 2),
            "audit_intact": self.audit_intact,
        }


def _noop(_stage: str, _done: int, _total: int) -> None:
    return None


def run_demo(settings: Settings, options: DemoOptions, progress: Progress = _noop) -> DemoSummary:
    """The whole synthetic partnership through its connectors, the processor, every
    recipient's sink and the audit; then (``options.hold``) whatever the caller wants to do
    while the broker is still up."""
    started = time.monotonic()
    run_dir = settings.data_dir / "runs" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = settings.model_copy(
        update={"audit_url": f"sqlite:///{(run_dir / 'audit.db').resolve()}"}
    )
    with (
        EmbeddedBroker(log_path=run_dir / "broker.log") as broker,
        RegistryServer(SchemaStore(f"sqlite:///{(run_dir / 'registry.db').resolve()}")) as registry,
    ):
        ensure_topics(broker.bootstrap, partnership_topics(settings))
        # The audit is hash-chained and each write signs a checkpoint with the hub's key.
        audit = open_store(settings)
        ingesting = _Ingesting(settings, broker.bootstrap, audit)
        try:
            run, analytics, hostile = _run_stages(
                settings, options, progress, broker.bootstrap, registry.url, run_dir
            )
        except BaseException:
            ingesting.abort()
            audit.close()
            raise
        # Everything the processor, the analytics and the sinks put on the audit topics.
        ingesting.finish(
            decisions=run.processor.get("decisions", 0)
            + sum(analytics.shared.values())
            + analytics.withheld,
            receipts=sum(run.receipts.values()),
        )
        summary = _summary(run, analytics, hostile, audit, run_dir)
        for key, n in correction_counts(audit).items():
            setattr(summary, key, n)
        summary.seconds = time.monotonic() - started
        report = verify_store(audit, audit_key_store(settings).public_keys())
        summary.audit_intact = report.ok
        audit.close()
        if options.hold is not None:
            options.hold(DemoRuntime(settings, broker.bootstrap, registry.url, summary))
        return summary


class _Ingesting:
    """The audit ingester on a thread of its own while the partnership runs."""

    def __init__(self, settings: Settings, bootstrap: str, audit: AuditStore) -> None:
        self.ingester = build_ingester(settings, bootstrap=bootstrap, store=audit)
        self.audit = audit
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="audit-ingest", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.ingester.run(self.stop)
        except BaseException as exc:  # raised by finish(), after the run
            self.errors.append(exc)

    def abort(self) -> None:
        self.stop.set()
        self.thread.join(30)
        self.ingester.close()  # or its client keeps calling a broker that is going away

    def finish(self, decisions: int, receipts: int, timeout: float = 60.0) -> None:
        """Stop the thread, then read what is left on the audit topics: until the store
        holds every decision and receipt the run made (their numbers are known), then until
        idle. Idle alone could end early on a loaded machine: a receipt acknowledged after
        the ingester's last fetch looked like the end, and the summary missed it."""
        self.stop.set()
        self.thread.join(30)
        deadline = time.monotonic() + timeout

        def stored(_stats: object) -> bool:
            if time.monotonic() > deadline:
                # A redelivered record is counted twice by its sink or the processor and
                # stored once: the summary then shows what the audit holds.
                log.warning(
                    "demo: the audit holds fewer than the run's %d decisions and %d receipts "
                    "after %.0fs",
                    decisions,
                    receipts,
                    timeout,
                )
                return True
            return self.audit.count_decisions() >= decisions and _receipts(self.audit) >= receipts

        if not stored(None):
            self.ingester.run(threading.Event(), until=stored, poll_timeout=0.2)
        self.ingester.run_until_idle(0.5, timeout=timeout)
        self.ingester.close()
        if self.errors:
            raise self.errors[0]


def _receipts(audit: AuditStore) -> int:
    from sqlalchemy import func, select

    from hub.audit.tables import receipts

    with audit.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(receipts)).scalar_one())


def _run_stages(
    settings: Settings,
    options: DemoOptions,
    progress: Progress,
    bootstrap: str,
    registry_url: str,
    run_dir: Path,
) -> tuple[PartnershipRun, AnalyticsRun, int]:
    # 1. What no connector would send: hostile records straight onto a partner topic. And a
    #    correction and a wrong-person retraction (issue 18), the retraction once its event
    #    is decided.
    hostile = _publish_hostile(settings, bootstrap, registry_url, options.seed)
    corrections = Corrections(settings, bootstrap, registry_url, options.seed)
    extra = hostile + corrections.start()
    # 2. Every partner through its connector (drop folders, web hook), the processor, and a
    #    sink for every recipient writing and receipting each disclosure.
    try:
        run = run_partnership(
            settings,
            bootstrap,
            registry_url,
            run_dir,
            events=options.events,
            seed=options.seed,
            progress=progress,
            timeout=options.timeout,
            extra_records=extra,
        )
    except BaseException:
        corrections.stop.set()
        raise
    corrections.finish()
    # 3. The analytics read the partner topics, raise linkage alerts to the recipients their
    #    rules name (each decided and audited like a disclosure), and publish the VRP's
    #    weekly aggregates. After the partnership, not beside it (which would hide its
    #    ~20 s start-up): the sinks are closed by then, so the summary's deliveries and
    #    receipts are the processor's disclosures exactly, whatever the timing.
    progress("analytics", 0, 1)
    # VRP weeks published every second, not every 5 s: the worker reports ready at its
    # first publication, and the drain's quiet period (3 s) then spans several of them, so
    # the last weeks are published before it stops (issue 17: fixed waits).
    config = AnalyticsConfig(publish_every=DEMO_PUBLISH_EVERY)
    analytics = run_analytics(settings, bootstrap, registry_url, _STOPPED, config=config)
    progress("analytics", 1, 1)
    return run, analytics, hostile


def _summary(
    run: PartnershipRun, analytics: AnalyticsRun, hostile: int, audit: AuditStore, run_dir: Path
) -> DemoSummary:
    proc = run.processor
    recipients = sorted(run.delivered)
    shared: dict[str, int] = proc.get("shared", {})
    deadletters: dict[str, int] = proc.get("deadlettered", {})
    return DemoSummary(
        published=run.published_total + hostile,
        valid_events=run.published_total,
        malformed_sent=hostile,
        shared={r: shared.get(r, 0) for r in recipients},
        withheld=proc.get("withheld", 0),
        deadlettered=sum(deadletters.values()),
        deadletter_reasons=dict(sorted(deadletters.items())),
        decisions=proc.get("decisions", 0),
        audit_records=audit.count_decisions(),
        delivered=dict(sorted(run.delivered.items())),
        receipts=len(audit.all_receipts()),
        published_by_partner=run.published,
        alerts=dict(sorted(analytics.alerts.items())),
        alerts_shared=dict(sorted(analytics.shared.items())),
        alerts_withheld=analytics.withheld,
        vrp_tables=analytics.aggregates,
        connector_rejects=run.rejected,
        outputs={
            "run_dir": str(run_dir.resolve()),
            "audit_db": str((run_dir / "audit.db").resolve()),
            "registry_db": str((run_dir / "registry.db").resolve()),
            **run.outputs,
        },
    )


def _publish_hostile(settings: Settings, bootstrap: str, registry_url: str, seed: int) -> int:
    """Malformed, spoofed and badly signed records on the police's topic, sent with a raw
    client as a broken or hostile system would: each must be dead-lettered with its reason.
    Returns how many were sent."""
    catalogue = load_catalogue(settings.schemas_dir)
    event_type = catalogue.get(EVENT_TYPE)
    if event_type is None:
        raise HubError(f"event type {EVENT_TYPE} missing from {settings.schemas_dir}")
    keys = partner_keys(settings)
    publisher = PartnerPublisher(
        partner=PARTNER,
        event_type=event_type,
        bootstrap=bootstrap,
        registry_url=registry_url,
        signer=keys.dev_signing_key(PARTNER),
    )
    feed = PoliceFeed(seed=seed + 1000)
    genuine = publisher.serialize(feed.next_event())
    bad = malformed_records(int.from_bytes(genuine[1:5], "big"), genuine, seed=seed)
    for _label, raw in bad:
        publisher.send_raw(raw)
    spoofed = feed.next_event()
    spoofed["envelope"]["source_partner"] = "liverpool-cc"  # claims to be someone else
    publisher.publish(spoofed)
    # Identity failures: unsigned, tampered after signing, and another partner's key.
    publisher.send_raw(genuine, signer=None)
    publisher.send_raw(genuine[:-1] + bytes([genuine[-1] ^ 1]), signer=_tampering(keys))
    publisher.send_raw(genuine, signer=keys.dev_signing_key("liverpool-cc"))
    publisher.close()
    return len(bad) + 4


def _tampering(keys: PartnerKeyStore) -> SigningKey:
    """A key that signs as the police but is not theirs: its signatures never verify."""
    real = keys.dev_signing_key(PARTNER)
    return SigningKey(real.key_id, Ed25519PrivateKey.generate())
