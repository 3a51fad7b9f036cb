"""The event catalogue: every schema is valid, documented and tagged, and sample records of
every type survive the real wire path (fastavro, the embedded registry, Confluent serdes)."""

from __future__ import annotations

import copy
import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from connectors.synthetic.samples import VALUES_ATTR, SampleGenerator, sample_events
from hub.agreements import Agreement
from hub.agreements.models import FieldClause
from hub.catalogue import Catalogue, EventType, partner_topic
from hub.catalogue.expand import NAMED, collect_named
from hub.catalogue.schemas import TAGS_ATTR, event_type_from_schema
from hub.policy.facts import derive_facts
from hub.policy.plan import compile_plan
from hub.privacy.output_schema import derive_output_schema
from hub.registry import RegistryServer, SchemaStore
from hub.registry.compatibility import check_compatibility

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "avro"
PERSON = "uk.partnership.hub.common.Person"
# Who publishes each type in the reference partnership (the sample's source_partner).
PUBLISHERS = {
    "assault-attendance": "nhs-cm",
    "domestic-abuse-incident": "merseyside-police",
    "event-retraction": "merseyside-police",  # any partner, for its own events
    "iom-cohort-change": "merseyside-police",
    "linkage-alert": "hub-analytics",  # raised by the hub's analytics, never by a partner
    "mash-decision": "liverpool-cc",
    "mash-referral": "merseyside-police",
    "missing-episode": "merseyside-police",
    "modern-slavery-referral": "merseyside-police",
    "probation-update": "probation-nw",
    "safe-and-well-referral": "merseyside-fire",
    "safeguarding-concern": "merseyside-police",
    "youth-justice-outcome": "yjs-liverpool",
}
SLUGS = sorted(PUBLISHERS)
# Untagged free strings are allowed only where they hold codes or organisation names;
# anything else new must be tagged (free-text, pii.*) or become an enum.
UNTAGGED_STRINGS = {"event_type", "correlation_id", "partner_id", "name"}
N_SAMPLES = 200


@pytest.fixture(params=SLUGS)
def event_type(request: pytest.FixtureRequest, catalogue: Catalogue) -> EventType:
    et = catalogue.get(request.param)
    assert et is not None, f"{request.param} is missing from the catalogue"
    return et


def raw_schema(et: EventType) -> dict[str, Any]:
    path = SCHEMAS / f"{et.name}.avsc"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def records(node: Any, ns: str | None = None) -> Iterator[dict[str, Any]]:
    """Every record definition in an expanded schema."""
    named: dict[str, dict[str, Any]] = {}
    collect_named(node, ns, named)
    yield from (n for n in named.values() if n["type"] == "record")


def non_null(avro_type: Any) -> Any:
    if isinstance(avro_type, list):
        rest = [t for t in avro_type if t != "null"]
        return rest[0] if len(rest) == 1 else rest
    return avro_type


def is_type(avro_type: Any, name: str) -> bool:
    inner = non_null(avro_type)
    return inner == name or (isinstance(inner, dict) and inner.get("name") == name.split(".")[-1])


