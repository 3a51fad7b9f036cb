"""Run the end-to-end slice on embedded defaults.

Embedded broker -> embedded schema registry -> synthetic police connector -> processor ->
recipient sinks and audit store. Each run gets its own folder under ``<data_dir>/runs/``
so the summary counts one run; development keys persist in ``<data_dir>/keys``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.sinks.sqlite_case_system import SqliteCaseSystemSink
from connectors.sources.publisher import PartnerPublisher
from connectors.synthetic.police import EVENT_TYPE, PARTNER, PoliceFeed, malformed_records
from hub.audit.ingest import IngestStats
from hub.audit.setup import audit_key_store, open_store
from hub.audit.verify import verify_store
from hub.broker.admin import ensure_topics
from hub.broker.embedded import EmbeddedBroker
from hub.catalogue.schemas import load_catalogue
from hub.catalogue.topics import AUDIT_TOPIC, DEADLETTER_TOPIC, RECEIPTS_TOPIC, share_topic
from hub.config import Settings
from hub.errors import HubError
from hub.identity.keys import PartnerKeyStore, SigningKey
from hub.policy.engine import PolicyEngine
from hub.processor.build import build_ingester, build_processor, partner_keys
from hub.processor.processor import Stats
from hub.registry import RegistryServer, SchemaStore

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoOptions:
    events: int = 200
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
    published: int
    valid_events: int
    malformed_sent: int
    shared: dict[str, int]
    withheld: int
    deadlettered: int
    deadletter_reasons: dict[str, int]
    decisions: int
    audit_records: int
    delivered: dict[str, int]
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    audit_intact: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "valid_events": self.valid_events,
            "malformed_sent": self.malformed_sent,
            "shared": self.shared,
            "withheld": self.withheld,
            "deadlettered": self.deadlettered,
            "deadletter_reasons": self.deadletter_reasons,
            "decisions": self.decisions,
            "audit_records": self.audit_records,
            "delivered": self.delivered,
            "outputs": self.outputs,
            "seconds": round(self.seconds, 2),
            "audit_intact": self.audit_intact,
        }


def _noop(_stage: str, _done: int, _total: int) -> None:
    return None


def run_demo(settings: Settings, options: DemoOptions, progress: Progress = _noop) -> DemoSummary:
    started = time.monotonic()
    run_dir = settings.data_dir / "runs" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = settings.model_copy(
        update={"audit_url": f"sqlite:///{(run_dir / 'audit.db').resolve()}"}
    )
    catalogue = load_catalogue(settings.schemas_dir)
    event_type = catalogue.get(EVENT_TYPE)
    if event_type is None:
        raise HubError(f"event type {EVENT_TYPE} missing from {settings.schemas_dir}")

    with (
        EmbeddedBroker(log_path=run_dir / "broker.log") as broker,
        RegistryServer(SchemaStore(f"sqlite:///{(run_dir / 'registry.db').resolve()}")) as registry,
    ):
        from hub.agreements.loader import load_agreements

        engine = PolicyEngine(load_agreements(settings.partnership_dir / "agreements"))
        recipients = engine.candidates(PARTNER, EVENT_TYPE)
        ensure_topics(
            broker.bootstrap,
            [
                f"partner.{PARTNER}.{EVENT_TYPE}.v1",
                DEADLETTER_TOPIC,
                AUDIT_TOPIC,
                RECEIPTS_TOPIC,
                *(share_topic(r, EVENT_TYPE) for r in recipients),
            ],
        )
        # The audit is hash-chained and each write signs a checkpoint with the hub's key.
        audit = open_store(settings)

        # 1. The police connector publishes the feed, with a few malformed records mixed in.
        keys = partner_keys(settings)
        publisher = PartnerPublisher(
            partner=PARTNER,
            event_type=event_type,
            bootstrap=broker.bootstrap,
            registry_url=registry.url,
            signer=keys.dev_signing_key(PARTNER),
        )
        feed = PoliceFeed(seed=options.seed)
        events = feed.events(options.events)
        first = publisher.serialize(events[0])
        bad = malformed_records(int.from_bytes(first[1:5], "big"), first, seed=options.seed)
        spoofed = feed.next_event()
        spoofed["envelope"]["source_partner"] = "liverpool-cc"  # claims to be someone else
        every = max(1, len(events) // (len(bad) + 1))
        sent = 0
        for i, event in enumerate(events):
            publisher.publish(event)
            sent += 1
            if i % every == every - 1 and bad:
                publisher.send_raw(bad.pop(0)[1])
                sent += 1
            progress("publish", i + 1, len(events))
        for _label, raw in bad:
            publisher.send_raw(raw)
            sent += 1
        publisher.publish(spoofed)
        # Identity failures: unsigned, tampered after signing, and another partner's key.
        genuine = publisher.serialize(feed.next_event())
        publisher.send_raw(genuine, signer=None)
        publisher.send_raw(genuine[:-1] + bytes([genuine[-1] ^ 1]), signer=_tampering(keys))
        publisher.send_raw(genuine, signer=keys.dev_signing_key("liverpool-cc"))
        sent += 4
        publisher.close()
        malformed = sent - len(events)

        # 2. The processor and both sinks run concurrently, as they would in production.
        stop = threading.Event()
        processor = build_processor(settings, bootstrap=broker.bootstrap, registry_url=registry.url)
        # The audit ingester stores what the processor puts on hub.audit.v1.
        ingester = build_ingester(settings, bootstrap=broker.bootstrap, store=audit)
        sinks = {
            r: SqliteCaseSystemSink(
                recipient=r,
                db_path=run_dir / "sinks" / f"{r}.db",
                bootstrap=broker.bootstrap,
                registry_url=registry.url,
            )
            for r in recipients
        }
        processor_done = threading.Event()
        errors: list[BaseException] = []

        def guarded(fn: Callable[[], Any]) -> Callable[[], None]:
            def target() -> None:
                try:
                    fn()
                except BaseException as exc:
                    errors.append(exc)
                    stop.set()

            return target

        def run_processor() -> None:
            processor.run(
                stop,
                until=lambda s: s.consumed >= sent,
                on_batch=lambda s: progress("process", s.consumed, sent),
            )
            processor_done.set()

        def sink_until(recipient: str) -> Callable[[SqliteCaseSystemSink], bool]:
            return lambda sink: (
                processor_done.is_set() and sink.consumed >= processor.stats.shared[recipient]
            )

        def sink_runner(sink: SqliteCaseSystemSink, recipient: str) -> Callable[[], None]:
            return lambda: sink.run(stop, until=sink_until(recipient))

        def audited(_stats: IngestStats) -> bool:
            s = processor.stats
            return processor_done.is_set() and ingester.stats.consumed >= s.decisions + sum(
                s.deadlettered.values()
            )

        threads = [threading.Thread(target=guarded(run_processor), name="processor")]
        threads.append(
            threading.Thread(
                target=guarded(lambda: ingester.run(stop, until=audited)), name="audit-ingest"
            )
        )
        threads += [
            threading.Thread(target=guarded(sink_runner(s, r)), name=f"sink-{r}")
            for r, s in sinks.items()
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + options.timeout
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            time.sleep(0.1)
            if processor_done.is_set():
                total = sum(processor.stats.shared.values())
                progress("deliver", sum(s.consumed for s in sinks.values()), total)
        timed_out = any(t.is_alive() for t in threads)
        stop.set()
        for t in threads:
            t.join(10)
        processor.close()
        ingester.close()
        delivered = {r: s.count() for r, s in sinks.items()}
        for s in sinks.values():
            s.close()
        if errors:
            raise errors[0]
        if timed_out:
            raise HubError(
                f"demo did not finish within {options.timeout:.0f}s: processed "
                f"{processor.stats.consumed}/{sent}, delivered {delivered}"
            )
        stats: Stats = processor.stats
        summary = DemoSummary(
            published=sent,
            valid_events=len(events),
            malformed_sent=malformed,
            shared=dict(sorted(stats.shared.items()))
            | {r: 0 for r in recipients if r not in stats.shared},
            withheld=stats.withheld,
            deadlettered=sum(stats.deadlettered.values()),
            deadletter_reasons=dict(sorted(stats.deadlettered.items())),
            decisions=stats.decisions,
            audit_records=audit.count_decisions(),
            delivered=delivered,
            outputs={
                "run_dir": str(run_dir.resolve()),
                "audit_db": str((run_dir / "audit.db").resolve()),
                "registry_db": str((run_dir / "registry.db").resolve()),
                "sinks": {r: str(s.db_path.resolve()) for r, s in sinks.items()},
            },
            seconds=time.monotonic() - started,
        )
        report = verify_store(audit, audit_key_store(settings).public_keys())
        summary.audit_intact = report.ok
        audit.close()
        if options.hold is not None:
            options.hold(DemoRuntime(settings, broker.bootstrap, registry.url, summary))
        return summary


def _tampering(keys: PartnerKeyStore) -> SigningKey:
    """A key that signs as the police but is not theirs: its signatures never verify."""
    real = keys.dev_signing_key(PARTNER)
    return SigningKey(real.key_id, Ed25519PrivateKey.generate())
