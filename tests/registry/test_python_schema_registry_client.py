"""The embedded registry driven by a second, independent client: ``python-schema-registry-client``.

Every public method of its sync and async clients, its Avro message serializers and its
faust codec, over real HTTP. Where the embedded registry deliberately differs from
Confluent's (JSON Schema is not supported: the hub exchanges Avro only) the test pins the
clear refusal the client gets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from schema_registry.client import AsyncSchemaRegistryClient, SchemaRegistryClient, schema
from schema_registry.client.errors import ClientError
from schema_registry.serializers import (
    AsyncAvroMessageSerializer,
    AvroMessageSerializer,
    JsonMessageSerializer,
)

from hub.catalogue.schemas import load_catalogue
from hub.config import project_root
from hub.registry import RegistryServer, SchemaStore

V1 = {
    "type": "record",
    "name": "Visit",
    "namespace": "test.thirdparty",
    "fields": [{"name": "id", "type": "string"}],
}
# Adds a field with a default: backward compatible.
V2 = {**V1, "fields": [*V1["fields"], {"name": "ward", "type": "string", "default": ""}]}
# Adds a field without a default: not backward compatible.
BREAKING = {**V1, "fields": [*V1["fields"], {"name": "nhs", "type": "string"}]}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    with RegistryServer(SchemaStore(f"sqlite:///{tmp_path / 'registry.db'}")) as server:
        yield server.url


def test_sync_client_whole_api(registry: str) -> None:
    client = SchemaRegistryClient(registry)
    subject = "visits-value"
    v1 = schema.AvroSchema(V1)

    # Compatibility levels: global (GET/PUT /config/ with the trailing slash) and subject.
    assert client.get_compatibility() == "BACKWARD"
    assert client.update_compatibility("FULL") is True
    assert client.get_compatibility() == "FULL"
    assert client.update_compatibility("BACKWARD") is True

    first = client.register(subject, v1)
    assert client.register(subject, V1) == first  # same schema again, as a dict: same id
    assert client.get_subjects() == [subject]
    assert client.get_by_id(first) == v1
    found = client.check_version(subject, v1)
    assert found is not None and found.schema_id == first and found.version == 1
    assert client.check_version(subject, schema.AvroSchema(V2)) is None

    assert client.test_compatibility(subject, schema.AvroSchema(V2)) is True
    assert client.test_compatibility(subject, schema.AvroSchema(BREAKING)) is False
    with pytest.raises(ClientError) as refused:
        client.register(subject, schema.AvroSchema(BREAKING))
    assert refused.value.http_code == 409

    second = client.register(subject, schema.AvroSchema(V2))
    assert second != first
    assert client.get_versions(subject) == [1, 2]
    latest = client.get_schema(subject)
    assert latest is not None and latest.version == 2 and latest.schema_id == second
    one = client.get_schema(subject, 1)
    assert one is not None and one.schema == v1
    versions = client.get_schema_subject_versions(second)
    assert versions is not None
    assert [(v.subject, v.version) for v in versions] == [(subject, 2)]

    assert client.update_compatibility("NONE", subject) is True
    assert client.get_compatibility(subject) == "NONE"
    assert client.test_compatibility(subject, schema.AvroSchema(BREAKING)) is True

    assert client.delete_version(subject, 2) == 2
    assert client.get_versions(subject) == [1]
    assert client.delete_version(subject, 9) is None  # Confluent's 40402: the client says None
    assert client.get_schema("no-such-subject") is None
    assert client.delete_subject(subject) == [1]
    assert client.get_subjects() == []
    assert client.get_by_id(999_999) is None


def test_async_client_whole_api(registry: str) -> None:
    async def scenario() -> None:
        client = AsyncSchemaRegistryClient(registry)
        subject = "async-visits-value"
        assert await client.get_compatibility() == "BACKWARD"
        first = await client.register(subject, schema.AvroSchema(V1))
        assert await client.get_by_id(first) == schema.AvroSchema(V1)
        assert await client.get_subjects() == [subject]
        found = await client.check_version(subject, schema.AvroSchema(V1))
        assert found is not None and found.version == 1
        assert await client.test_compatibility(subject, schema.AvroSchema(BREAKING)) is False
        second = await client.register(subject, schema.AvroSchema(V2))
        assert await client.get_versions(subject) == [1, 2]
        latest = await client.get_schema(subject)
        assert latest is not None and latest.schema_id == second
        versions = await client.get_schema_subject_versions(second)
        assert [(v.subject, v.version) for v in versions] == [(subject, 2)]
        assert await client.update_compatibility("FORWARD", subject) is True
        assert await client.get_compatibility(subject) == "FORWARD"
        assert await client.delete_version(subject, "latest") == 2
        assert await client.delete_subject(subject) == [1]

    asyncio.run(scenario())


def test_avro_serializers_round_trip_a_catalogue_event(registry: str) -> None:
    """A catalogue schema through the other client's serializer: the bytes are the Confluent
    wire format the hub reads (magic byte 0, 4-byte id)."""
    event_type = load_catalogue(project_root() / "schemas" / "avro").get("iom-cohort-change")
    assert event_type is not None
    client = SchemaRegistryClient(registry)
    serializer = AvroMessageSerializer(client)
    avro = schema.AvroSchema(event_type.schema_str)
    record = {"id": "v-1"}
    visit = serializer.encode_record_with_schema("visits-value", schema.AvroSchema(V1), record)
    assert visit[0] == 0 and serializer.decode_message(visit) == record
    visit_id = int.from_bytes(visit[1:5], "big")
    assert serializer.encode_record_with_schema_id(visit_id, record) == visit
    schema_id = client.register("partner.probation-nw.iom-cohort-change.v1-value", avro)
    stored = json.loads(httpx.get(f"{registry}/schemas/ids/{schema_id}").json()["schema"])
    assert stored["hub.event_type"] == "iom-cohort-change"  # the hub's attributes survive

    async def async_round_trip() -> None:
        aserializer = AsyncAvroMessageSerializer(AsyncSchemaRegistryClient(registry))
        data = await aserializer.encode_record_with_schema(
            "visits-value", schema.AvroSchema(V1), record
        )
        assert data == visit
        assert await aserializer.decode_message(data) == record

    asyncio.run(async_round_trip())


def test_faust_codec(registry: str) -> None:
    from schema_registry.serializers.faust import FaustSerializer

    codec = FaustSerializer(SchemaRegistryClient(registry), "visits-value", schema.AvroSchema(V1))
    data = codec.dumps({"id": "v-2"})
    assert data[0] == 0 and codec.loads(data) == {"id": "v-2"}


def test_json_schema_is_refused_clearly(registry: str) -> None:
    """The hub exchanges Avro only: a JSON Schema is refused with Confluent's 422 body."""
    client = SchemaRegistryClient(registry)
    with pytest.raises(ClientError) as refused:
        client.register("json-value", schema.JsonSchema({"type": "object"}))
    assert refused.value.http_code == 422
    assert "supports only AVRO" in json.dumps(refused.value.server_traceback)
    serializer = JsonMessageSerializer(client)
    with pytest.raises(ClientError):
        serializer.encode_record_with_schema("json-value", schema.JsonSchema({}), {})
