"""Name-area tokens: a name alone finds the people of that name by age band and area, in the
hub-only audit domain, and each synthetic event is found under its own band and area."""

from __future__ import annotations

from pathlib import Path

from connectors.synthetic.police import PoliceFeed
from hub.catalogue import EventType
from hub.policy.facts import age_on, event_time
from hub.privacy.candidates import age_band, candidate_tokens
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.subjects import SUBJECT_DOMAIN, subject_tokens


def test_each_event_is_found_by_its_name_under_its_band_and_area(
    concern_type: EventType, tmp_path: Path
) -> None:
    keys = LocalKeyProvider(tmp_path / "keys")
    [person] = concern_type.person_records()
    key = keys.current(SUBJECT_DOMAIN)
    for event in PoliceFeed(seed=11).events(60):
        subject = event[person.name]
        candidates = candidate_tokens(
            keys.ring(SUBJECT_DOMAIN), person, subject["given_name"].lower(),
            f"  {subject['family_name'].upper()} ",
        )  # fmt: skip
        found = [candidates[t] for t in subject_tokens(event, concern_type, key) if t in candidates]
        when = event_time(event, concern_type)
        dob = subject["date_of_birth"]
        band = age_band(age_on(dob, when.date()) if dob and when else None)
        assert found == [(band, event["borough"])], event["event_id"]


def test_bands_and_a_partial_name() -> None:
    assert [age_band(a) for a in (None, 0, 9, 10, 17, 18, 24, 25, 39, 40, 64, 65)] == [
        "UNKNOWN", "under 10", "under 10", "10 to 17", "10 to 17", "18 to 24", "18 to 24",
        "25 to 39", "25 to 39", "40 to 64", "40 to 64", "65 or over",
    ]  # fmt: skip


def test_no_candidates_without_both_names(concern_type: EventType, tmp_path: Path) -> None:
    keys = LocalKeyProvider(tmp_path / "keys")
    [person] = concern_type.person_records()
    assert candidate_tokens(keys.ring(SUBJECT_DOMAIN), person, "Casey", "") == {}
    tokens = candidate_tokens(keys.ring(SUBJECT_DOMAIN), person, "Casey", "Morgan")
    assert len(tokens) == 7 * 7 and all(".audit." in t for t in tokens)


def test_a_name_with_a_postcode_finds_the_event(concern_type: EventType, tmp_path: Path) -> None:
    from hub.privacy.candidates import name_postcode_tokens

    keys = LocalKeyProvider(tmp_path / "keys")
    [person] = concern_type.person_records()
    events = PoliceFeed(seed=5).events(60)
    event = next(e for e in events if e[person.name].get("postcode"))
    subject = event[person.name]
    wanted = name_postcode_tokens(
        keys.ring(SUBJECT_DOMAIN), person, subject["given_name"].upper(),
        subject["family_name"], subject["postcode"].lower().replace(" ", ""),
    )  # fmt: skip
    assert len(wanted) == 1
    key = keys.current(SUBJECT_DOMAIN)
    hits = [e for e in events if wanted & set(subject_tokens(e, concern_type, key))]
    assert event in hits
    assert all(e[person.name]["postcode"] == subject["postcode"] for e in hits)
