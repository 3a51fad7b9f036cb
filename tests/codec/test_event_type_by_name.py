"""A writer schema without the ``hub.event_type`` attribute is recognised by its record's full
name (serializers that drop unknown attributes, schemas typed in by hand); an unknown name
is still ``unknown-schema``."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from hub.catalogue.schemas import EVENT_TYPE_ATTR, load_catalogue
from hub.codec.schemas import SchemaCache
from hub.config import project_root
from hub.errors import UnknownSchema


@pytest.fixture
def client(registry_url: str) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": registry_url})


def test_event_type_from_the_record_full_name(client: SchemaRegistryClient) -> None:
    catalogue = load_catalogue(project_root() / "schemas" / "avro")
    concern = catalogue.get("safeguarding-concern")
    assert concern is not None
    bare = {k: v for k, v in concern.schema.items() if k != EVENT_TYPE_ATTR}
    schema_id = client.register_schema(
        "partner.x.safeguarding-concern.v1-value", Schema(json.dumps(bare), "AVRO")
    )
    writer = SchemaCache(client, catalogue).writer(schema_id)
    assert writer.event_type.slug == "safeguarding-concern"


def test_unknown_full_name_is_unknown_schema(client: SchemaRegistryClient) -> None:
    catalogue = load_catalogue(project_root() / "schemas" / "avro")
    invented = {"type": "record", "name": "Invented", "namespace": "x.y", "fields": []}
    schema_id = client.register_schema("x-value", Schema(json.dumps(invented), "AVRO"))
    with pytest.raises(UnknownSchema, match="not a catalogue event type"):
        SchemaCache(client, catalogue).writer(schema_id)
