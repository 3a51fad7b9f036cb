"""Schemas the processor needs from the registry, cached: writer schemas by id, and the
recipient output schemas it derives and registers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from hub.catalogue.expand import full_name
from hub.catalogue.schemas import EVENT_TYPE_ATTR, Catalogue, EventType
from hub.catalogue.topics import share_topic
from hub.errors import HubError, Terminal, UnknownSchema
from hub.policy.plan import RecordPlan
from hub.privacy.output_schema import derive_output_schema
from hub.translate import registry_errors


class OutputSchemaRejected(HubError, Terminal):
    """The registry refused a derived recipient schema: that disclosure is withheld (and
    audited with the reason), the processor goes on."""


def _unknown_schema(schema_id: int) -> Callable[[str, int], UnknownSchema]:
    def refused(_message: str, _status: int) -> UnknownSchema:
        return UnknownSchema(
            f"schema id {schema_id} is not registered",
            fix="register the schema (the Confluent serializer does this) before producing",
        )

    return refused


@dataclass(frozen=True)
class WriterSchema:
    schema_id: int
    event_type: EventType
    parsed: Any
    # The catalogue's schema to resolve into, or None when the partner wrote with exactly
    # it: fastavro then skips schema resolution, which was a large part of decoding.
    reader: Any = None


@dataclass(frozen=True)
class OutputSchema:
    schema_id: int
    topic: str
    parsed: Any


def _by_full_name(catalogue: Catalogue, name: str) -> EventType | None:
    return next(
        (e for e in catalogue.event_types.values() if full_name(e.schema, None) == name), None
    )


class SchemaCache:
    def __init__(self, client: SchemaRegistryClient, catalogue: Catalogue) -> None:
        self._client = client
        self._catalogue = catalogue
        self._writers: dict[int, WriterSchema] = {}
        self._outputs: dict[tuple[str, str], OutputSchema] = {}
        self._configured: set[str] = set()

    def writer(self, schema_id: int) -> WriterSchema:
        cached = self._writers.get(schema_id)
        if cached is not None:
            return cached
        with registry_errors(f"schema id {schema_id}", _unknown_schema(schema_id), (404,)):
            schema = self._client.get_schema(schema_id)
        try:
            raw = json.loads(schema.schema_str or "")
        except json.JSONDecodeError as exc:
            raise UnknownSchema(f"schema id {schema_id} is not JSON Avro") from exc
        slug = raw.get(EVENT_TYPE_ATTR) if isinstance(raw, dict) else None
        event_type = self._catalogue.get(slug) if isinstance(slug, str) else None
        if event_type is None and slug is None and isinstance(raw, dict) and "name" in raw:
            # Serializers that drop unknown attributes (or a schema typed in by hand) lose
            # "hub.event_type": the record's full name identifies the event type as well.
            event_type = _by_full_name(self._catalogue, full_name(raw, None))
        if event_type is None:
            raise UnknownSchema(
                f"schema id {schema_id} is not a catalogue event type ({slug!r})",
                fix="use a schema from the hub catalogue (schemas/avro)",
            )
        same = fastavro.schema.to_parsing_canonical_form(
            raw
        ) == fastavro.schema.to_parsing_canonical_form(event_type.schema)
        written = WriterSchema(
            schema_id,
            event_type,
            fastavro.parse_schema(raw),
            None if same else event_type.parsed,
        )
        self._writers[schema_id] = written
        return written

    def output(self, plan: RecordPlan, event_type: EventType, recipient: str) -> OutputSchema:
        key = (recipient, plan.agreement_ref)
        cached = self._outputs.get(key)
        if cached is not None:
            return cached
        schema = derive_output_schema(plan, event_type, recipient)
        topic = share_topic(recipient, event_type.slug)
        # One subject per (recipient topic, agreement): several agreements can feed one
        # recipient topic with different shapes (e.g. NRM referrals identified, Duty to
        # Notify reports anonymous), and the subject's versions are then the history of
        # that agreement's contract. The agreement, approved by IG, decides the shape, so
        # registry compatibility rules must not veto it: the subject is set to NONE.
        subject = f"{topic}-{plan.agreement_ref.split('@')[0]}-value"
        refused = f"registry refused the {recipient} schema of {plan.agreement_ref} ({subject})"
        with registry_errors(refused, lambda msg, _s: OutputSchemaRejected(msg), (409, 422)):
            if subject not in self._configured:
                self._client.set_compatibility(subject_name=subject, level="NONE")
                self._configured.add(subject)
            schema_id = self._client.register_schema(subject, Schema(json.dumps(schema), "AVRO"))
        out = OutputSchema(schema_id, topic, fastavro.parse_schema(schema))
        self._outputs[key] = out
        return out

    def notice(self, recipient: str, event_slug: str) -> OutputSchema:
        """The retraction notice's schema, registered for a recipient's topic (issue 18;
        hub/catalogue/notice.py): fixed, so once per topic."""
        from hub.catalogue.notice import RETRACTION_NOTICE_SCHEMA, notice_subject

        key = (recipient, f"notice:{event_slug}")
        cached = self._outputs.get(key)
        if cached is not None:
            return cached
        topic = share_topic(recipient, event_slug)
        subject = notice_subject(topic)
        refused = f"registry refused the retraction notice schema for {recipient} ({subject})"
        with registry_errors(refused, lambda msg, _s: OutputSchemaRejected(msg), (409, 422)):
            schema_id = self._client.register_schema(
                subject, Schema(json.dumps(RETRACTION_NOTICE_SCHEMA), "AVRO")
            )
        out = OutputSchema(schema_id, topic, fastavro.parse_schema(RETRACTION_NOTICE_SCHEMA))
        self._outputs[key] = out
        return out
