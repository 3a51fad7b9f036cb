"""Mapping source rows to catalogue events: coercion by Avro type, errors that name the
field and never the value, and stable event ids."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from connectors.base.errors import (
    ConnectorConfigError,
    MissingColumn,
    MissingValue,
    SchemaInvalid,
    WrongType,
)
from connectors.base.mapping import Mapper, MappingConfig, coerce_event
from hub.catalogue import Catalogue, EventType

PARTNER = "merseyside-police"
FIELDS: dict[str, Any] = {
    "source_reference": "Ref",
    "envelope.occurred_at": {"column": "When", "format": "%d/%m/%Y %H:%M"},
    "subject.given_name": "First",
    "subject.family_name": "Last",
    "subject.aliases": {"column": "Aliases", "split": "|"},
    "subject.date_of_birth": {"column": "DOB", "format": "%d/%m/%Y"},
    "subject.gender": {"column": "Sex", "values": {"F": "FEMALE", "M": "MALE"}},
    "subject.nhs_number": "NHS",
    "concern_category": "Category",
    "risk_level": {"column": "Risk", "values": {"H": "HIGH", "M": "MEDIUM", "L": "LOW"}},
    "borough": "Borough",
    "narrative": "Notes",
}


def mapper(concern_type: EventType, **fields: Any) -> Mapper:
    cfg = MappingConfig.model_validate({"event_id": {"key": ["Ref"]}, "fields": FIELDS | fields})
    return Mapper(concern_type, PARTNER, cfg)


def row(**over: Any) -> dict[str, Any]:
    base = {
        "Ref": "MP-1",
        "When": "15/07/2026 10:30",
        "First": "Ava",
        "Last": "Quillfeather",
        "Aliases": "Avy|A. Q",
        "DOB": "03/04/2012",
        "Sex": "F",
        "NHS": "",
        "Category": "neglect",
        "Risk": "H",
        "Borough": "Liverpool",
        "Notes": "Seen alone at home.",
    }
    return base | over


def test_maps_and_coerces_by_schema(concern_type: EventType) -> None:
    event = mapper(concern_type).map(row())
    env = event["envelope"]
    assert env["source_partner"] == PARTNER and env["event_type"] == "safeguarding-concern"
    # 10:30 in London in July is 09:30 UTC: exports write local time.
    assert env["occurred_at"] == datetime(2026, 7, 15, 9, 30, tzinfo=UTC)
    s = event["subject"]
    assert s["date_of_birth"] == date(2012, 4, 3) and s["gender"] == "FEMALE"
    assert s["aliases"] == ["Avy", "A. Q"]
    assert s["nhs_number"] is None  # empty cell on a nullable field is null, not ""
    assert event["concern_category"] == "NEGLECT"  # case-insensitive enum
    assert event["risk_level"] == "HIGH" and event["borough"] == "LIVERPOOL"
    assert s["postcode"] is None  # unmapped nullable field


def test_event_id_is_stable_per_key_and_partner(concern_type: EventType) -> None:
    m = mapper(concern_type)
    a, b, c = m.map(row()), m.map(row(Notes="edited")), m.map(row(Ref="MP-2"))
    assert a["envelope"]["event_id"] == b["envelope"]["event_id"]
    assert a["envelope"]["event_id"] != c["envelope"]["event_id"]
    uuid.UUID(a["envelope"]["event_id"])


@pytest.mark.parametrize(
    ("over", "error", "field"),
    [
        ({"When": "31/02/2026 10:00"}, WrongType, "envelope.occurred_at"),
        ({"Category": "NOT_A_THING"}, WrongType, "concern_category"),
        ({"DOB": "2012-04-03"}, WrongType, "subject.date_of_birth"),
        ({"First": ""}, MissingValue, "subject.given_name"),
        ({"Ref": " "}, MissingValue, "Ref"),
    ],
)
def test_bad_values_name_the_field_not_the_value(
    concern_type: EventType, over: dict[str, str], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as info:
        mapper(concern_type).map(row(**over))
    assert getattr(info.value, "field", None) == field
    for value in over.values():
        if value.strip():
            assert value not in str(info.value)


def test_missing_column_is_reported(concern_type: EventType) -> None:
    r = row()
    del r["Borough"]
    with pytest.raises(MissingColumn, match="Borough"):
        mapper(concern_type).map(r)


def test_wrong_number_type(catalogue: Catalogue) -> None:
    da = catalogue.get("domestic-abuse-incident")
    assert da is not None
    event = coerce_event_sample(catalogue)
    event["children_in_household"] = "two"
    with pytest.raises(WrongType) as info:
        coerce_event(da, event, PARTNER)
    assert info.value.field == "children_in_household"


def coerce_event_sample(catalogue: Catalogue) -> dict[str, Any]:
    from connectors.synthetic.samples import sample_events
    from hub.catalogue.json_codec import event_to_json

    da = catalogue.get("domestic-abuse-incident")
    assert da is not None
    return event_to_json(da, sample_events(da, PARTNER, 1, seed=3)[0])


def test_json_events_round_trip_and_claims_are_checked(catalogue: Catalogue) -> None:
    da = catalogue.get("domestic-abuse-incident")
    assert da is not None
    data = coerce_event_sample(catalogue)
    event = coerce_event(da, data, PARTNER)
    assert event["envelope"]["source_partner"] == PARTNER
    spoof = dict(data, envelope=dict(data["envelope"], source_partner="wirral-mbc"))
    with pytest.raises(SchemaInvalid) as info:
        coerce_event(da, spoof, PARTNER)
    assert info.value.field == "envelope.source_partner"
    with pytest.raises(SchemaInvalid, match="unknown field"):
        coerce_event(da, dict(data, surprise=1), PARTNER)
    no_id = dict(data, envelope={k: v for k, v in data["envelope"].items() if k != "event_id"})
    with pytest.raises(MissingValue):
        coerce_event(da, no_id, PARTNER)


def test_mapping_checks_fail_at_start_up(concern_type: EventType) -> None:
    with pytest.raises(ConnectorConfigError, match="not a field"):
        mapper(concern_type, **{"subject.shoe_size": "Shoe"})
    fields = {k: v for k, v in FIELDS.items() if k != "borough"}
    cfg = MappingConfig.model_validate({"event_id": {"key": ["Ref"]}, "fields": fields})
    with pytest.raises(ConnectorConfigError, match="required field 'borough' is not mapped"):
        Mapper(concern_type, PARTNER, cfg)
    with pytest.raises(ConnectorConfigError, match="set by the connector"):
        mapper(concern_type, **{"envelope.source_partner": "Partner"})


def test_required_columns(concern_type: EventType) -> None:
    m = mapper(concern_type)
    assert {"Ref", "When", "First", "Last", "Category", "Risk", "Borough"} <= m.required_columns()
    assert "NHS" not in m.required_columns() and "NHS" in m.columns()
