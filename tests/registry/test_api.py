"""The HTTP API: Confluent's routes, bodies and error codes, and the real Confluent client."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastapi.testclient import TestClient

from connectors.synthetic.police import PoliceFeed
from hub.catalogue import load_catalogue
from hub.registry import RegistryServer, SchemaStore, create_app

# The standalone schema partners register: shared types inlined by the catalogue.
_CONCERN_TYPE = load_catalogue(Path(__file__).resolve().parents[2] / "schemas" / "avro").get(
    "safeguarding-concern"
)
assert _CONCERN_TYPE is not None
CONCERN = _CONCERN_TYPE.schema_str
PING = json.dumps({"type": "record", "name": "Ping", "fields": [{"name": "n", "type": "int"}]})
PONG = json.dumps({"type": "record", "name": "Pong", "fields": [{"name": "n", "type": "int"}]})
MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"


@pytest.fixture
def api() -> Iterator[TestClient]:
    with SchemaStore() as store, TestClient(create_app(store)) as client:
        yield client


class Reply(Protocol):
    """What the tests read from a response (TestClient and httpx responses both fit)."""

    @property
    def status_code(self) -> int: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


def register(api: TestClient, subject: str, schema: str, **extra: Any) -> Reply:
    return api.post(f"/subjects/{subject}/versions", json={"schema": schema, **extra})


def assert_error(response: Reply, status: int, code: int, says: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    assert says in body["message"]


def test_root_types_and_media_type(api: TestClient) -> None:
    response = api.get("/")
    assert response.json() == {}
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    assert api.get("/schemas/types").json() == ["AVRO"]


def test_register_and_read_back(api: TestClient) -> None:
    api.put("/config/ping-value", json={"compatibility": "NONE"})  # Ping -> Pong is breaking
    first = register(api, "ping-value", PING, schemaType="AVRO", references=[])
    assert first.status_code == 200
    schema_id = first.json()["id"]
    assert register(api, "ping-value", PING).json()["id"] == schema_id
    assert register(api, "other-value", PING).json()["id"] == schema_id
    assert register(api, "ping-value", PONG).json()["version"] == 2

    by_id = api.get(f"/schemas/ids/{schema_id}", params={"subject": "ping-value"}).json()
    assert by_id["schema"] == PING and by_id["schemaType"] == "AVRO"
    assert api.get(f"/schemas/ids/{schema_id}/schema").json() == json.loads(PING)
    assert api.get(f"/schemas/guids/{by_id['guid']}").json()["id"] == schema_id
    assert api.get(f"/schemas/ids/{schema_id}/subjects").json() == ["other-value", "ping-value"]
    assert api.get("/subjects", params={"deleted": "False"}).json() == [
        "other-value",
        "ping-value",
    ]
    assert api.get("/subjects", params={"subjectPrefix": "p"}).json() == ["ping-value"]
    assert api.get("/subjects/ping-value/versions").json() == [1, 2]

    latest = api.get("/subjects/ping-value/versions/latest").json()
    assert (latest["subject"], latest["version"], latest["schema"]) == ("ping-value", 2, PONG)
    assert api.get("/subjects/ping-value/versions/1", params={"deleted": "true"}).json()["id"] == (
        schema_id
    )
    assert api.get("/subjects/ping-value/versions/-1/schema").json() == json.loads(PONG)

    found = api.post(
        "/subjects/ping-value",
        params={"normalize": "False", "deleted": "False"},
        json={"schema": PING},
    )
    assert (found.json()["version"], found.json()["id"]) == (1, schema_id)


def test_not_found_codes(api: TestClient) -> None:
    register(api, "ping-value", PING)
    assert_error(api.get("/subjects/nope/versions"), 404, 40401, "Subject 'nope' not found.")
    assert_error(api.get("/subjects/nope/versions/latest"), 404, 40401)
    assert_error(api.get("/subjects/ping-value/versions/9"), 404, 40402, "Version 9")
    assert_error(api.get("/schemas/ids/99"), 404, 40403, "Schema 99 not found")
    assert_error(api.get("/schemas/ids/99/schema"), 404, 40403)
    assert_error(api.post("/subjects/ping-value", json={"schema": PONG}), 404, 40403)
    assert_error(api.post("/subjects/nope", json={"schema": PING}), 404, 40401)
    assert_error(api.get("/no/such/route"), 404, 404)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"schema": "{oops"}, "not valid JSON"),
        ({"schema": PING.replace('"int"', '"Missing"')}, "unknown type name 'Missing'"),
        ({"schema": PING, "schemaType": "PROTOBUF"}, "supports only AVRO"),
        ({"schema": PING, "schemaType": "JSON"}, "supports only AVRO"),
        ({"schema": ""}, "non-empty string"),
        ({}, "non-empty string"),
        ({"schema": PING, "references": [{"name": "x", "subject": "y", "version": 1}]}, "refer"),
    ],
)
def test_invalid_schema_422(api: TestClient, body: dict[str, Any], says: str) -> None:
    register(api, "ping-value", PING)
    response = api.post("/subjects/ping-value/versions", json=body)
    assert_error(response, 422, 42201, says)
    assert api.get("/subjects").json() == ["ping-value"]
    assert api.get("/subjects/ping-value/versions").json() == [1]


@pytest.mark.parametrize("version", ["0", "abc", "-2", "2147483648"])
def test_invalid_version_422(api: TestClient, version: str) -> None:
    register(api, "ping-value", PING)
    response = api.get(f"/subjects/ping-value/versions/{version}")
    assert_error(response, 422, 42202, f"'{version}' is not a valid version")


def test_malformed_request_uses_confluent_error_shape(api: TestClient) -> None:
    response = api.post(
        "/subjects/x/versions", content=b"{nope", headers={"Content-Type": MEDIA_TYPE}
    )
    assert_error(response, 422, 422)
    assert_error(api.get("/schemas/ids/abc"), 422, 422)


def test_config(api: TestClient) -> None:
    assert api.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert api.put("/config", json={"compatibility": "NONE"}).json() == {"compatibility": "NONE"}
    assert api.get("/config").json() == {"compatibilityLevel": "NONE"}
    assert_error(api.put("/config", json={"compatibility": "MAYBE"}), 422, 42203)
    assert_error(api.put("/config", json={}), 422, 42203)
    assert api.get("/config").json() == {"compatibilityLevel": "NONE"}


def sample_concern() -> dict[str, Any]:
    return PoliceFeed(seed=3).next_event()


def test_confluent_client_and_avro_serdes_end_to_end() -> None:
    topic = "merseyside-police.safeguarding-concern"
    subject = f"{topic}-value"
    ctx = SerializationContext(topic, MessageField.VALUE)
    record = sample_concern()
    with (
        SchemaStore() as store,
        RegistryServer(store) as server,
        SchemaRegistryClient({"url": server.url}) as producer_side,
        # A separate client so decoding really fetches the writer schema by id.
        SchemaRegistryClient({"url": server.url}) as consumer_side,
    ):
        assert server.url == f"http://127.0.0.1:{server.port}"
        payload = AvroSerializer(producer_side, CONCERN)(record, ctx)
        assert payload is not None

        latest = producer_side.get_latest_version(subject)
        assert latest.subject == subject and latest.version == 1
        assert latest.schema_id is not None
        assert payload[0] == 0
        assert struct.unpack(">I", payload[1:5])[0] == latest.schema_id

        decoded = AvroDeserializer(consumer_side)(payload, ctx)
        assert decoded is not None
        decoded["envelope"]["event_id"] = str(decoded["envelope"]["event_id"])  # a UUID
        # Fields the feed leaves out come back with their schema defaults.
        assert {name: decoded[name] for name in record} == record

        fetched = consumer_side.get_schema(latest.schema_id)
        # As the serializer submitted it (it strips whitespace): docs and hub.tags survive.
        assert fetched.schema_str == CONCERN.strip()
        again = consumer_side.register_schema(subject, Schema(CONCERN, "AVRO"))
        assert again == latest.schema_id
        assert consumer_side.get_subjects() == [subject]
        assert consumer_side.get_versions(subject) == [1]
        assert consumer_side.lookup_schema(subject, Schema(CONCERN, "AVRO")).version == 1
        assert consumer_side.get_compatibility() == "BACKWARD"
        url = server.url
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)
