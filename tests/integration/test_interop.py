"""Interoperability: a recipient that shares no code with the hub can read its stream.

After a processor run, every recipient topic is read with kafka-python (a second,
independent Kafka client), each value is split from the Confluent wire format by hand,
its writer schema fetched by id from the registry over plain HTTP and decoded with
fastavro; the decoded records must match what the recipients' sinks (the product's SQL
upsert sink, on SQLite) stored.
"""

from __future__ import annotations

import io
import json
import struct
import threading
import time
import warnings
from typing import Any

import fastavro
import httpx
import pytest

from connectors.synthetic.police import PoliceFeed
from hub.catalogue import EventType, partner_topic, share_topic
from tests.case_systems import CaseSystem
from tests.ingest import ingest
from tests.integration.helpers import POLICE, Pipeline

with warnings.catch_warnings():
    # kafka-python loads its protocol schemas with deprecated importlib.resources calls.
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka

pytestmark = pytest.mark.integration

CANDIDATES = ("liverpool-mash", "knowsley-mash", "modern-slavery-network")
EVENTS = 400


def _json_default(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def normalise(record: Any) -> Any:
    """The same JSON the sink stores (dates as ISO strings, keys sorted)."""
    return json.loads(json.dumps(record, default=_json_default, sort_keys=True))


class RegistryOverHttp:
    """Writer schemas by id with nothing but HTTP and fastavro."""

    def __init__(self, url: str) -> None:
        self._http = httpx.Client(base_url=url, timeout=10)
        self._parsed: dict[int, Any] = {}

    def decode(self, value: bytes) -> tuple[int, dict[str, Any]]:
        assert len(value) >= 5 and value[0] == 0, "not the Confluent wire format"
        (schema_id,) = struct.unpack(">I", value[1:5])
        if schema_id not in self._parsed:
            response = self._http.get(f"/schemas/ids/{schema_id}")
            response.raise_for_status()
            body = response.json()
            assert body.get("schemaType", "AVRO") == "AVRO"
            self._parsed[schema_id] = fastavro.parse_schema(json.loads(body["schema"]))
        buf = io.BytesIO(value[5:])
        record = fastavro.schemaless_reader(buf, self._parsed[schema_id], None)
        assert buf.tell() == len(value) - 5, "trailing bytes after the record"
        assert isinstance(record, dict)
        return schema_id, record

    def close(self) -> None:
        self._http.close()


def read_with_kafka_python(bootstrap: str, topics: list[str]) -> list[Any]:
    """Every record on ``topics``, assigned partitions, from the beginning to the end."""
    consumer = kafka.KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        api_version=(2, 5, 0),
        client_id="interop-reader",
    )
    try:
        partitions = [
            kafka.TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        assert partitions, "kafka-python sees no partitions"
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = {tp: o for tp, o in consumer.end_offsets(partitions).items() if o > 0}
        out: list[Any] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < o for tp, o in ends.items()):
            assert time.monotonic() < deadline, "kafka-python did not reach the end offsets"
            for batch in consumer.poll(timeout_ms=500, max_records=2000).values():
                out.extend(batch)
        return out
    finally:
        consumer.close()


def test_recipient_streams_decode_with_an_independent_client(
    pipeline: Pipeline, concern_type: EventType
) -> None:
    started = time.monotonic()
    share = [share_topic(r, "safeguarding-concern") for r in CANDIDATES]
    pipeline.create_topics(partner_topic(POLICE, "safeguarding-concern"), *share)
    publisher = pipeline.publisher(POLICE, concern_type)
    for event in PoliceFeed(seed=31).events(EVENTS):
        publisher.publish(event)
    publisher.close()

    audit = pipeline.audit_store()
    processor = pipeline.processor()
    stats = processor.run(threading.Event(), until=lambda s: s.consumed >= EVENTS)
    processor.close()
    ingest(pipeline.bootstrap, audit)
    shared = dict(stats.shared)
    assert all(shared.get(r) for r in CANDIDATES), shared

    sinks = pipeline.sinks(CANDIDATES)
    for r, sink in sinks.items():

        def caught_up(k: CaseSystem, n: int = shared[r]) -> bool:
            return k.count() >= n

        sink.run(threading.Event(), until=caught_up)
    stored = {row["disclosure_id"]: (r, row) for r, sink in sinks.items() for row in sink.records()}
    for sink in sinks.values():
        sink.close()
    decisions = {d["disclosure_id"]: d for d in audit.all_decisions() if d["disclosure_id"]}
    audit.close()

    messages = read_with_kafka_python(pipeline.bootstrap, share)
    registry = RegistryOverHttp(pipeline.registry_url)
    seen: set[str] = set()
    try:
        for m in messages:
            headers = dict(m.headers)
            disclosure = headers["hub.disclosure_id"].decode()
            agreement = headers["hub.agreement"].decode()
            assert m.key == disclosure.encode()
            _schema_id, record = registry.decode(m.value)
            recipient, row = stored[disclosure]
            assert m.topic == share_topic(recipient, "safeguarding-concern")
            assert row["agreement"] == agreement
            assert normalise(record) == row["record"], disclosure
            decision = decisions[disclosure]
            assert decision["recipient"] == recipient and decision["outcome"] == "shared"
            assert f"{decision['agreement_id']}@v{decision['agreement_version']}" == agreement
            assert str(record["envelope"]["event_id"]) == decision["event_id"]
            seen.add(disclosure)
    finally:
        registry.close()
    assert seen == set(stored) == set(decisions)
    assert len(messages) == len(stored)  # one clean run: no redelivery, no duplicate
    print(
        f"\ninterop: {len(messages)} records on {len(share)} recipient topics read with "
        f"kafka-python {kafka.__version__}, decoded via HTTP + fastavro; "
        f"{time.monotonic() - started:.1f}s"
    )
