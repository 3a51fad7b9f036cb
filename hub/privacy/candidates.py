"""Finding a person by name alone, without learning more about others than age band and area.

An IG officer answering a subject access request often has a name and little else. The
person token needs the date of birth (a name alone would join every "Jordan O'Neill"), so
each decision also carries a *name-area* token: the keyed HMAC of the normalised name with
the subject's age band (at the event) and the event's borough. The console tokenises the
name typed with every age band and borough (a few dozen combinations) and looks them up:
each combination found is one candidate, shown as "aged 10 to 17, Liverpool", and nothing
more about anyone until the officer picks one. Like every audit token it is in the hub-only
``audit`` domain: it links nothing outside the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from hub.catalogue.schemas import EventType, FieldInfo
from hub.policy.facts import age_on, event_time
from hub.privacy.keys import KeyRing, PseudonymKey
from hub.privacy.normalise import normalise
from hub.privacy.token import make_token

KIND = "name-area"
POSTCODE_KIND = "name-postcode"
UNKNOWN = "UNKNOWN"
# (lowest age, label); the band of an age is the last whose lowest age it reaches.
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (0, "under 10"),
    (10, "10 to 17"),
    (18, "18 to 24"),
    (25, "25 to 39"),
    (40, "40 to 64"),
    (65, "65 or over"),
)
BOROUGHS = ("LIVERPOOL", "KNOWSLEY", "SEFTON", "ST_HELENS", "WIRRAL", "OUT_OF_AREA", UNKNOWN)


def age_band(age: int | None) -> str:
    if age is None or age < 0:
        return UNKNOWN
    return [label for low, label in AGE_BANDS if age >= low][-1]


_FIELDS: dict[int, tuple[FieldInfo, list[FieldInfo], list[str], list[FieldInfo]]] = {}


def search_fields(person: FieldInfo) -> tuple[list[FieldInfo], list[str], list[FieldInfo]]:
    """(name fields, date-of-birth field names, postcode fields) of a person record, worked
    out once per schema field: this runs for every event on the processor's hot path."""
    hit = _FIELDS.get(id(person))
    if hit is None or hit[0] is not person:
        names = [c for c in person.children if "identity" in c.tags and "name" in c.tags]
        dobs = [c.name for c in person.children if "dob" in c.tags]
        postcodes = [c for c in person.children if "postcode" in c.tags]
        if len(_FIELDS) > 1024:  # catalogue reloads make new fields; keep this bounded
            _FIELDS.clear()
        hit = _FIELDS[id(person)] = (person, names, dobs, postcodes)
    return hit[1], hit[2], hit[3]


def _name(person: FieldInfo, value: Mapping[str, Any]) -> str | None:
    """The normalised given and family name; None unless both are there."""
    parts = [normalise(value.get(c.name), c.tags).value for c in search_fields(person)[0]]
    if len(parts) < 2 or not all(parts):
        return None
    return "|".join(str(p) for p in parts)


def _as_entered(person: FieldInfo, given_name: str, family_name: str) -> dict[str, Any]:
    """A name typed by an officer, as the person record would hold it (to tokenise alike)."""
    names = search_fields(person)[0]
    return {c.name: v for c, v in zip(names, (given_name, family_name), strict=False)}


def _token(key: PseudonymKey, name: str, band: str, borough: str) -> str:
    return make_token(key, f"{name}|{band}|{borough}", KIND)


def area_token(
    event: Mapping[str, Any],
    event_type: EventType,
    person: FieldInfo,
    value: Mapping[str, Any],
    key: PseudonymKey,
) -> str | None:
    """The name-area token of one person in an event, or None without a full name."""
    name = _name(person, value)
    return (
        None
        if name is None
        else _token(key, name, *_band_and_area(event, event_type, person, value))
    )


def _band_and_area(
    event: Mapping[str, Any], event_type: EventType, person: FieldInfo, value: Mapping[str, Any]
) -> tuple[str, str]:
    """The person's age band when the event happened, and the event's borough."""
    age = None
    dob = next((d for n in search_fields(person)[1] if isinstance(d := value.get(n), date)), None)
    when = event_time(event, event_type) if dob is not None else None
    if dob is not None and when is not None:
        age = age_on(dob, when.date())
    borough = event.get("borough")
    area = borough if isinstance(borough, str) and borough in BOROUGHS else UNKNOWN
    return age_band(age), area


def _postcode(person: FieldInfo, value: Mapping[str, Any]) -> str | None:
    for c in search_fields(person)[2]:
        norm = normalise(value.get(c.name), c.tags).value
        return str(norm) if norm else None
    return None


def postcode_token(person: FieldInfo, value: Mapping[str, Any], key: PseudonymKey) -> str | None:
    """The token of name with home postcode (a subject report by name and postcode), or
    None without a full name and a valid postcode."""
    postcode = _postcode(person, value)
    name = _name(person, value) if postcode is not None else None
    if name is None or postcode is None:
        return None
    return make_token(key, f"{name}|{postcode}", POSTCODE_KIND)


def name_postcode_tokens(
    ring: KeyRing, person: FieldInfo, given_name: str, family_name: str, postcode: str
) -> set[str]:
    """What to search for a name with a postcode, under every key version."""
    value = _as_entered(person, given_name, family_name)
    value.update({c.name: postcode for c in search_fields(person)[2]})
    return {t for key in ring.versions if (t := postcode_token(person, value, key))}


def search_tokens(
    event: Mapping[str, Any],
    event_type: EventType,
    person: FieldInfo,
    value: Mapping[str, Any],
    key: PseudonymKey,
) -> list[str]:
    """The name-area and name-postcode tokens of one person in an event (the name is
    normalised once for both: this runs for every event on the processor's hot path)."""
    name = _name(person, value)
    if name is None:
        return []
    out = [_token(key, name, *_band_and_area(event, event_type, person, value))]
    postcode = _postcode(person, value)
    if postcode is not None:
        out.append(make_token(key, f"{name}|{postcode}", POSTCODE_KIND))
    return out


def candidate_tokens(
    ring: KeyRing, person: FieldInfo, given_name: str, family_name: str
) -> dict[str, tuple[str, str]]:
    """Every name-area token the name could have, under every key version: token ->
    (age band, borough)."""
    name = _name(person, _as_entered(person, given_name, family_name))
    if name is None:
        return {}
    bands = [label for _, label in AGE_BANDS] + [UNKNOWN]
    return {
        _token(key, name, band, area): (band, area)
        for key in ring.versions
        for band in bands
        for area in BOROUGHS
    }