def plain(value: Any) -> Any:
    """Decoded records with UUIDs as strings, as publishers write them."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return str(value) if isinstance(value, uuid.UUID) else value


def test_catalogue_holds_every_event_type(catalogue: Catalogue) -> None:
    assert sorted(catalogue.event_types) == SLUGS


def test_top_level_record(event_type: EventType) -> None:
    raw = raw_schema(event_type)
    assert raw["namespace"] == "uk.partnership.hub.events"
    assert raw["doc"].strip()
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", event_type.name).lower()
    assert event_type.slug == kebab
    first = raw["fields"][0]
    assert (first["name"], first["type"], first[TAGS_ATTR]) == (
        "envelope",
        "uk.partnership.hub.common.Envelope",
        ["envelope"],
    )
    assert first["doc"].strip()


def test_registered_text_parses_with_fastavro(event_type: EventType) -> None:
    parsed = fastavro.parse_schema(json.loads(event_type.schema_str))
    assert parsed["name"] == f"uk.partnership.hub.events.{event_type.name}"


def test_every_field_and_type_is_documented_and_explicitly_tagged(event_type: EventType) -> None:
    named: dict[str, dict[str, Any]] = {}
    collect_named(event_type.schema, None, named)
    for full, node in named.items():
        assert node["type"] in NAMED
        assert str(node.get("doc", "")).strip(), f"{event_type.slug}: type {full} has no doc"
    for record in records(event_type.schema):
        for f in record["fields"]:
            where = f"{event_type.slug}: {record['name']}.{f['name']}"
            assert str(f.get("doc", "")).strip(), f"{where} has no doc"
            assert isinstance(f.get(TAGS_ATTR), list), f"{where} has no explicit hub.tags"


def test_event_time_is_only_in_the_envelope(event_type: EventType) -> None:
    assert event_type.paths_with_tag("event-time") == ["envelope.occurred_at"]
    assert event_type.paths_with_tag("event-id") == ["envelope.event_id"]


def test_people_are_persons_with_a_role(event_type: EventType) -> None:
    people = [f for f in event_type.walk() if is_type(f.avro_type, PERSON)]
    for f in people:
        assert len(f.tags & {"person", "related-person"}) == 1, f.path
        assert {c.name for c in f.children if "pii.direct" in c.tags} >= {
            "given_name",
            "family_name",
            "nhs_number",
            "address",
        }
    subjects = [f.path for f in people if "person" in f.tags]
    # Facts such as the subject's age come from the first field tagged 'person'. Assault
    # attendances are anonymous at source; linkage alerts and retractions name events, never a
    # person.
    about_no_one = ("assault-attendance", "linkage-alert", "event-retraction")
    assert len(subjects) == (0 if event_type.slug in about_no_one else 1)
    assert all("." not in p for p in subjects)


def test_free_text_and_personal_values_are_tagged(event_type: EventType) -> None:
    for f in event_type.walk():
        inner = non_null(f.avro_type)
        if "free-text" in f.tags:
            assert inner == "string", f"{f.path}: free text must be a string"
        if not f.is_record and re.search(r"\bfree[- ]text\b", f.doc, re.IGNORECASE):
            assert "free-text" in f.tags, f"{f.path} says it is free text but is not tagged"
        if inner == "string" and not f.tags and not f.path.startswith("envelope."):
            assert f.name in UNTAGGED_STRINGS, f"{f.path}: untagged free string"
        logical = inner.get("logicalType") if isinstance(inner, dict) else None
        if logical in ("date", "time-millis", "timestamp-millis") and "envelope" not in f.path:
            # Exact dates and times of personal events are quasi-identifying.
            assert "pii.quasi" in f.tags, f"{f.path}: a date or time of a personal event"


def test_assault_attendance_carries_no_identifier(catalogue: Catalogue) -> None:
    et = catalogue.get("assault-attendance")
    assert et is not None
    assert not [f.path for f in et.walk() if "pii.direct" in f.tags]
    assert not [f.path for f in et.walk() if f.tags & {"person", "related-person", "reference"}]
    named: dict[str, dict[str, Any]] = {}
    collect_named(et.schema, None, named)
    assert PERSON not in named
    values = et.schema["fields"][-1][VALUES_ATTR]
    assert {s["patient_age_band"] for s in sample_events(et, "nhs-cm", 100)} <= {None, *values}


def test_offence_data_is_tagged(catalogue: Catalogue) -> None:
    for slug, paths in {
        "domestic-abuse-incident": {"perpetrator", "crime_recorded", "summary"},
        "iom-cohort-change": {"change", "cohort", "reason"},
        "probation-update": {"update_kind", "rosh_level", "licence_condition"},
        "youth-justice-outcome": {"outcome_type", "offence_category"},
    }.items():
        et = catalogue.get(slug)
        assert et is not None
        assert paths <= set(et.paths_with_tag("criminal-offence")), slug
    youth = catalogue.get("youth-justice-outcome")
    assert youth is not None and "child" in youth.paths_with_tag("child")


def test_duty_to_notify_report_has_no_person(catalogue: Catalogue) -> None:
    et = catalogue.get("modern-slavery-referral")
    assert et is not None
    victim = et.field("potential_victim")
    assert victim is not None and victim.nullable and victim.is_record
    report = SampleGenerator(et, "merseyside-police", seed=5).next_event()
    report |= {"referral_kind": "DUTY_TO_NOTIFY", "potential_victim": None}
    report |= {"subject_kind": "ADULT", "adult_consent": False}
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, et.parsed, report)
    buf.seek(0)
    back = fastavro.schemaless_reader(buf, et.parsed)
    assert back["potential_victim"] is None
    assert "subject_age" not in derive_facts(back, et)


def test_safeguarding_concern_changed_compatibly(concern_type: EventType) -> None:
    fields = {f["name"]: f for f in concern_type.schema["fields"]}
    # Agreements and golden tests depend on these names and symbols: they never change.
    assert [n for n in fields if n != "subject_kind"] == [
        "envelope",
        "source_reference",
        "subject",
        "concern_category",
        "risk_level",
        "borough",
        "narrative",
    ]
    assert fields["concern_category"]["type"]["symbols"][:4] == [
        "CSE",
        "CCE",
        "COUNTY_LINES",
        "MODERN_SLAVERY",
    ]
    assert fields["risk_level"]["type"]["symbols"] == ["LOW", "MEDIUM", "HIGH"]
    assert fields["subject_kind"]["default"] == "UNKNOWN"

    old = copy.deepcopy(concern_type.schema)
    old["fields"] = [f for f in old["fields"] if f["name"] != "subject_kind"]
    new = concern_type.schema
    assert check_compatibility("FULL", new, [("version 1", old)]) == []

    # An event written before the change reads as UNKNOWN with the new schema.
    event = SampleGenerator(event_type_from_schema(old), "merseyside-police").next_event()
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(old), event)
    buf.seek(0)
    read = fastavro.schemaless_reader(buf, fastavro.parse_schema(old), concern_type.parsed)
    assert read["subject_kind"] == "UNKNOWN"


def test_samples_are_seeded_and_exercise_every_branch(event_type: EventType) -> None:
    partner = PUBLISHERS[event_type.slug]
    first = sample_events(event_type, partner, N_SAMPLES, seed=11)
    assert first == sample_events(event_type, partner, N_SAMPLES, seed=11)
    assert first != sample_events(event_type, partner, N_SAMPLES, seed=12)
    for f in event_type.fields:
        values = [r[f.name] for r in first]
        if f.nullable:
            assert None in values and any(v is not None for v in values), f.path
    for r in first:
        env = r["envelope"]
        assert (env["event_type"], env["source_partner"]) == (event_type.slug, partner)
        assert env["recorded_at"] >= env["occurred_at"]
        assert event_type.event_id(r) == env["event_id"]


def test_samples_round_trip_through_fastavro(event_type: EventType) -> None:
    for record in sample_events(event_type, PUBLISHERS[event_type.slug], N_SAMPLES, seed=3):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, event_type.parsed, record)
        buf.seek(0)
        assert plain(fastavro.schemaless_reader(buf, event_type.parsed)) == record


def test_samples_round_trip_through_the_registry_with_confluent_serdes(
    catalogue: Catalogue,
) -> None:
    with (
        SchemaStore("sqlite://") as store,
        RegistryServer(store) as server,
        SchemaRegistryClient({"url": server.url}) as producer_side,
        # A separate client, so decoding really fetches each writer schema by id.
        SchemaRegistryClient({"url": server.url}) as consumer_side,
    ):
        deserialize = AvroDeserializer(consumer_side)
        for slug in SLUGS:
            et = catalogue.get(slug)
            assert et is not None
            partner = PUBLISHERS[slug]
            topic = partner_topic(partner, slug)
            ctx = SerializationContext(topic, MessageField.VALUE)
            serialize = AvroSerializer(producer_side, et.schema_str)
            for record in sample_events(et, partner, N_SAMPLES, seed=4):
                payload = serialize(record, ctx)
                assert payload is not None and payload[0] == 0
                assert plain(deserialize(payload, ctx)) == record, slug
            assert producer_side.get_latest_version(f"{topic}-value").version == 1
        assert len(consumer_side.get_subjects()) == len(SLUGS)


# Keeping every field exercises the hard case of derived schemas: named types (Person,
# Location, enums) used more than once, whose definition must move to their first use.
@pytest.mark.parametrize("slug", SLUGS)
def test_every_field_kept_gives_a_valid_recipient_schema(
    slug: str, catalogue: Catalogue, reference_agreements: list[Agreement]
) -> None:
    et = catalogue.get(slug)
    assert et is not None
    keep_all = tuple(
        FieldClause(id=f"keep-{f.name}", field=f.name, treatment="keep") for f in et.fields
    )
    agreement = reference_agreements[0].model_copy(
        update={"event_types": (slug,), "fields": keep_all}
    )
    output = fastavro.parse_schema(
        derive_output_schema(compile_plan(agreement, et), et, "test-recipient")
    )
    for record in sample_events(et, PUBLISHERS[slug], 20, seed=8):
        fastavro.schemaless_writer(io.BytesIO(), output, record)
