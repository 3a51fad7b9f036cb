"""Steps the integration tests share: run a processor instance until it has consumed enough,
keep a recipient's sink running beside the test, open the recipients' case systems, and read
the audit back from the broker. One definition each, so a fix to how a test waits or stops
reaches every test that does the same."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connectors.base.publisher import PartnerPublisher
from hub.audit.store import AuditStore
from hub.audit.verify import verify_store
from hub.catalogue import EventType
from hub.config import Settings
from hub.identity import SigningKey
from hub.processor import Processor, Stats, build_processor
from hub.processor.build import partner_keys
from tests.case_systems import CaseSystem
from tests.ingest import ingest

POLICE = "merseyside-police"


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def run_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[BaseException]]:
    """``fn`` started in a daemon thread; whatever it raises is kept in the list, for the
    test to fail on with what it was."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def run_until(
    processor: Processor,
    until: Callable[[Stats], bool],
    timeout: float,
    what: str = "the processor",
) -> None:
    """Run ``processor`` in a thread until ``until`` (or ``timeout`` seconds), stop it, close
    it and fail on anything it raised."""
    stop = threading.Event()
    thread, errors = run_in_thread(lambda: processor.run(stop, until=until))
    thread.join(timeout)
    stop.set()
    thread.join(15)
    processor.close()
    assert not errors, f"{what} stopped: {errors!r}"


def process(settings: Settings, bootstrap: str, registry_url: str, records: int) -> None:
    """One processor instance, from its group's committed offsets, until it has consumed
    ``records``; then it stops and closes (the next call is a restarted instance)."""
    processor = build_processor(settings, bootstrap=bootstrap, registry_url=registry_url)
    run_until(processor, lambda s: s.consumed >= records, 120)
    assert processor.stats.consumed >= records


@contextmanager
def sink_running(sink: CaseSystem) -> Iterator[None]:
    """The recipient's sink consuming in a thread for the block's duration."""
    stop = threading.Event()
    thread = threading.Thread(target=lambda: sink.run(stop), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(15)


def police_publisher(
    settings: Settings, bootstrap: str, registry_url: str, concern_type: EventType
) -> tuple[SigningKey, PartnerPublisher]:
    """The police's dev signing key and a publisher of safeguarding concerns signing with it
    (the caller closes it)."""
    signer = partner_keys(settings).dev_signing_key(POLICE)
    publisher = PartnerPublisher(
        partner=POLICE,
        event_type=concern_type,
        bootstrap=bootstrap,
        registry_url=registry_url,
        signer=signer,
    )
    return signer, publisher


def case_sinks(
    work: Path, recipients: Iterable[str], bootstrap: str, registry_url: str, settings: Settings
) -> dict[str, CaseSystem]:
    """Each recipient's case system (SQLite under ``work/sinks``), not yet running."""
    return {
        r: CaseSystem(
            recipient=r,
            db_path=work / "sinks" / f"{r}.db",
            bootstrap=bootstrap,
            registry_url=registry_url,
            settings=settings,
        )
        for r in recipients
    }


def audit_of(bootstrap: str, work: Path) -> dict[str, Any]:
    """The audit as the ingester builds it from the broker's audit topic, into a fresh store
    under ``work``: every decision, receipt, dead letter and conflict, and the chain's check."""
    audit = AuditStore(f"sqlite:///{work / 'audit.db'}")
    try:
        ingest(bootstrap, audit)
        return {
            "decisions": audit.all_decisions(),
            "receipts": audit.all_receipts(),
            "dead_letters": audit.all_dead_letters(),
            "conflicts": audit.conflicts(),
            "verify": verify_store(audit, {}),
        }
    finally:
        audit.close()
