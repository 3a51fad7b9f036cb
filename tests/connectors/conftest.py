"""Real components for connector tests: a fresh embedded broker and registry per test, and
the real hub processor on them (the setup of tests/integration/test_end_to_end.py)."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer

from connectors.base.config import ConnectorConfig
from connectors.base.sink import Delivery, SinkRunner
from hub.audit.records import ReceiptRecord
from hub.broker import EmbeddedBroker, ensure_topics
from hub.broker.client_config import consumer_config
from hub.catalogue.topics import RECEIPTS_TOPIC, share_topic
from hub.config import Settings
from hub.demo.partnership import partnership_topics
from hub.processor import Processor, build_processor

ROOT = Path(__file__).resolve().parents[2]


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def read_topic(
    bootstrap: str, topic: str | list[str], expected: int, timeout: float = 20.0
) -> list[Any]:
    """Everything on the topic(s): at least ``expected`` records, or what came by ``timeout``.
    Partitions are assigned by hand (no consumer group to join: seconds saved per read)."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    c = Consumer(consumer_config(bootstrap, f"reader-{uuid.uuid4().hex}"))
    parts = []
    for name in [topic] if isinstance(topic, str) else topic:
        meta = c.list_topics(name, timeout=10)
        parts += [TopicPartition(name, p, OFFSET_BEGINNING) for p in meta.topics[name].partitions]
    c.assign(parts)
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(out) < expected and time.monotonic() < deadline:
        out.extend(m for m in c.consume(500, 0.3) if m.error() is None)
    # Anything extra (a duplicate) would arrive now.
    out.extend(m for m in c.consume(500, 0.5) if m.error() is None)
    c.close()
    return out


class Threads:
    """Background loops whose exceptions fail the test."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._threads: list[tuple[threading.Thread, list[BaseException]]] = []

    def start(self, fn: Callable[[threading.Event], Any], name: str) -> None:
        errors: list[BaseException] = []

        def target() -> None:
            try:
                fn(self.stop)
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append((t, errors))

    def errors(self) -> list[BaseException]:
        return [e for _t, errs in self._threads for e in errs]

    def join(self) -> None:
        self.stop.set()
        for t, _errors in self._threads:
            t.join(20)
        errors = self.errors()
        assert not errors, errors


@dataclass
class Hub:
    """A running hub: broker, registry and the real processor deciding as it goes."""

    broker: EmbeddedBroker
    registry_url: str
    settings: Settings
    processor: Processor
    threads: Threads
    work: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap


@pytest.fixture
def broker(fresh_broker: EmbeddedBroker) -> EmbeddedBroker:
    """A broker per test here (tests/plugin.py): connector tests count what reaches it."""
    return fresh_broker


@pytest.fixture
def registry_url(fresh_registry_url: str) -> str:
    return fresh_registry_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database a SQL connector talks to: a SQLite file, then a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'connector.db'}"
    url: str = request.getfixturevalue("postgres_db")
    return url


@pytest.fixture
def hub(broker: EmbeddedBroker, registry_url: str, tmp_path: Path) -> Iterator[Hub]:
    settings = Settings(data_dir=tmp_path / "hub")
    ensure_topics(broker.bootstrap, partnership_topics(settings))
    # Every partner's development key exists before the processor loads the keys: a key
    # appearing while its first records are in flight would dead-letter them.
    from hub.agreements.partnership import load_partnership
    from hub.processor.build import partner_keys

    keys = partner_keys(settings)
    for partner in load_partnership(settings.partnership_dir).partners:
        keys.dev_signing_key(partner.id)
    processor = build_processor(settings, bootstrap=broker.bootstrap, registry_url=registry_url)
    threads = Threads()
    threads.start(lambda stop: processor.run(stop), "processor")
    h = Hub(broker, registry_url, settings, processor, threads, tmp_path)
    try:
        yield h
    finally:
        threads.join()
        processor.close()


def police_events(n: int, seed: int = 2026) -> list[dict[str, Any]]:
    from connectors.synthetic.police import PoliceFeed

    return PoliceFeed(seed=seed).events(n)


def for_mash(e: dict[str, Any], borough: str = "LIVERPOOL") -> bool:
    """Oracle from the agreement's plain-English terms (not the engine under test)."""
    from hub.policy.facts import age_on

    dob = e["subject"]["date_of_birth"]
    child = dob is not None and age_on(dob, e["envelope"]["occurred_at"].date()) < 18
    return child and e["borough"] == borough and e["risk_level"] in ("MEDIUM", "HIGH")


def for_msn(e: dict[str, Any]) -> bool:
    return bool(e["concern_category"] in {"CCE", "CSE", "COUNTY_LINES", "MODERN_SLAVERY"})


def drop_folder_config(tmp: Path, **over: Any) -> dict[str, Any]:
    """The police CSV example, pointed at ``tmp`` with a development signing key."""
    import yaml

    data: dict[str, Any] = yaml.safe_load(
        (ROOT / "connectors" / "examples" / "police-concerns-csv.yaml").read_text()
    )
    data.pop("hub")
    data.pop("health")
    data["signing"] = {
        "key_id": "merseyside-police/dev1",
        "dev_keys_dir": str(tmp / "hub" / "partner-keys"),
    }
    data["state_dir"] = str(tmp / "state")
    data["retry"] = {"max_attempts": 4, "initial_seconds": 0.2, "max_seconds": 1}
    src = data["source"]
    src.update(
        inbox=str(tmp / "drop" / "inbox"),
        processed=str(tmp / "drop" / "processed"),
        rejected=str(tmp / "drop" / "rejected"),
        settle_seconds=0,
        poll_seconds=0.2,
    )
    src.update(over)
    return data


