"""Whom an event is about, as keyed tokens in the hub's own ``audit`` linkage domain.

The audit never stores a person's identifiers, yet an IG officer answering a subject access
request must find every disclosure about one person (UK GDPR Art. 15: the recipients of
their data). So each decision carries the subject tokens of its event: the person token
(normalised identity fields) and the token of each strong identifier (NHS number, PNC id).
The console tokenises what the officer types with the same keys and looks them up. The
``audit`` domain is never shared with any recipient, so these tokens link nothing outside.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from hub.catalogue.schemas import EventType, FieldInfo
from hub.policy.facts import get_path
from hub.privacy.candidates import search_tokens
from hub.privacy.keys import KeyRing, PseudonymKey
from hub.privacy.normalise import normalise
from hub.privacy.token import PERSON, make_token, person_input

SUBJECT_DOMAIN = "audit"
STRONG_TAGS = ("nhs-number", "pnc-id")


_PARTS: dict[int, tuple[FieldInfo, tuple[FieldInfo, ...], tuple[FieldInfo, ...]]] = {}


def person_fields(person: FieldInfo) -> tuple[tuple[FieldInfo, ...], tuple[FieldInfo, ...]]:
    """(identity fields, strong identifier fields) of a person record: worked out once per
    schema field, not per event (keyed by identity: a FieldInfo holds unhashable types)."""
    hit = _PARTS.get(id(person))
    if hit is None or hit[0] is not person:
        identity = tuple(c for c in person.children if "identity" in c.tags)
        strong = tuple(c for c in person.children if any(t in c.tags for t in STRONG_TAGS))
        if len(_PARTS) > 1024:  # catalogue reloads make new fields; keep this bounded
            _PARTS.clear()
        hit = _PARTS[id(person)] = (person, identity, strong)
    return hit[1], hit[2]


def person_tokens(person: FieldInfo, value: Mapping[str, Any], key: PseudonymKey) -> list[str]:
    out: list[str] = []
    identity, strong = person_fields(person)
    text = person_input([normalise(value.get(c.name), c.tags) for c in identity])
    if text is not None:
        out.append(make_token(key, text, PERSON))
    for c in strong:
        norm = normalise(value.get(c.name), c.tags)
        if norm.value is not None:  # an invalid NHS number is no identity of anyone
            out.append(make_token(key, norm.value, norm.kind))
    return out


def subject_tokens(
    event: Mapping[str, Any], event_type: EventType, key: PseudonymKey
) -> tuple[str, ...]:
    """Every subject token of the event under ``key``, sorted and without repeats."""
    tokens: set[str] = set()
    for person in event_type.person_records():
        value = get_path(event, person.path)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, Mapping):
                tokens.update(person_tokens(person, item, key))
                # A name alone (candidates by age band and area), or with a postcode, finds
                # the person's decisions (hub/privacy/candidates.py).
                tokens.update(search_tokens(event, event_type, person, item, key))
    return tuple(sorted(tokens))


def lookup_tokens(
    ring: KeyRing,
    person: FieldInfo,
    *,
    given_name: str | None = None,
    family_name: str | None = None,
    date_of_birth: date | None = None,
    nhs_number: str | None = None,
    pnc_id: str | None = None,
) -> set[str]:
    """The tokens to search for one person, under every key version the hub holds (records
    made before a rotation carry the old key's tokens). ``person`` is the Person record
    field of any event type: its identity fields say how the person token is made, so a
    name with no date of birth finds the records whose date of birth was not known."""
    value: dict[str, Any] = {}
    names = [c for c in person.children if "identity" in c.tags and "name" in c.tags]
    for c, given in zip(names, (given_name, family_name), strict=False):
        value[c.name] = given
    for c in person.children:
        for tag, typed in (("dob", date_of_birth), ("nhs-number", nhs_number), ("pnc-id", pnc_id)):
            if tag in c.tags:
                value[c.name] = typed
    return {t for key in ring.versions for t in person_tokens(person, value, key)}
