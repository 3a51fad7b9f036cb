"""Steps the integration tests share: a test's hub on the embedded broker (``Pipeline``: its
topics, publishers, processors, recipients' case systems), background workers that keep what
they raised, waiting for a condition, running a processor until it has consumed enough, and
reading the audit back from the broker. One definition each, so a fix to how a test waits or
stops reaches every test that does the same."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.base.publisher import PartnerPublisher
from hub.audit.store import AuditStore
from hub.audit.verify import verify_store
from hub.broker import ensure_topics
from hub.catalogue import AUDIT_TOPIC, DEADLETTER_TOPIC, RECEIPTS_TOPIC, EventType
from hub.config import Settings
from hub.identity import SigningKey
from hub.processor import Processor, Stats, build_processor
from hub.processor.build import partner_keys
from tests.case_systems import CaseSystem
from tests.ingest import ingest

POLICE = "merseyside-police"
# The hub's own topics a run writes to: dead letters, the audit, the sinks' receipts.
HUB_TOPICS = (DEADLETTER_TOPIC, AUDIT_TOPIC, RECEIPTS_TOPIC)


def wait_for(
    cond: Callable[[], bool],
    timeout: float,
    what: str | Callable[[], str],
    poll: float = 0.1,
    check: Callable[[], None] | None = None,
) -> None:
    """Until ``cond()``; ``check`` runs on every poll (a worker failed, a process died) so a
    test fails at once with why, not at the timeout. ``what`` may be worked out at the
    timeout (counts of how far it got)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if check is not None:
            check()
        if time.monotonic() > deadline:
            said = what if isinstance(what, str) else what()
            raise AssertionError(f"timed out waiting for {said}")
        time.sleep(poll)


class Workers:
    """Daemon threads of one test sharing a stop event and one list of what they raised, so
    a failure in any of them fails the test with what it was (and in which thread)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    def start(self, fn: Callable[[], Any], name: str = "worker") -> threading.Thread:
        def target() -> None:
            try:
                fn()
            except BaseException as exc:
                exc.add_note(f"raised in the {name} thread")
                self.errors.append(exc)

        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def run_sinks(self, sinks: Iterable[CaseSystem]) -> None:
        """Each recipient's sink consuming until :meth:`join`."""
        for sink in sinks:
            self.start(functools.partial(sink.run, self.stop), f"sink {sink.recipient}")

    def check(self) -> None:
        assert not self.errors, f"a worker failed: {self.errors!r}"

    def join(self, timeout: float = 15) -> None:
        """Stop them all and wait for each (``timeout`` seconds at most per thread)."""
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout)


def run_until(
    processor: Processor,
    until: Callable[[Stats], bool],
    timeout: float,
    what: str = "the processor",
) -> None:
    """Run ``processor`` in a thread until ``until`` (or ``timeout`` seconds), stop it, close
    it and fail on anything it raised."""
    workers = Workers()
    thread = workers.start(lambda: processor.run(workers.stop, until=until), what)
    thread.join(timeout)
    workers.join()
    processor.close()
    assert not workers.errors, f"{what} stopped: {workers.errors!r}"


@contextmanager
def sink_running(sink: CaseSystem) -> Iterator[None]:
    """The recipient's sink consuming in a thread for the block's duration; what it raised
    fails the block."""
    workers = Workers()
    workers.run_sinks([sink])
    try:
        yield
    finally:
        workers.join()
    workers.check()


@dataclass(frozen=True)
class Pipeline:
    """One test's hub on the embedded broker: where the broker and the registry are, and
    the settings every part is built with (its work folder is ``settings.data_dir``)."""

    bootstrap: str
    registry_url: str
    settings: Settings

    @property
    def work(self) -> Path:
        return self.settings.data_dir

    def create_topics(self, *topics: str) -> None:
        """``topics`` and the hub's own (dead letters, audit, receipts)."""
        ensure_topics(self.bootstrap, [*topics, *HUB_TOPICS])

    def signer(self, partner: str) -> SigningKey:
        """``partner``'s dev signing key, the one the hub's key store trusts for it."""
        return partner_keys(self.settings).dev_signing_key(partner)

    def publisher(
        self, partner: str, event_type: EventType, signer: SigningKey | None = None, **options: Any
    ) -> PartnerPublisher:
        """``partner``'s publisher of ``event_type``, signing with its dev key unless
        ``signer`` says otherwise (the caller closes it)."""
        return PartnerPublisher(
            partner=partner,
            event_type=event_type,
            bootstrap=self.bootstrap,
            registry_url=self.registry_url,
            signer=signer or self.signer(partner),
            **options,
        )

    def processor(self) -> Processor:
        return build_processor(
            self.settings, bootstrap=self.bootstrap, registry_url=self.registry_url
        )

    def process(self, records: int) -> None:
        """One processor instance, from its group's committed offsets, until it has consumed
        ``records``; then it stops and closes (the next call is a restarted instance)."""
        processor = self.processor()
        run_until(processor, lambda s: s.consumed >= records, 120)
        assert processor.stats.consumed >= records

    def sink(self, recipient: str) -> CaseSystem:
        """The recipient's case system (SQLite under ``work/sinks``), not yet running."""
        return CaseSystem(
            recipient=recipient,
            db_path=self.work / "sinks" / f"{recipient}.db",
            bootstrap=self.bootstrap,
            registry_url=self.registry_url,
            settings=self.settings,
        )

    def sinks(self, recipients: Iterable[str]) -> dict[str, CaseSystem]:
        return {r: self.sink(r) for r in recipients}

    def audit_store(self) -> AuditStore:
        """The store ``hub process --ingest`` writes under the work folder."""
        return AuditStore(f"sqlite:///{self.work / 'audit.db'}")

    def audit(self) -> dict[str, Any]:
        """The audit as the ingester builds it from the broker's audit topic, into a fresh
        store under the work folder: every decision, receipt, dead letter and conflict, and
        the chain's check."""
        audit = self.audit_store()
        try:
            ingest(self.bootstrap, audit)
            return {
                "decisions": audit.all_decisions(),
                "receipts": audit.all_receipts(),
                "dead_letters": audit.all_dead_letters(),
                "conflicts": audit.conflicts(),
                "verify": verify_store(audit, {}),
            }
        finally:
            audit.close()
