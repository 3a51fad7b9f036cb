"""HTTP: compatibility, per-subject config and deletes, by route and with the real client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from fastapi.testclient import TestClient

from hub.registry import RegistryServer, SchemaStore, create_app
from tests.registry.test_api import assert_error, register


def ping(*extra: dict[str, Any]) -> str:
    fields = [{"name": "n", "type": "int"}, *extra]
    return json.dumps({"type": "record", "name": "Ping", "fields": fields})


V1 = ping()
V2 = ping({"name": "label", "type": "string", "default": ""})
BREAKING = ping({"name": "label", "type": "string"})


@pytest.fixture
def api() -> Iterator[TestClient]:
    with SchemaStore() as store, TestClient(create_app(store)) as client:
        yield client


def test_register_incompatible_is_409_and_changes_nothing(api: TestClient) -> None:
    register(api, "ping-value", V1)
    response = register(api, "ping-value", BREAKING)
    assert_error(response, 409, 409, 'incompatible with an earlier schema for subject "ping-value"')
    assert "label" in response.json()["message"]
    assert api.get("/subjects/ping-value/versions").json() == [1]
    assert register(api, "ping-value", V2).json()["version"] == 2


def test_compatibility_routes(api: TestClient) -> None:
    register(api, "ping-value", V1)
    url = "/compatibility/subjects/ping-value/versions"
    ok = api.post(f"{url}/latest", json={"schema": V2})
    assert ok.status_code == 200 and ok.json() == {"is_compatible": True}
    bad = api.post(f"{url}/1", params={"verbose": "True"}, json={"schema": BREAKING})
    assert bad.json()["is_compatible"] is False
    assert any(m.startswith("label: ") for m in bad.json()["messages"])
    assert api.post(url, json={"schema": BREAKING}).json() == {"is_compatible": False}
    assert api.post(url, params={"verbose": "true"}, json={"schema": V2}).json() == {
        "is_compatible": True,
        "messages": [],
    }
    assert_error(api.post(f"{url}/7", json={"schema": V2}), 404, 40402)
    assert_error(api.post(f"{url}/0", json={"schema": V2}), 422, 42202)
    assert_error(api.post(f"{url}/latest", json={"schema": "{"}), 422, 42201)
    new_subject = "/compatibility/subjects/new-value/versions"
    assert_error(api.post(f"{new_subject}/1", json={"schema": V2}), 404, 40401)
    assert api.post(f"{new_subject}/latest", json={"schema": V2}).json()["is_compatible"]


def test_subject_config_routes(api: TestClient) -> None:
    assert_error(api.get("/config/ping-value"), 404, 40408, "subject-level compatibility")
    assert api.get("/config/ping-value", params={"defaultToGlobal": "true"}).json() == {
        "compatibilityLevel": "BACKWARD"
    }
    put = api.put("/config/ping-value", json={"compatibility": "full"})
    assert put.json() == {"compatibility": "FULL"}
    assert api.get("/config/ping-value").json() == {"compatibilityLevel": "FULL"}
    assert api.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert_error(api.put("/config/ping-value", json={"compatibility": "MAYBE"}), 422, 42203)
    assert api.delete("/config/ping-value").json() == {"compatibilityLevel": "FULL"}
    assert_error(api.delete("/config/ping-value"), 404, 40408)
    api.put("/config", json={"compatibility": "NONE"})
    assert api.delete("/config").json() == {"compatibilityLevel": "NONE"}
    assert api.get("/config").json() == {"compatibilityLevel": "BACKWARD"}


def test_delete_routes(api: TestClient) -> None:
    register(api, "ping-value", V1)
    register(api, "ping-value", V2)
    versions = "/subjects/ping-value/versions"
    assert_error(api.delete(f"{versions}/1", params={"permanent": "true"}), 404, 40407)
    assert api.delete(f"{versions}/1").json() == 1
    assert_error(api.delete(f"{versions}/1"), 404, 40406, "soft deleted")
    assert_error(api.get(f"{versions}/1"), 404, 40402)
    assert api.get(f"{versions}/1", params={"deleted": "true"}).json()["version"] == 1
    assert api.get(versions, params={"deleted": "true"}).json() == [1, 2]
    assert api.delete(f"{versions}/1", params={"permanent": "true"}).json() == 1
    assert_error(api.delete(f"{versions}/1"), 404, 40402)
    assert_error(api.delete(f"{versions}/abc"), 422, 42202)

    assert_error(api.delete("/subjects/ping-value", params={"permanent": "true"}), 404, 40405)
    assert api.delete("/subjects/ping-value").json() == [2]
    assert_error(api.delete("/subjects/ping-value"), 404, 40404)
    assert_error(api.get(versions), 404, 40401)
    assert api.get("/subjects", params={"deleted": "true"}).json() == ["ping-value"]
    assert api.delete("/subjects/ping-value", params={"permanent": "true"}).json() == [2]
    assert_error(api.delete("/subjects/ping-value"), 404, 40401)


def test_confluent_client_methods_work_unchanged() -> None:
    subject = "ping-value"
    with (
        SchemaStore() as store,
        RegistryServer(store) as server,
        SchemaRegistryClient({"url": server.url}) as client,
    ):
        v1_id = client.register_schema(subject, Schema(V1, "AVRO"))
        assert client.test_compatibility(subject, Schema(V2, "AVRO"))
        assert not client.test_compatibility(subject, Schema(BREAKING, "AVRO"), version=1)
        assert not client.test_compatibility_all_versions(
            subject, Schema(BREAKING, "AVRO"), verbose=True
        )
        with pytest.raises(SchemaRegistryError) as caught:
            client.register_schema(subject, Schema(BREAKING, "AVRO"))
        assert (caught.value.http_status_code, caught.value.error_code) == (409, 409)

        assert client.set_compatibility(subject, "NONE") == {"compatibility": "NONE"}
        assert client.get_compatibility(subject) == "NONE"
        assert client.get_compatibility() == "BACKWARD"
        assert client.get_config(subject).compatibility_level.value == "NONE"
        client.register_schema(subject, Schema(BREAKING, "AVRO"))
        assert client.delete_config(subject).compatibility_level.value == "NONE"
        with pytest.raises(SchemaRegistryError) as no_config:
            client.get_compatibility(subject)
        assert no_config.value.error_code == 40408

        assert client.delete_version(subject, 2) == 2
        assert client.get_versions(subject) == [1]
        with pytest.raises(SchemaRegistryError) as not_soft:
            client.delete_subject(subject, permanent=True)
        assert not_soft.value.error_code == 40405
        assert client.delete_subject(subject) == [1]
        assert client.get_subjects() == []
        assert client.get_schema(v1_id).schema_str == V1  # old data still decodes
        assert client.delete_subject(subject, permanent=True) == [1, 2]
        with pytest.raises(SchemaRegistryError) as gone:
            client.get_versions(subject)
        assert gone.value.error_code == 40401


def test_serializer_auto_registration_is_refused_for_a_breaking_change() -> None:
    ctx = SerializationContext("ping", MessageField.VALUE)
    with (
        SchemaStore() as store,
        RegistryServer(store) as server,
        SchemaRegistryClient({"url": server.url}) as client,
    ):
        assert AvroSerializer(client, V1)({"n": 1}, ctx) is not None
        with pytest.raises(Exception, match="incompatible"):
            AvroSerializer(client, BREAKING)({"n": 1, "label": "x"}, ctx)
        assert client.get_versions("ping-value") == [1]
