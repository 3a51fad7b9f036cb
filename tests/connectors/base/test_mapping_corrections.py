"""Issue 18 from the mapped sources (drop folder files, SQL poller rows): a revision column
maps to ``envelope.revision`` (the same row key, so the same event id), and a retraction file
maps rows to ``event-retraction`` events; a bad revision or reason is refused naming the
field, as any mapped value."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base.errors import RecordRejected
from connectors.base.mapping import Mapper, MappingConfig
from hub.catalogue import Catalogue, EventType
from tests.connectors.base.test_mapping import PARTNER, mapper, row


def test_a_revision_column_makes_a_correction_of_the_same_event(concern_type: EventType) -> None:
    m = mapper(concern_type, **{"envelope.revision": "Version"})
    original = m.map(row(Version="1"))
    corrected = m.map(row(Version="2", DOB="02/03/2012"))
    assert original["envelope"]["event_id"] == corrected["envelope"]["event_id"]
    assert (original["envelope"]["revision"], corrected["envelope"]["revision"]) == (1, 2)
    with pytest.raises(RecordRejected) as caught:
        m.map(row(Version="two"))
    assert caught.value.field == "envelope.revision" or "Version" in str(caught.value)
    # Without the column every event is an original.
    assert mapper(concern_type).map(row())["envelope"]["revision"] == 1


RETRACTIONS: dict[str, Any] = {
    "event_id": {"key": ["Ref", "Reason"]},
    "fields": {
        "retracted_event_id": "EventId",
        "envelope.occurred_at": {"column": "When", "format": "%d/%m/%Y %H:%M"},
        "reason": {
            "column": "Reason",
            "values": {"ERROR": "RAISED_IN_ERROR", "WRONG": "WRONG_PERSON", "DUP": "DUPLICATE"},
        },
        "reason_text": "Note",
    },
}


def test_a_retraction_file_row_is_an_event_retraction(catalogue: Catalogue) -> None:
    et = catalogue.get("event-retraction")
    assert et is not None
    m = Mapper(et, PARTNER, MappingConfig.model_validate(RETRACTIONS))
    line = {
        "Ref": "MP-2026-004211",
        "EventId": "0b7e6a0e-5f51-4d63-9c1a-2f0a8f0d7c11",
        "When": "23/11/2026 09:30",
        "Reason": "WRONG",
        "Note": "",
    }
    event = m.map(line)
    assert event["envelope"]["event_type"] == "event-retraction"
    assert str(event["retracted_event_id"]) == line["EventId"]
    assert event["reason"] == "WRONG_PERSON" and event["reason_text"] is None
    assert m.map(line)["envelope"]["event_id"] == event["envelope"]["event_id"], "re-sent: same"
    with pytest.raises(RecordRejected):
        m.map(line | {"Reason": "BECAUSE"})
    with pytest.raises(RecordRejected):
        m.map(line | {"EventId": "not-a-uuid"})
