"""Facts derived from an event by its tags, for conditions: e.g. the subject's age.

Conditions may not be able to compute an age from a date of birth in CEL, and should not
have to know field names: the subject's age comes from the field tagged ``dob`` inside the
record tagged ``person``, measured at the field tagged ``event-time``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from hub.catalogue.schemas import EventType


def get_path(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def age_on(dob: date, when: date) -> int:
    return when.year - dob.year - ((when.month, when.day) < (dob.month, dob.day))


def event_time(event: Mapping[str, Any], event_type: EventType) -> datetime | None:
    for path in event_type.paths_with_tag("event-time"):
        value = get_path(event, path)
        if isinstance(value, datetime):
            return value
    return None


def derive_facts(event: Mapping[str, Any], event_type: EventType) -> dict[str, Any]:
    """Facts keyed by name; a fact that cannot be derived is absent (test with ``has()``)."""
    facts: dict[str, Any] = {}
    when = event_time(event, event_type)
    persons = event_type.person_records()
    if persons and when is not None:
        subject = persons[0]
        for child in subject.children:
            if "dob" in child.tags:
                dob = get_path(event, child.path)
                if isinstance(dob, date):
                    facts["subject_age"] = age_on(dob, when.date())
    return facts


def to_cel(value: Any) -> Any:
    """Avro-decoded values to what CEL understands: dates and UUIDs become strings."""
    if isinstance(value, Mapping):
        return {k: to_cel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_cel(v) for v in value]
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
