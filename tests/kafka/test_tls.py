"""Every component connects through a listener that requires TLS, with the same
HUB_KAFKA__* settings (issue 16): a partner's source, the processor, a recipient's sink,
the audit ingester and the analytics intake, one event's whole journey.

The embedded broker cannot require TLS, so a TLS-terminating proxy stands in front of it
(tests/kafka/tls_proxy.py), and the broker advertises the proxy's address, so that no
client ever reaches the plaintext listener by following metadata. A plaintext client is
refused by the proxy: the test fails if any component's client ignores the settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.schema_registry import SchemaRegistryClient

from hub.analytics.core import Intake
from hub.analytics.intake import IntakeLoop
from hub.analytics.observations import ANALYTICS_DOMAIN
from hub.analytics.rules import load_rules
from hub.broker import EmbeddedBroker
from hub.broker.embedded import free_port
from hub.catalogue import Catalogue, EventType, partner_topic, share_topic
from hub.codec.schemas import SchemaCache
from hub.config import KafkaSecurity, Settings
from hub.kafka import KafkaConnection
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.subjects import SUBJECT_DOMAIN
from hub.processor.build import build_ingester, partner_keys
from tests.integration.helpers import POLICE, Pipeline, Workers, wait_for
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
    # Every part below is given the bare address: the settings must reach its clients.
    pipeline = Pipeline(address, registry, settings)
    topic = partner_topic(POLICE, "safeguarding-concern")
    pipeline.create_topics(topic, share_topic(RECIPIENT, "safeguarding-concern"), "obs")
    before = proxy.handshakes

    # A partner's source: the connector SDK's publisher, from a bare address.
    from connectors.synthetic.police import PoliceFeed

    publisher = pipeline.publisher(POLICE, concern_type)
    events = PoliceFeed(seed=16).events(EVENTS)
    for e in events:
        e.update(borough="LIVERPOOL", risk_level="HIGH", concern_category="COUNTY_LINES")
    for e in events:
        publisher.publish(e)
    publisher.close()

    processor = pipeline.processor()
    sink = pipeline.sink(RECIPIENT)
    audit = pipeline.audit_store()
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
    workers = Workers()
    loop.stop = workers.stop
    workers.start(lambda: processor.run(workers.stop), "processor")
    workers.start(lambda: sink.runner.run(workers.stop), "sink")
    workers.start(lambda: ingester.run(workers.stop), "ingester")
    workers.start(loop.run, "analytics intake")
    try:
        for what, done in (
            ("processor", lambda: processor.stats.consumed >= EVENTS),
            ("sink", lambda: sink.runner.counts.receipts > 0),
            ("ingester", lambda: audit.count_decisions() >= EVENTS),
            ("analytics intake", lambda: sum(read) >= EVENTS),
        ):
            wait_for(done, 60, f"the {what}'s progress", check=workers.check)
    finally:
        workers.join()
        processor.close()
        sink.runner.close()
        ingester.close()
        audit.close()
    workers.check()
    assert sum(processor.stats.shared.values()) > 0
    assert proxy.handshakes > before  # and every one of them was TLS: plaintext is refused
