"""The ``hub process`` service itself: settings, topics, the processor, signals, the loop.

Imported by ``hub.cli.process.handle`` when the command runs, so parsing any ``hub``
command line loads none of it; and it loads only what the processor runs on (no console,
no web stack: tests/cli/test_startup.py holds it to that), since a rolling restart waits
for each processor to consume again.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from hub.agreements.loader import load_agreements
from hub.broker.admin import ensure_topics
from hub.catalogue.topics import AUDIT_TOPIC, DEADLETTER_TOPIC, share_topic
from hub.cli.ingest import ingest_alongside
from hub.config import load_settings
from hub.errors import ConfigError
from hub.kafka import KafkaConnection
from hub.processor.build import build_processor
from hub.telemetry.tracing import configure_tracing

log = logging.getLogger("hub.process")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(processor_instance=args.instance, metrics_port=args.metrics_port)
    configure_tracing(settings.tracing, f"hub-processor/{settings.processor_instance}")
    if not settings.bootstrap_servers or not settings.schema_registry_url:
        raise ConfigError(
            "hub process needs HUB_BOOTSTRAP_SERVERS and HUB_SCHEMA_REGISTRY_URL "
            "(for a local run: `hub sandbox` starts everything; `hub broker` and "
            "`hub registry serve` start the embedded broker and registry alone)"
        )
    agreements = load_agreements(settings.partnership_dir / "agreements")
    recipient_topics = {
        share_topic(r, e) for a in agreements for r in a.recipients for e in a.event_types
    }
    ensure_topics(
        KafkaConnection.from_settings(settings), [DEADLETTER_TOPIC, AUDIT_TOPIC, *recipient_topics]
    )
    processor = build_processor(
        settings, bootstrap=settings.bootstrap_servers, registry_url=settings.schema_registry_url
    )
    if settings.metrics_port is not None:
        processor.metrics.serve(settings.metrics_port, settings.metrics_host)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the batch in flight, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(
        f"hub processor {settings.processor_instance} consuming partner topics on "
        f"{settings.bootstrap_servers} (group {settings.consumer_group})",
        flush=True,
    )
    with ingest_alongside(settings, enabled=args.ingest):
        try:
            stats = processor.run(stop)
        finally:
            processor.close()
    shared = sum(stats.shared.values())
    print(
        f"stopped: {stats.consumed} records, {shared} shared, {stats.withheld} withheld, "
        f"{sum(stats.deadlettered.values())} dead-lettered",
        flush=True,
    )
    return 0
