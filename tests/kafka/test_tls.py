"""Every component connects through a listener that requires TLS, with the same
HUB_KAFKA__* settings (issue 16): a partner's source, the processor, a recipient's sink,
the audit ingester and the analytics intake, one event's whole journey.

The embedded broker cannot require TLS, so a TLS-terminating proxy stands in front of it
(tests/kafka/tls_proxy.py), and the broker advertises the proxy's address, so that no
client ever reaches the plaintext listener by following metadata. A plaintext client is
refused by the proxy: the test fails if any component's client ignores the settings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.schema_registry import SchemaRegistryClient

from hub.analytics.core import Intake
from hub.analytics.intake import IntakeLoop
from hub.analytics.observations import ANALYTICS_DOMAIN
from hub.analytics.rules import load_rules
from hub.audit.store import AuditStore
from hub.broker import EmbeddedBroker, ensure_topics
from hub.broker.embedded import free_port
from hub.catalogue import (
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    Catalogue,
    EventType,
    partner_topic,
    share_topic,
)
from hub.catalogue.topics import RECEIPTS_TOPIC
from hub.codec.schemas import SchemaCache
from hub.config import KafkaSecurity, Settings
from hub.kafka import KafkaConnection
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.subjects import SUBJECT_DOMAIN
from hub.processor.build import build_ingester, build_processor, partner_keys
from tests.case_systems import CaseSystem
from tests.kafka.tls_proxy import TlsProxy, make_certificates

pytestmark = pytest.mark.integration

RECIPIENT = "liverpool-mash"
EVENTS = 20


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, TlsProxy]]:
    """(the proxy's address, the CA file clients trust, the proxy)."""
    ca, cert, key = make_certificates(tmp_path_factory.mktemp("tls"))
    port = free_port()
    broker = EmbeddedBroker(advertised=f"127.0.0.1:{port}")
    proxy = TlsProxy(port, broker.port, cert, key).start()
    try:
        broker.start()
        yield f"127.0.0.1:{port}", ca, proxy
    finally:
        broker.stop()
        proxy.stop()


@pytest.fixture(scope="module")
def registry(registry_url: str) -> str:
    """The module's registry (tests/plugin.py): plain HTTP, only the broker is TLS here."""
    return registry_url


def test_the_listener_refuses_plaintext(tls: tuple[str, Path, TlsProxy]) -> None:
    """The control: a client without the settings cannot reach the broker here."""
    address, _ca, _proxy = tls
    with pytest.raises(KafkaException):
        KafkaConnection(address).admin(log_level=0).list_topics(timeout=3)


def _run(target: Any, name: str) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread, errors


def _wait(what: str, done: Any, errors: list[BaseException], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert not errors, f"{what} failed: {errors!r}"
        assert time.monotonic() < deadline, f"{what}: no progress in {timeout:.0f}s"
        time.sleep(0.1)


def test_every_component_works_through_tls(
    tls: tuple[str, Path, TlsProxy],
    registry: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    catalogue: Catalogue,
    concern_type: EventType,
) -> None:
    address, ca, proxy = tls
    # Settings as a deployment gives them: the environment, read by every component.
    monkeypatch.setenv("HUB_KAFKA__SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("HUB_KAFKA__SSL_CA_LOCATION", str(ca))
    settings = Settings(
        data_dir=tmp_path,
        bootstrap_servers=address,
        kafka=KafkaSecurity(security_protocol="SSL", ssl_ca_location=ca),
    )
    kafka = KafkaConnection.from_settings(settings)
    topic = partner_topic("merseyside-police", "safeguarding-concern")
    share = share_topic(RECIPIENT, "safeguarding-concern")
    ensure_topics(kafka, [topic, share, DEADLETTER_TOPIC, AUDIT_TOPIC, RECEIPTS_TOPIC, "obs"])
    before = proxy.handshakes

    # A partner's source: the connector SDK's publisher, from a bare address.
    from connectors.base.publisher import PartnerPublisher
    from connectors.synthetic.police import PoliceFeed

    publisher = PartnerPublisher(
        partner="merseyside-police",
        event_type=concern_type,
        bootstrap=address,
        registry_url=registry,
        signer=partner_keys(settings).dev_signing_key("merseyside-police"),
    )
    events = PoliceFeed(seed=16).events(EVENTS)
    for e in events:
        e.update(borough="LIVERPOOL", risk_level="HIGH", concern_category="COUNTY_LINES")
    for e in events:
        publisher.publish(e)
    publisher.close()

    stop = threading.Event()
    processor = build_processor(settings, bootstrap=address, registry_url=registry)
    sink = CaseSystem(
        recipient=RECIPIENT,
        db_path=tmp_path / "mash.db",
        bootstrap=address,
        registry_url=registry,
        settings=settings,
    )
    audit = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    ingester = build_ingester(settings, bootstrap=address, store=audit)
    keys = LocalKeyProvider(settings.data_dir / "keys", settings.pseudonym_keys)
    intake = Intake(
        load_rules(settings.partnership_dir / "alerts"),
        keys.current(ANALYTICS_DOMAIN),
        keys.current(SUBJECT_DOMAIN),
    )
    read: list[bool] = []
    loop = IntakeLoop(
        bootstrap=address,
        topics=[topic],
        internal_topic="obs",
        intake=intake,
        schemas=SchemaCache(SchemaRegistryClient({"url": registry}), catalogue),
        public_keys=partner_keys(settings).public_keys(),
        group="tls-analytics",
        on_read=read.append,
    )
    loop.stop = stop
    threads = [
        _run(lambda: processor.run(stop), "processor"),
        _run(lambda: sink.runner.run(stop), "sink"),
        _run(lambda: ingester.run(stop), "ingester"),
        _run(loop.run, "analytics intake"),
    ]
    try:
        _wait("processor", lambda: processor.stats.consumed >= EVENTS, threads[0][1])
        _wait("sink", lambda: sink.runner.counts.receipts > 0, threads[1][1])
        _wait("ingester", lambda: audit.count_decisions() >= EVENTS, threads[2][1])
        _wait("analytics intake", lambda: sum(read) >= EVENTS, threads[3][1])
    finally:
        stop.set()
        for thread, _errors in threads:
            thread.join(15)
        processor.close()
        sink.runner.close()
        ingester.close()
        audit.close()
    for _thread, errors in threads:
        assert not errors, errors
    assert sum(processor.stats.shared.values()) > 0
    assert proxy.handshakes > before  # and every one of them was TLS: plaintext is refused
