"""Subject tokens: an IG officer's lookup finds the events about a person, under every key
version, and nothing about anyone else."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connectors.synthetic.generator import PartnershipGenerator
from connectors.synthetic.police import PoliceFeed
from connectors.synthetic.samples import sample_events
from hub.catalogue import Catalogue, EventType, FieldInfo
from hub.policy.facts import get_path
from hub.privacy.candidates import search_tokens
from hub.privacy.keys import LocalKeyProvider, PseudonymKey
from hub.privacy.subjects import SUBJECT_DOMAIN, lookup_tokens, person_tokens, subject_tokens


def person_field(concern_type: EventType) -> FieldInfo:
    [person] = concern_type.person_records()
    return person


def test_lookup_finds_the_event_and_only_it(concern_type: EventType, tmp_path: Path) -> None:
    keys = LocalKeyProvider(tmp_path / "keys")
    events = PoliceFeed(seed=3).events(40)
    person = person_field(concern_type)
    subject = events[0][person.name]
    ring = keys.ring(SUBJECT_DOMAIN)
    wanted = lookup_tokens(
        ring,
        person,
        given_name=subject["given_name"].upper(),  # normalised: case does not matter
        family_name=subject["family_name"],
        date_of_birth=subject["date_of_birth"],
    )
    hits = [
        e
        for e in events
        if wanted & set(subject_tokens(e, concern_type, keys.current(SUBJECT_DOMAIN)))
    ]
    assert events[0] in hits
    assert all(
        (e[person.name]["given_name"], e[person.name]["family_name"])
        == (subject["given_name"], subject["family_name"])
        for e in hits
    )


def test_strong_identifier_alone_finds_the_event(concern_type: EventType, tmp_path: Path) -> None:
    keys = LocalKeyProvider(tmp_path / "keys")
    person = person_field(concern_type)
    event = next(e for e in PoliceFeed(seed=5).events(50) if e[person.name]["nhs_number"])
    nhs = event[person.name]["nhs_number"]
    tokens = set(subject_tokens(event, concern_type, keys.current(SUBJECT_DOMAIN)))
    spaced = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
    assert lookup_tokens(keys.ring(SUBJECT_DOMAIN), person, nhs_number=spaced) <= tokens
    assert not lookup_tokens(keys.ring(SUBJECT_DOMAIN), person, nhs_number="9434765919") & tokens


def test_tokens_from_before_a_rotation_are_still_found(
    concern_type: EventType, tmp_path: Path
) -> None:
    keys = LocalKeyProvider(tmp_path / "keys")
    person = person_field(concern_type)
    event = PoliceFeed(seed=9).events(1)[0]
    old = set(subject_tokens(event, concern_type, keys.current(SUBJECT_DOMAIN)))
    keys.rotate(SUBJECT_DOMAIN)
    p = event[person.name]
    found = lookup_tokens(
        keys.ring(SUBJECT_DOMAIN),
        person,
        given_name=p["given_name"],
        family_name=p["family_name"],
        date_of_birth=p["date_of_birth"],
    )
    assert old & found


def _specification(event: dict[str, Any], event_type: EventType, key: PseudonymKey) -> list[str]:
    """What ``subject_tokens`` promises, from the functions the console searches with: for
    each person record, its ``person_tokens`` and ``search_tokens``."""
    tokens: set[str] = set()
    for person in event_type.person_records():
        value = get_path(event, person.path)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Mapping):
                tokens.update(person_tokens(person, item, key))
                tokens.update(search_tokens(event, event_type, person, item, key))
    return sorted(tokens)


def test_the_hot_path_tokens_are_the_specifications(catalogue: Catalogue, tmp_path: Path) -> None:
    """``subject_tokens`` lays each person record's fields out once (the processor's largest
    step); on every catalogue event type, with schema-valid samples, the partnership's
    correlated events and damaged people (fields blank, missing, of the wrong type), it
    gives exactly the tokens the console's functions give."""
    key = LocalKeyProvider(tmp_path / "keys").current(SUBJECT_DOMAIN)
    events: list[tuple[dict[str, Any], EventType]] = []
    for event_type in catalogue.event_types.values():
        for e in sample_events(event_type, "merseyside-police", 40, seed=11):
            events.append((e, event_type))
    for synthetic in PartnershipGenerator(catalogue, seed=5).events(400):
        event_type = catalogue.get(synthetic.event_type)
        assert event_type is not None
        events.append((synthetic.event, event_type))
    damage: list[Any] = [None, "", "  ", 17, "31/02/2011", "14/03/2011", ["a", "b"], {}]
    concern = catalogue.get("safeguarding-concern")
    assert concern is not None
    [person] = concern.person_records()
    base = PoliceFeed(seed=9).events(len(damage) * len(person.children))
    for i, (child, bad) in enumerate((c, d) for c in person.children for d in damage):
        event = copy.deepcopy(base[i])
        event[person.name][child.name] = bad
        events.append((event, concern))
    events.append(({**base[0], person.name: None}, concern))
    events.append(({**base[0], "borough": "NOWHERE"}, concern))
    assert len(events) > 500
    differ = [
        (et.slug, i)
        for i, (e, et) in enumerate(events)
        if list(subject_tokens(e, et, key)) != _specification(e, et, key)
    ]
    assert not differ
    assert sum(bool(subject_tokens(e, et, key)) for e, et in events) > 300
