"""``hub process``: run the hub processor as a service until SIGTERM or Ctrl-C.

It connects to the broker and schema registry named in the settings
(``HUB_BOOTSTRAP_SERVERS``, ``HUB_SCHEMA_REGISTRY_URL``). On SIGTERM it finishes the batch in
flight, commits, leaves the consumer group and exits 0, so a rolling restart loses nothing.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import Any

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


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "process", help="run the hub processor against the configured broker and registry"
    )
    p.add_argument("--instance", default=None, help="name of this instance in the audit")
    p.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus /metrics on this port"
    )
    p.add_argument(
        "--ingest",
        action="store_true",
        help="also run the audit ingester in this process (single-machine deployments; "
        "otherwise run `hub audit ingest` as its own service)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
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
