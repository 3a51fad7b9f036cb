"""``hub partner check-record FILE`` and ``hub partner publish``: a partner team's tools.

``check-record`` gives the verdict the processor would give one record (a JSON file, see
hub/sandbox/record.py): signature, schema, source partner, which agreements would share it
with whom and in what form, or the dead-letter reason and the fix. ``publish`` sends a
signed sample event (or an event from a JSON file) the way a partner's own code would, and
``--dump`` writes the record it sent in the form ``check-record`` reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any, cast

from hub.errors import ConfigError


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "partner", help="a partner team's tools: dry-run one record, publish a sample event"
    )
    sub = p.add_subparsers(dest="partner_command", required=True)
    check = sub.add_parser(
        "check-record", help="the verdict the processor would give one record (JSON file)"
    )
    check.add_argument("file", type=Path, help="the record: topic, key, value_base64, headers")
    check.add_argument("--registry-url", default=None, help="default HUB_SCHEMA_REGISTRY_URL")
    check.add_argument("--json", action="store_true", help="the verdict as one JSON object")
    check.set_defaults(handler=handle_check)

    pub = sub.add_parser("publish", help="publish one signed event as a partner would")
    pub.add_argument("--partner", required=True, help="your partner id")
    pub.add_argument("--event-type", required=True, help="e.g. safeguarding-concern")
    pub.add_argument(
        "--signing-key",
        type=Path,
        required=True,
        help="your Ed25519 private key (PEM), named <partner>.<key name>.key",
    )
    pub.add_argument("--key-id", default=None, help="default <partner>/<key name> from the file")
    pub.add_argument(
        "--event", type=Path, default=None, help="the event as JSON (default: a sample)"
    )
    pub.add_argument("--dump", type=Path, default=None, help="write the record sent, as JSON")
    pub.set_defaults(handler=handle_publish)


def _registry_url(given: str | None) -> str:
    from hub.config import load_settings

    url = given or load_settings().schema_registry_url
    if not url:
        raise ConfigError("set --registry-url or HUB_SCHEMA_REGISTRY_URL")
    return url


def handle_check(args: argparse.Namespace) -> int:
    from hub.config import load_settings
    from hub.sandbox.dryrun import RecordChecker
    from hub.sandbox.record import load_record_file

    record = load_record_file(args.file)
    verdict = RecordChecker(load_settings(), _registry_url(args.registry_url)).check(record)
    if args.json:
        print(json.dumps(verdict.as_dict(), indent=2))
    else:
        print("\n".join(verdict.lines()))
    return 0 if verdict.accepted else 1


def _signing_key(path: Path, key_id: str | None, partner: str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hub.identity.keys import SigningKey

    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable PEM private key: {exc}") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 private key")
    if key_id is None:
        owner, _, name = path.name.removesuffix(".key").partition(".")
        key_id = f"{owner}/{name or 'default'}"
    if key_id.split("/", 1)[0] != partner:
        raise ConfigError(f"key id {key_id} is not {partner}'s: pass --key-id {partner}/<name>")
    return SigningKey(key_id, loaded)


def _event(args: argparse.Namespace) -> dict[str, Any]:
    from datetime import UTC, datetime

    from hub.agreements.loader import load_agreements
    from hub.catalogue.schemas import load_catalogue
    from hub.config import load_settings
    from hub.policy.engine import PolicyEngine
    from hub.sandbox.samples import sample_event

    if args.event is not None:
        try:
            event: dict[str, Any] = json.loads(args.event.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{args.event}: cannot read the event: {exc}") from exc
        return event
    settings = load_settings()
    engine = PolicyEngine(load_agreements(settings.partnership_dir / "agreements"))
    catalogue = load_catalogue(settings.schemas_dir)
    return sample_event(catalogue, engine, args.partner, args.event_type, datetime.now(UTC))


def handle_publish(args: argparse.Namespace) -> int:
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from hub.catalogue.schemas import load_catalogue
    from hub.catalogue.topics import partner_topic
    from hub.config import load_settings
    from hub.identity.batch import Outgoing, sign_batch
    from hub.kafka import KafkaConnection
    from hub.sandbox.record import record_document

    settings = load_settings()
    if not settings.bootstrap_servers:
        raise ConfigError("set HUB_BOOTSTRAP_SERVERS (hub sandbox prints it)")
    event_type = load_catalogue(settings.schemas_dir).get(args.event_type)
    if event_type is None:
        raise ConfigError(f"{args.event_type} is not a catalogue event type")
    signer = _signing_key(args.signing_key, args.key_id, args.partner)
    event = _event(args)
    event["envelope"]["event_id"] = event_id = str(uuid.uuid4())  # each publish: a new event
    topic = partner_topic(args.partner, event_type.slug)
    # The stock Confluent serializer and the SDK's signature (a batch of one), as a partner's
    # connector sends them; what is dumped is exactly what is sent.
    serialize = AvroSerializer(
        SchemaRegistryClient({"url": _registry_url(None)}), event_type.schema_str
    )
    value = serialize(event, SerializationContext(topic, MessageField.VALUE))
    [record] = sign_batch(signer, [Outgoing(topic, event_id.encode(), value)])
    if args.dump is not None:
        doc = record_document(record.topic, record.key, record.value, record.headers)
        args.dump.write_text(json.dumps(doc, indent=2) + "\n")
    producer = KafkaConnection.of(settings.bootstrap_servers).producer()
    try:
        headers = cast(list[tuple[str, bytes]], record.headers)  # signature headers: bytes
        producer.produce(record.topic, record.value, record.key, headers)
        producer.flush_or_raise(30)
    finally:
        producer.close()
    print(f"published {event_type.slug} event {event_id} to {topic}", file=sys.stdout)
    return 0
