"""A sink decodes what the hub shares: a damaged record fails that record (a failed receipt)
and is never taken for a registry outage, which is retried and would stall the partition."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator

import fastavro
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from connectors.base.errors import DeliveryFailed
from connectors.base.share_decoder import ShareDecoder
from hub.codec import wire
from hub.errors import RegistryUnavailable, Terminal
from hub.registry.server import RegistryServer
from hub.registry.store import SchemaStore

SCHEMA = {
    "type": "record",
    "name": "Shared",
    "fields": [{"name": "name", "type": "string"}, {"name": "count", "type": "long"}],
}
TOPIC = "share.liverpool-mash.safeguarding-concern.v1"


@pytest.fixture(scope="module")
def registry() -> Iterator[tuple[SchemaRegistryClient, int]]:
    with RegistryServer(SchemaStore("sqlite://")) as server:
        client = SchemaRegistryClient({"url": server.url})
        yield client, client.register_schema(f"{TOPIC}-value", Schema(json.dumps(SCHEMA), "AVRO"))


def _framed(schema_id: int, body: bytes) -> bytes:
    return struct.pack(">bI", 0, schema_id) + body


def test_a_record_decodes(registry: tuple[SchemaRegistryClient, int]) -> None:
    client, schema_id = registry
    value = wire.encode(schema_id, fastavro.parse_schema(SCHEMA), {"name": "a", "count": 3})
    assert ShareDecoder(client).decode(value, TOPIC) == {"name": "a", "count": 3}


@pytest.mark.parametrize(
    "body",
    [
        b"\x0ahel",  # a string longer than the bytes left: fastavro's EOFError
        b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # a length varint out of range
        b"\x01",  # a negative length
        b"\x02a\x02zz",  # a whole record, then bytes left over
    ],
)
def test_damaged_bytes_fail_the_record_not_the_registry(
    registry: tuple[SchemaRegistryClient, int], body: bytes
) -> None:
    client, schema_id = registry
    with pytest.raises(DeliveryFailed, match="cannot be decoded") as caught:
        ShareDecoder(client).decode(_framed(schema_id, body), TOPIC)
    assert isinstance(caught.value, Terminal)
    assert not isinstance(caught.value, RegistryUnavailable)


@pytest.mark.parametrize("value", [None, b"", b"\x00\x00", b"\x01\x00\x00\x00\x01\x02a\x02"])
def test_no_wire_format_header_fails_the_record(
    registry: tuple[SchemaRegistryClient, int], value: bytes | None
) -> None:
    with pytest.raises(DeliveryFailed, match="cannot be decoded"):
        ShareDecoder(registry[0]).decode(value, TOPIC)


def test_an_unknown_schema_id_fails_the_record(registry: tuple[SchemaRegistryClient, int]) -> None:
    with pytest.raises(DeliveryFailed, match="schema not found"):
        ShareDecoder(registry[0]).decode(_framed(999_999, b"\x02a\x02"), TOPIC)


def test_a_registry_that_does_not_answer_is_an_outage() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = SchemaRegistryClient({"url": f"http://127.0.0.1:{port}"})
    with pytest.raises(RegistryUnavailable):
        ShareDecoder(client).decode(_framed(1, b"\x02a\x02"), TOPIC)
