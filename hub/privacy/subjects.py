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
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.catalogue.schemas import EventType, FieldInfo
from hub.policy.facts import age_on, event_time
from hub.privacy.candidates import (
    BOROUGHS,
    KIND,
    POSTCODE_KIND,
    UNKNOWN,
    age_band,
    search_fields,
)
from hub.privacy.keys import KeyRing, PseudonymKey
from hub.privacy.normalise import kind_for, normalise, normalise_as
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
    """Every subject token of the event under ``key``, sorted and without repeats: for each
    person record, its ``person_tokens`` and (a name alone, by age band and area, or with a
    postcode, finds the person's decisions: hub/privacy/candidates.py) ``search_tokens``."""
    tokens: set[str] = set()
    for plan in _plans(event_type):
        value: Any = event
        for part in plan.path:
            value = value.get(part) if isinstance(value, Mapping) else None
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, Mapping):
                _person_subject_tokens(plan, item, key, event, event_type, tokens)
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


# -- the hot path: the same tokens, with each person record's fields laid out once ---------


@dataclass(frozen=True)
class _PersonPlan:
    """One person record of an event type, as the processor tokenises it per event: field
    names with their normalisation kinds, worked out once (``subject_tokens`` is the
    processor's largest single step; ``person_tokens`` and ``search_tokens``, which the
    console uses, stay the specification, and a test holds the two equal)."""

    path: tuple[str, ...]
    identity: tuple[tuple[str, str], ...]  # (field, kind), schema order: the person token
    strong: tuple[tuple[str, str], ...]  # NHS number, PNC id: a token each
    names: tuple[str, ...]  # identity fields that are names: the name-area token
    dobs: tuple[str, ...]
    postcode: tuple[str, str] | None  # the first postcode field: the name-postcode token


def _plan_of(person: FieldInfo) -> _PersonPlan:
    identity, strong = person_fields(person)
    names, dobs, postcodes = search_fields(person)
    return _PersonPlan(
        path=tuple(person.path.split(".")),
        identity=tuple((c.name, kind_for(c.tags)) for c in identity),
        strong=tuple((c.name, kind_for(c.tags)) for c in strong),
        names=tuple(c.name for c in names),
        dobs=tuple(dobs),
        postcode=(postcodes[0].name, kind_for(postcodes[0].tags)) if postcodes else None,
    )


_PLANS: dict[int, tuple[EventType, tuple[_PersonPlan, ...]]] = {}


def _plans(event_type: EventType) -> tuple[_PersonPlan, ...]:
    hit = _PLANS.get(id(event_type))
    if hit is None or hit[0] is not event_type:
        if len(_PLANS) > 256:  # catalogue reloads make new event types; keep this bounded
            _PLANS.clear()
        hit = _PLANS[id(event_type)] = (
            event_type,
            tuple(_plan_of(p) for p in event_type.person_records()),
        )
    return hit[1]


def _person_subject_tokens(
    plan: _PersonPlan,
    value: Mapping[str, Any],
    key: PseudonymKey,
    event: Mapping[str, Any],
    event_type: EventType,
    out: set[str],
) -> None:
    """``person_tokens`` and ``search_tokens`` of one person, into ``out``."""
    norms = [normalise_as(value.get(name), kind) for name, kind in plan.identity]
    text = person_input(norms)
    if text is not None:
        out.add(make_token(key, text, PERSON))
    for name, kind in plan.strong:
        norm = normalise_as(value.get(name), kind)
        if norm.value is not None:
            out.add(make_token(key, norm.value, kind))
    names = [
        n.value for (field, _k), n in zip(plan.identity, norms, strict=True) if field in plan.names
    ]
    if len(names) < 2 or not all(names):
        return
    name = "|".join(str(n) for n in names)
    age = None
    dob = next((d for n in plan.dobs if isinstance(d := value.get(n), date)), None)
    if dob is not None and (when := event_time(event, event_type)) is not None:
        age = age_on(dob, when.date())
    borough = event.get("borough")
    area = borough if isinstance(borough, str) and borough in BOROUGHS else UNKNOWN
    out.add(make_token(key, f"{name}|{age_band(age)}|{area}", KIND))
    if plan.postcode is not None:
        postcode = normalise_as(value.get(plan.postcode[0]), plan.postcode[1]).value
        if postcode:
            out.add(make_token(key, f"{name}|{postcode}", POSTCODE_KIND))
