"""The rendered topology on the embedded broker: every topic exists, and each partner's
publisher can publish to each of its own topics. ACLs are checked as a plan elsewhere: the
embedded broker (Tansu) cannot take ACL admin requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.base.publisher import PartnerPublisher
from connectors.synthetic.samples import sample_events
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue.schemas import Catalogue
from hub.catalogue.topics import AUDIT_TOPIC, DEADLETTER_TOPIC, parse_partner_topic
from hub.config import Settings
from hub.deploy.acls import build_acl_plan
from hub.deploy.apply import apply_plan
from hub.deploy.load import load_topology
from hub.deploy.topology import Topology, TopologyOptions
from hub.identity.keys import SigningKey
from hub.kafka import KafkaConnection
from tests.conftest import ROOT
from tests.integration.helpers import Pipeline

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def single_broker_topology() -> Topology:
    # One broker: replication 1, the rest as in production.
    opts = TopologyOptions(replication_factor=1, min_insync_replicas=1)
    return load_topology(ROOT / "partnership", ROOT / "schemas" / "avro", opts)


def test_topology_created_on_the_embedded_broker(
    broker: EmbeddedBroker, single_broker_topology: Topology
) -> None:
    topology = single_broker_topology
    report = apply_plan(
        {"bootstrap.servers": broker.bootstrap},
        topology,
        build_acl_plan(topology),
        acls=False,
    )
    assert set(report.created_topics) | set(report.existing_topics) == {
        t.name for t in topology.topics
    }
    # The hub's own start-up check (hub process) finds nothing missing afterwards.
    ensure_topics(broker.bootstrap, [AUDIT_TOPIC, DEADLETTER_TOPIC, *topology.share_topics()])
    listed = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10).topics
    for partner in topology.partners:
        assert set(topology.partner_topics(partner)) <= set(listed), partner
    for recipient in topology.recipients:
        assert set(topology.share_topics(recipient)) <= set(listed), recipient
    partner_topics = {t.name: t for t in topology.topics if t.owner}
    for name, spec in partner_topics.items():
        assert len(listed[name].partitions) == spec.partitions
    # Applying again is harmless: everything exists.
    again = apply_plan(
        {"bootstrap.servers": broker.bootstrap}, topology, build_acl_plan(topology), acls=False
    )
    assert again.created_topics == []
    assert again.altered_configs == [], again.altered_configs[:3]


def test_each_partner_publishes_to_its_own_topics(
    broker: EmbeddedBroker,
    registry_url: str,
    single_broker_topology: Topology,
    catalogue: Catalogue,
    tmp_path: Path,
) -> None:
    topology = single_broker_topology
    pipeline = Pipeline(broker.bootstrap, registry_url, Settings(data_dir=tmp_path))
    apply_plan(
        {"bootstrap.servers": broker.bootstrap}, topology, build_acl_plan(topology), acls=False
    )
    published: dict[str, str] = {}
    publishers: list[PartnerPublisher] = []
    # One connection for all: this broker has no ACLs, so separate connections would test
    # nothing more, and each costs about a second to set up here. Identity is per record:
    # each partner signs with its own key.
    producer = KafkaConnection.of(broker.bootstrap).producer()
    for partner in topology.partners:
        signer = SigningKey(f"{partner}/test1", Ed25519PrivateKey.generate())
        for topic in topology.partner_topics(partner):
            parsed = parse_partner_topic(topic)
            assert parsed is not None and parsed.partner == partner
            event_type = catalogue.get(parsed.event_type)
            assert event_type is not None
            publisher = pipeline.publisher(partner, event_type, signer, producer=producer)
            assert publisher.topic == topic  # a publisher writes only its partner's topics
            published[topic] = publisher.publish(sample_events(event_type, partner, 1, seed=9)[0])
            publishers.append(publisher)
    for publisher in publishers:
        publisher.flush()  # raises if any record was not acknowledged
    assert set(published) == set(topology.partner_topics())
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "deploy-probe"})
    try:
        for topic in published:
            spec = topology.topic(topic)
            assert spec is not None
            total = 0
            for p in range(spec.partitions):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                total += high - low
            assert total == 1, topic
    finally:
        consumer.close()
