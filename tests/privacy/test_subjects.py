"""Subject tokens: an IG officer's lookup finds the events about a person, under every key
version, and nothing about anyone else."""

from __future__ import annotations

from pathlib import Path

from connectors.synthetic.police import PoliceFeed
from hub.catalogue import EventType, FieldInfo
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.subjects import SUBJECT_DOMAIN, lookup_tokens, subject_tokens


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
