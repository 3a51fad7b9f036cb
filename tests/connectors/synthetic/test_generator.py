"""The synthetic partnership is realistic where it matters to the hub, and never real."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import fastavro.validation
import pytest

from connectors.synthetic.generator import PartnershipGenerator, SyntheticEvent
from connectors.synthetic.people import FAMILY, STREETS
from hub.agreements.partnership import load_partnership
from hub.catalogue import Catalogue
from hub.policy.facts import age_on
from hub.privacy.identifiers import check_nhs_number, check_pnc_id
from tests.connectors.conftest import ROOT

PERSON_FIELDS = (
    "subject",
    "person",
    "victim",
    "perpetrator",
    "child",
    "occupier",
    "nominal",
    "potential_victim",
)


@pytest.fixture(scope="module")
def generated(catalogue: Catalogue) -> list[SyntheticEvent]:
    return PartnershipGenerator(catalogue, seed=7).events(1500)


def people(e: SyntheticEvent) -> list[dict[str, Any]]:
    return [e.event[f] for f in PERSON_FIELDS if isinstance(e.event.get(f), dict)]


def test_every_event_type_and_partner_and_valid(
    generated: list[SyntheticEvent], catalogue: Catalogue
) -> None:
    # Every type a partner publishes: linkage alerts are raised by the hub's analytics;
    # retractions withdraw earlier events (tests/processor/test_corrections.py).
    assert {e.event_type for e in generated} == set(catalogue.event_types) - {
        "linkage-alert",
        "event-retraction",
    }
    partners = {p.id for p in load_partnership(ROOT / "partnership").partners}
    assert {e.partner for e in generated} == partners
    for e in generated:
        et = catalogue.get(e.event_type)
        assert et is not None
        assert fastavro.validation.validate(e.event, et.parsed, raise_errors=True)
        assert e.event["envelope"]["source_partner"] == e.partner


def test_identifiers_have_valid_check_digits_and_names_are_fictional(
    generated: list[SyntheticEvent],
) -> None:
    seen = 0
    for e in generated:
        for p in people(e):
            assert p["family_name"] in FAMILY
            assert p["address"] is None or any(p["address"].endswith(s) for s in STREETS)
            if p["nhs_number"]:
                assert check_nhs_number(p["nhs_number"]).value, p["nhs_number"]
                seen += 1
            if p["pnc_id"]:
                assert check_pnc_id(p["pnc_id"], date(2026, 11, 2)).value, p["pnc_id"]
    assert seen > 500


def test_missing_episodes_are_mostly_children_often_from_care_and_repeat(
    generated: list[SyntheticEvent],
) -> None:
    episodes = [e.event for e in generated if e.event_type == "missing-episode"]
    children = [
        m
        for m in episodes
        if age_on(m["person"]["date_of_birth"], m["envelope"]["occurred_at"].date()) < 18
    ]
    assert len(children) / len(episodes) >= 0.7
    assert sum(m["from_care_placement"] for m in children) / len(children) >= 0.3
    per_child = Counter(
        m["person"]["nhs_number"] or m["person"]["given_name"] + m["person"]["family_name"]
        for m in children
    )
    assert per_child.most_common(1)[0][1] >= 3  # some children go missing again and again


def test_the_same_people_appear_across_agencies(generated: list[SyntheticEvent]) -> None:
    partners_by_person: dict[str, set[str]] = {}
    for e in generated:
        for p in people(e):
            if p["nhs_number"]:
                partners_by_person.setdefault(p["nhs_number"], set()).add(e.partner)
    multi = [n for n, ps in partners_by_person.items() if len(ps) >= 2]
    assert len(multi) >= 20


def test_duty_to_notify_is_anonymous_and_children_always_enter_the_nrm(
    generated: list[SyntheticEvent],
) -> None:
    referrals = [e.event for e in generated if e.event_type == "modern-slavery-referral"]
    assert referrals
    for r in referrals:
        if r["subject_kind"] == "CHILD":
            assert r["referral_kind"] == "NRM_REFERRAL"
        if r["referral_kind"] == "DUTY_TO_NOTIFY":
            assert r["potential_victim"] is None


def test_seeded(catalogue: Catalogue) -> None:
    a = PartnershipGenerator(catalogue, seed=3).events(50)
    b = PartnershipGenerator(catalogue, seed=3).events(50)
    assert [e.event for e in a] == [e.event for e in b]
