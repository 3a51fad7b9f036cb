from __future__ import annotations

from pathlib import Path

import pytest

from hub.catalogue import Catalogue, EventType, parse_partner_topic, partner_topic, share_topic
from hub.catalogue.schemas import load_catalogue
from hub.errors import ConfigError

PERSONAL = {"pii.direct", "pii.quasi", "special-category", "free-text"}


def test_every_field_has_a_doc(catalogue: Catalogue) -> None:
    for et in catalogue.event_types.values():
        for f in et.walk():
            assert f.doc.strip(), f"{et.name}.{f.path} has no doc"


def test_personal_fields_are_tagged(concern_type: EventType) -> None:
    tagged = {f.path for f in concern_type.walk() if f.tags & PERSONAL}
    assert {
        "subject.given_name",
        "subject.family_name",
        "subject.date_of_birth",
        "subject.address",
        "subject.postcode",
        "narrative",
    } <= tagged


def test_topic_names_round_trip() -> None:
    topic = partner_topic("merseyside-police", "safeguarding-concern")
    parsed = parse_partner_topic(topic)
    assert parsed is not None and parsed.partner == "merseyside-police" and parsed.version == 1
    assert parse_partner_topic(share_topic("liverpool-mash", "safeguarding-concern")) is None
    assert parse_partner_topic("partner.Bad_Name.x.v1") is None


def test_schema_without_event_type_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.avsc").write_text('{"type": "record", "name": "X", "fields": []}')
    with pytest.raises(ConfigError, match=r"hub\.event_type"):
        load_catalogue(tmp_path)