def csv_event_id(e: dict[str, Any]) -> str:
    """The id the CSV mapping gives a concern: derived from its incident reference."""
    from connectors.base.mapping import EVENT_ID_NAMESPACE

    name = f"merseyside-police/safeguarding-concern/{e['source_reference']}"
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, name))


def publish_police(hub: Hub, events: list[dict[str, Any]]) -> None:
    """Publish concerns as the police's own connector would (signed, stock serializer)."""
    from connectors.base.publisher import PartnerPublisher
    from hub.catalogue import load_catalogue
    from hub.processor.build import partner_keys

    et = load_catalogue(ROOT / "schemas" / "avro").get("safeguarding-concern")
    assert et is not None
    publisher = PartnerPublisher(
        partner="merseyside-police",
        event_type=et,
        bootstrap=hub.bootstrap,
        registry_url=hub.registry_url,
        signer=partner_keys(hub.settings).dev_signing_key("merseyside-police"),
    )
    for e in events:
        publisher.publish(e)
    publisher.close()


def publish_shared(
    hub: Hub, n: int, seed: int, shared: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Publish ``n`` police concerns (from ``seed``); the ones the ``shared`` oracle says
    the agreement under test shares."""
    events = police_events(n, seed=seed)
    publish_police(hub, events)
    return [e for e in events if shared(e)]


def sink_config(hub: Hub, tmp: Path, recipient: str, sink: dict[str, Any], **over: Any) -> Any:
    from connectors.base.config import parse_config

    data = {
        "name": f"{recipient}-sink",
        "recipient": recipient,
        "system": f"{recipient}-system",
        "state_dir": str(tmp / "sink-state"),
        "retry": {"max_attempts": 6, "initial_seconds": 0.05, "max_seconds": 0.2},
        "sink": sink,
    } | over
    return parse_config(data)


def hub_env(hub: Hub, **extra: str) -> dict[str, str]:
    return {
        "HUB_BOOTSTRAP_SERVERS": hub.bootstrap,
        "HUB_SCHEMA_REGISTRY_URL": hub.registry_url,
    } | extra


def read_receipts(hub: Hub, expected: int) -> list[ReceiptRecord]:
    """The receipts the hub's sinks sent (at least ``expected``, or what came in time)."""
    return [
        ReceiptRecord.from_json(m.value())
        for m in read_topic(hub.bootstrap, RECEIPTS_TOPIC, expected)
    ]


@dataclass
class RunningSink:
    """A sink running on the hub's threads, with the configuration and environment it was
    built from."""

    runner: SinkRunner
    config: ConnectorConfig
    env: dict[str, str]

    def replay(self, receipts: int, **build: Any) -> SinkRunner:
        """The same sink under a new name (a new consumer group reading the whole stream
        again), run until it has sent ``receipts`` receipts, and closed."""
        from connectors.base.runtime import build as build_connector

        again = build_connector(
            self.config.model_copy(update={"name": f"{self.config.name}-replay"}),
            self.env,
            **build,
        )
        assert isinstance(again, SinkRunner)
        again.run(threading.Event(), until=lambda s: s.counts.receipts >= receipts)
        again.close()
        return again


def start_sink(
    hub: Hub,
    tmp: Path,
    recipient: str,
    sink: dict[str, Any],
    receipts: int,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    **build: Any,
) -> RunningSink:
    """The ``recipient``'s ``sink`` (``config``: more of its configuration; ``env``: its
    settings beside the hub's), running on the hub's threads, once it has sent ``receipts``
    receipts (``build``: e.g. the retention's clock)."""
    from connectors.base.runtime import build as build_connector

    parsed = sink_config(hub, tmp, recipient, sink, **(config or {}))
    full_env = hub_env(hub, **(env or {}))
    runner = build_connector(parsed, full_env, **build)
    assert isinstance(runner, SinkRunner)
    hub.threads.start(runner.run, parsed.name)
    wait_for(
        lambda: runner.counts.receipts >= receipts, 60, f"{receipts} receipts from {parsed.name}"
    )
    return RunningSink(runner, parsed, full_env)


@dataclass(frozen=True)
class Stream:
    """One recipient's share topic of one event type, under one agreement: what a sink
    writer is handed disclosures from."""

    recipient: str
    event_type: str
    agreement: str

    def delivery(
        self,
        disclosure: str,
        record: dict[str, Any],
        offset: int = 0,
        headers: dict[str, bytes] | None = None,
    ) -> Delivery:
        """A disclosure as the sink runner hands it over; its event id is the record's own."""
        return Delivery(
            disclosure_id=disclosure,
            recipient=self.recipient,
            event_id=str(record.get("envelope", {}).get("event_id", "")),
            event_type=self.event_type,
            agreement=self.agreement,
            topic=share_topic(self.recipient, self.event_type),
            partition=0,
            offset=offset,
            record=record,
            received_at=datetime.now(UTC),
            headers=headers or {},
        )


def kill_and_restart(
    cmd: list[str],
    env: Mapping[str, str],
    progress: Callable[[], int],
    kill_at: int,
    finished: Callable[[], bool],
    what: str,
) -> int:
    """Run the connector process ``cmd``; SIGKILL it once ``progress()`` reaches
    ``kill_at``; start it again and stop it (SIGTERM: it must exit 0) once ``finished()``.
    Returns the progress at the kill, for the test to check the kill came mid-stream."""
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: progress() >= kill_at, 60, f"{kill_at} {what} before the kill")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    at_kill = progress()
    second = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(finished, 60, f"the rest of the {what} after the restart")
    finally:
        second.send_signal(signal.SIGTERM)  # graceful: exits 0 after its checkpoint
        assert second.wait(20) == 0, second.stderr.read() if second.stderr else ""
    return at_kill
