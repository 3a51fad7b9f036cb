"""The publisher's own encoding is the stock Confluent serializer's, byte for byte: same
subject, same schema id, same Avro body, on generated events of every catalogue type
(unions on both branches, logical types, enums, arrays); a value the schema refuses is the
record's fault, a registry that does not answer is the registry's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from connectors.base.errors import SchemaInvalid
from connectors.base.publisher import PartnerPublisher
from connectors.base.source import _publish
from connectors.synthetic.samples import sample_events
from hub.catalogue import Catalogue, EventType
from hub.errors import Retryable
from hub.identity import PartnerKeyStore
from hub.kafka import CheckedProducer
from hub.registry import RegistryServer, SchemaStore
from tests.processor.stubs import FakeProducer


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    with RegistryServer(SchemaStore("sqlite://")) as server:
        yield server.url


def value_kinds(value: object) -> Iterator[str]:
    yield type(value).__name__
    if isinstance(value, dict):
        for v in value.values():
            yield from value_kinds(v)
    elif isinstance(value, list):
        for v in value:
            yield from value_kinds(v)


def make(event_type: EventType, registry_url: str, tmp_path: Path) -> PartnerPublisher:
    return PartnerPublisher(
        partner="merseyside-police",
        event_type=event_type,
        bootstrap="unused:9092",
        registry_url=registry_url,
        signer=PartnerKeyStore(None, tmp_path / "keys").dev_signing_key("merseyside-police"),
        producer=CheckedProducer(FakeProducer(), 1_000_000),  # type: ignore[arg-type]
    )


def test_every_catalogue_type_encodes_as_the_confluent_serializer_does(
    catalogue: Catalogue, registry: str, tmp_path: Path
) -> None:
    client = SchemaRegistryClient({"url": registry})
    seen: set[str] = set()
    for event_type in catalogue.event_types.values():
        ours = make(event_type, registry, tmp_path)
        stock = AvroSerializer(client, event_type.schema_str)
        ctx = SerializationContext(ours.topic, MessageField.VALUE)
        events = sample_events(event_type, "merseyside-police", 200, seed=17)
        for event in events:
            expected = stock(event, ctx)
            assert expected is not None
            assert ours.serialize(event) == expected, event_type.slug
        kinds = {kind for event in events for kind in value_kinds(event)}
        assert {"NoneType", "datetime", "str"} <= kinds, (event_type.slug, kinds)
        seen |= kinds
        registered = client.get_latest_version(f"{ours.topic}-value")
        assert ours._serialize.schema_id == registered.schema_id
        assert len(client.get_versions(f"{ours.topic}-value")) == 1, "registered once"
    # Union branches and every logical type the catalogue uses (uuid is a str) were met.
    assert {"NoneType", "date", "datetime", "time", "list", "bool", "int"} <= seen, seen


def test_the_publisher_registering_first_gets_the_id_the_serializer_uses(
    concern_type: EventType, tmp_path: Path
) -> None:
    # A fresh registry: the publisher registers, the stock serializer then finds the same
    # schema (not a second version) and writes the same bytes.
    with RegistryServer(SchemaStore("sqlite://")) as server:
        ours = make(concern_type, server.url, tmp_path)
        event = sample_events(concern_type, "merseyside-police", 1, seed=3)[0]
        first = ours.serialize(event)
        client = SchemaRegistryClient({"url": server.url})
        stock = AvroSerializer(client, concern_type.schema_str)
        assert stock(event, SerializationContext(ours.topic, MessageField.VALUE)) == first
        assert client.get_versions(f"{ours.topic}-value") == [1]


def test_a_value_the_schema_refuses_is_the_records_fault(
    concern_type: EventType, registry: str, tmp_path: Path
) -> None:
    publisher = make(concern_type, registry, tmp_path)
    event = sample_events(concern_type, "merseyside-police", 1, seed=5)[0]
    bad = {**event, "envelope": {**event["envelope"], "revision": "one"}}
    with pytest.raises(SerializationError):
        publisher.serialize(bad)
    # Through the source: a rejected row (the loop goes on), not a registry outage retried.
    with pytest.raises(SchemaInvalid, match="safeguarding-concern schema refused"):
        _publish(publisher, bad)


def test_a_registry_that_does_not_answer_is_retryable(
    concern_type: EventType, tmp_path: Path
) -> None:
    publisher = make(concern_type, "http://127.0.0.1:9", tmp_path)
    event = sample_events(concern_type, "merseyside-police", 1, seed=5)[0]
    with pytest.raises(Retryable):
        _publish(publisher, event)
