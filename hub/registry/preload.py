"""Register every catalogue schema under the subjects partners publish to.

After ``hub deploy apply --registry-url`` (and in ``hub sandbox``) the registry holds, for
each partner topic, the event type's standalone schema under ``<topic>-value`` (Confluent's
default TopicNameStrategy): a partner's serializer finds it, or registers the same text and
gets the same id. Idempotent: registering a schema a subject already has returns its id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from hub.catalogue.schemas import Catalogue
from hub.catalogue.topics import parse_partner_topic
from hub.errors import ConfigError
from hub.translate import registry_errors


@dataclass(frozen=True)
class Registered:
    subject: str
    schema_id: int


def value_subject(topic: str) -> str:
    return f"{topic}-value"


def register_catalogue(
    registry_url: str, catalogue: Catalogue, partner_topics: Iterable[str]
) -> list[Registered]:
    """Register each partner topic's event type; raises ConfigError naming the subject the
    registry refused (e.g. an incompatible schema already registered there), or
    RegistryUnavailable naming the registry that did not answer."""
    client = SchemaRegistryClient({"url": registry_url})
    done: list[Registered] = []
    for topic in sorted(set(partner_topics)):
        parsed = parse_partner_topic(topic)
        event_type = catalogue.get(parsed.event_type) if parsed else None
        if event_type is None:
            continue  # not a catalogue event type's topic: nothing to register
        subject = value_subject(topic)
        # Refused (e.g. an incompatible schema already there): the deployment's to fix;
        # any other failure: the registry is away (RegistryUnavailable), try again.
        what = f"{event_type.slug} under {subject} on {registry_url}"
        with registry_errors(what, _refused):
            schema_id = client.register_schema(subject, Schema(event_type.schema_str, "AVRO"))
        done.append(Registered(subject, schema_id))
    return done


def _refused(message: str, _status: int) -> ConfigError:
    return ConfigError(f"schema registry refused {message}")
