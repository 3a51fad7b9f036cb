"""``hub partner check-record``: the processor's verdict on one record, for every reason a
record is dead-lettered and for a record that is shared. A real registry over HTTP, real
keys and signatures, the reference agreements; no broker."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements.loader import load_agreements
from hub.catalogue.schemas import EVENT_TYPE_ATTR, load_catalogue
from hub.catalogue.topics import partner_topic
from hub.cli.main import build_parser
from hub.config import Settings, project_root
from hub.identity.keys import SigningKey
from hub.identity.signing import sign
from hub.policy.engine import PolicyEngine
from hub.processor.build import partner_keys
from hub.registry import RegistryServer, SchemaStore
from hub.registry.preload import register_catalogue
from hub.sandbox.dryrun import RecordChecker
from hub.sandbox.record import RecordFile, parse_record, record_document
from hub.sandbox.samples import sample_event

ROOT = project_root()
POLICE = "merseyside-police"
TOPIC = partner_topic(POLICE, "safeguarding-concern")
NOW = datetime.now(UTC)


@dataclass
class World:
    settings: Settings
    registry: str
    police: SigningKey
    council: SigningKey
    event: dict[str, Any]
    value: bytes

    def record(
        self, value: bytes | None = None, signer: SigningKey | None = None, topic: str = TOPIC
    ) -> RecordFile:
        value = self.value if value is None else value
        key = self.event["envelope"]["event_id"].encode()
        headers = list(sign(signer, topic, key, value)) if signer is not None else []
        return RecordFile(topic, key, value, [(n, v) for n, v in headers])

    def check(self, record: RecordFile) -> dict[str, Any]:
        return RecordChecker(self.settings, self.registry).check(record, NOW).as_dict()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("dryrun")
    settings = Settings(data_dir=tmp, max_record_bytes=4096)
    catalogue = load_catalogue(settings.schemas_dir)
    keys = partner_keys(settings)
    with RegistryServer(SchemaStore(f"sqlite:///{tmp / 'registry.db'}")) as server:
        register_catalogue(server.url, catalogue, [TOPIC])
        engine = PolicyEngine(load_agreements(settings.partnership_dir / "agreements"))
        event = sample_event(catalogue, engine, POLICE, "safeguarding-concern", NOW)
        concern = catalogue.get("safeguarding-concern")
        assert concern is not None
        serialize = AvroSerializer(
            SchemaRegistryClient({"url": server.url}),
            concern.schema_str,
            conf={"auto.register.schemas": False, "use.latest.version": True},
        )
        value = serialize(event, SerializationContext(TOPIC, MessageField.VALUE))
        yield World(
            settings,
            server.url,
            keys.dev_signing_key(POLICE),
            keys.dev_signing_key("liverpool-cc"),
            event,
            value,
        )


def test_a_good_record_is_shared_and_says_in_what_form(world: World) -> None:
    verdict = world.check(world.record(signer=world.police))
    assert verdict["verdict"] == "accepted", verdict
    assert [c["check"] for c in verdict["checks"]] == [
        "topic",
        "signature",
        "schema",
        "source partner",
        "event id",
    ]
    shared = [d for d in verdict["decisions"] if d["outcome"] == "shared"]
    assert shared and all(d["agreement"] and d["fields"] for d in shared)
    withheld = [d for d in verdict["decisions"] if d["outcome"] == "withheld"]
    assert all(d["reason"] and not d["fields"] for d in withheld)


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("unsigned", "unsigned", "no signature headers"),
        ("stranger's key", "bad-signature", "does not match the record"),
        ("unregistered key id", "unknown-signer", "is not registered"),
        ("another partner's topic", "partner-mismatch", "signed by merseyside-police"),
        ("another partner's key", "partner-mismatch", "signed by liverpool-cc"),
        ("oversize", "malformed", "over the 4096-byte limit"),
        ("not a partner topic", "malformed", "not a partner topic"),
        ("JSON instead of Avro", "malformed", "magic byte is 123"),
        ("unknown schema id", "unknown-schema", "schema id 9999 is not registered"),
        ("trailing bytes", "malformed", "trailing bytes"),
    ],
)
def test_dead_letter_reasons(world: World, case: str, code: str, says: str) -> None:
    police, stranger = world.police, SigningKey(world.police.key_id, Ed25519PrivateKey.generate())
    record = {
        "unsigned": lambda: world.record(),
        "stranger's key": lambda: world.record(signer=stranger),
        "unregistered key id": lambda: world.record(
            signer=SigningKey(f"{POLICE}/nope", Ed25519PrivateKey.generate())
        ),
        "another partner's topic": lambda: world.record(
            signer=police, topic=partner_topic("liverpool-cc", "mash-referral")
        ),
        "another partner's key": lambda: world.record(signer=world.council),
        "oversize": lambda: world.record(world.value + b"x" * 5000, police),
        "not a partner topic": lambda: world.record(signer=police, topic="hub.audit.v1"),
        "JSON instead of Avro": lambda: world.record(json.dumps({"a": 1}).encode(), police),
        "unknown schema id": lambda: world.record(
            b"\x00" + (9999).to_bytes(4, "big") + world.value[5:], police
        ),
        "trailing bytes": lambda: world.record(world.value + b"\x00\x00", police),
    }[case]()
    verdict = world.check(record)
    assert verdict["verdict"] == "dead-letter"
    assert verdict["reason_code"] == code, verdict
    assert says in verdict["reason"]
    assert verdict["fix"]


def test_spoofed_source_partner(world: World) -> None:
    client = SchemaRegistryClient({"url": world.registry})
    concern = load_catalogue(world.settings.schemas_dir).get("safeguarding-concern")
    assert concern is not None
    serialize = AvroSerializer(client, concern.schema_str)
    spoofed = json.loads(json.dumps(world.event))
    spoofed["envelope"]["source_partner"] = "liverpool-cc"
    value = serialize(spoofed, SerializationContext(TOPIC, MessageField.VALUE))
    verdict = world.check(world.record(value, world.police))
    assert verdict["reason_code"] == "partner-mismatch"
    assert "claims source_partner='liverpool-cc'" in verdict["reason"]


def test_schema_without_event_type_attribute_is_recognised(world: World) -> None:
    concern = load_catalogue(world.settings.schemas_dir).get("safeguarding-concern")
    assert concern is not None
    bare = {k: v for k, v in concern.schema.items() if k != EVENT_TYPE_ATTR}
    client = SchemaRegistryClient({"url": world.registry})
    schema_id = client.register_schema("bare-value", Schema(json.dumps(bare), "AVRO"))
    value = b"\x00" + schema_id.to_bytes(4, "big") + world.value[5:]
    assert world.check(world.record(value, world.police))["verdict"] == "accepted"


def test_record_file_round_trip_and_the_command(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = world.record(signer=world.police)
    doc = record_document(record.topic, record.key, record.value, record.headers)
    assert parse_record(json.loads(json.dumps(doc))) == record
    path = tmp_path / "record.json"
    path.write_text(json.dumps(doc))
    parser = build_parser()
    args = parser.parse_args(
        ["partner", "check-record", str(path), "--registry-url", world.registry, "--json"]
    )
    monkeypatch.setenv("HUB_DATA_DIR", str(world.settings.data_dir))
    assert args.handler(args) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "accepted"
    doc["value_base64"] = base64.b64encode(b"{}").decode()
    path.write_text(json.dumps(doc))
    assert args.handler(args) == 1
    # The value changed after signing: identity fails before anything is decoded.
    assert json.loads(capsys.readouterr().out)["reason_code"] == "bad-signature"


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ([], "expected a JSON object"),
        ({"key": "k"}, "'topic' is required"),
        ({"topic": "t", "value_base64": "***"}, "not valid base64"),
        ({"topic": "t", "headers": {"hub.sig": 1}}, "must be text, null or"),
        ({"topic": "t", "headers": [["h", {"base64": "%%"}]]}, "not valid base64"),
        ({"topic": "t", "headers": [["only-a-name"]]}, "is not [name, value]"),
    ],
)
def test_bad_record_files_say_what_is_wrong(doc: Any, says: str) -> None:
    from hub.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_record(doc)
    assert says in str(err.value)


def test_batch_signed_records_and_binary_headers(world: World) -> None:
    """The SDK's batch form (what ``hub partner publish`` sends) judged from its dump, with a
    header that is not text carried as base64 and covered by the batch signature."""
    from hub.identity.batch import Outgoing, sign_batch

    key = world.event["envelope"]["event_id"].encode()
    records = sign_batch(
        world.police,
        [Outgoing(TOPIC, key, world.value, [("x-binary", b"\xff\x00")]) for _ in range(3)],
    )
    doc = record_document(TOPIC, key, world.value, records[1].headers)
    assert ["x-binary", {"base64": "/wA="}] in doc["headers"]
    verdict = world.check(parse_record(json.loads(json.dumps(doc))))
    assert verdict["verdict"] == "accepted", verdict
    assert "batch form" in verdict["checks"][1]["result"]
    doc["headers"][0] = ["x-binary", {"base64": "/wE="}]  # a covered header changed
    assert world.check(parse_record(doc))["reason_code"] == "bad-signature"
