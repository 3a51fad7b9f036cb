"""``hub audit ingest``: the audit topics into the audit store, as a service or a rebuild;
and ``ingest_alongside`` for ``hub process --ingest`` and the demo."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

from hub.errors import ConfigError

if TYPE_CHECKING:
    from hub.config import Settings

log = logging.getLogger("hub.audit.ingest")


def add_ingest(audit_commands: Any) -> None:
    p: argparse.ArgumentParser = audit_commands.add_parser(
        "ingest", help="store hub.audit.v1 and hub.receipts.v1 in the audit store (a service)"
    )
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="read the topics from the start under a new consumer group (rebuilds a lost "
        "store; records already stored are skipped)",
    )
    p.add_argument(
        "--until-idle",
        type=float,
        default=None,
        metavar="SECONDS",
        help="exit once nothing has arrived for SECONDS (for rebuilds and drains)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from hub.audit.setup import open_store
    from hub.broker.admin import ensure_topics
    from hub.catalogue.topics import AUDIT_TOPIC, RECEIPTS_TOPIC
    from hub.config import load_settings
    from hub.kafka import KafkaConnection
    from hub.processor.build import build_ingester

    settings = load_settings()
    bootstrap = settings.bootstrap_servers
    if not bootstrap:
        raise ConfigError("hub audit ingest needs HUB_BOOTSTRAP_SERVERS")
    if args.rebuild:
        settings = settings.model_copy(
            update={"audit_ingest_group": f"{settings.audit_ingest_group}-rebuild-{time.time_ns()}"}
        )
    ensure_topics(KafkaConnection.from_settings(settings, bootstrap), [AUDIT_TOPIC, RECEIPTS_TOPIC])
    store = open_store(settings)
    ingester = build_ingester(settings, bootstrap=bootstrap, store=store)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"hub audit ingest: {AUDIT_TOPIC}, {RECEIPTS_TOPIC} -> the audit store", flush=True)
    try:
        if args.until_idle is not None:
            stats = ingester.run_until_idle(args.until_idle, timeout=24 * 3600)
        else:
            stats = ingester.run(stop)
    finally:
        ingester.close()
        store.close()
    print(
        f"stopped: {stats.consumed} records read, {stats.stored} stored, "
        f"{stats.rejected} unreadable",
        flush=True,
    )
    return 0


@contextlib.contextmanager
def ingest_alongside(settings: Settings, *, enabled: bool = True) -> Iterator[None]:
    """Run the audit ingester in a thread while the body runs; then store what the body's
    last batches produced and stop."""
    bootstrap = settings.bootstrap_servers
    if not enabled or not bootstrap:
        yield
        return
    from hub.audit.setup import open_store
    from hub.broker.admin import ensure_topics
    from hub.catalogue.topics import AUDIT_TOPIC, RECEIPTS_TOPIC
    from hub.kafka import KafkaConnection
    from hub.processor.build import build_ingester

    ensure_topics(KafkaConnection.from_settings(settings, bootstrap), [AUDIT_TOPIC, RECEIPTS_TOPIC])
    store = open_store(settings)
    ingester = build_ingester(settings, bootstrap=bootstrap, store=store)
    done = threading.Event()
    thread = threading.Thread(target=ingester.run, args=(done,), name="audit-ingest", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(30)
        ingester.run_until_idle(1.0, timeout=60)
        ingester.close()
        store.close()
