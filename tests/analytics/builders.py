"""Crafted events for the analytics tests: schema-valid samples with the fields that
matter set by hand (who, when, which partner, which category). Fictional people only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.synthetic.samples import SampleGenerator
from hub.catalogue import Catalogue, EventType, load_catalogue

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_CATALOGUE: Catalogue | None = None


def catalogue() -> Catalogue:
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = load_catalogue(ROOT / "schemas" / "avro")
    return _CATALOGUE


def event_type(slug: str) -> EventType:
    et = catalogue().get(slug)
    assert et is not None
    return et


@dataclass(frozen=True)
class Who:
    given: str
    family: str
    dob: date
    nhs: str | None = None

    def person(self) -> dict[str, Any]:
        return {
            "given_name": self.given,
            "family_name": self.family,
            "aliases": [],
            "date_of_birth": self.dob,
            "gender": "UNKNOWN",
            "nhs_number": self.nhs,
            "pnc_id": None,
            "address": None,
            "postcode": None,
        }


CHILD = Who("Ava", "Testchild", date(2011, 3, 4))
OTHER_CHILD = Who("Ben", "Otherchild", date(2012, 5, 6))
ADULT = Who("Carl", "Testadult", date(1985, 1, 2))
NOMINAL = Who("Dean", "Testnominal", date(1990, 7, 8))


def _base(slug: str, partner: str, when: datetime, seed: int) -> dict[str, Any]:
    e = SampleGenerator(event_type(slug), partner, seed=seed).next_event()
    env = e["envelope"]
    env["event_id"] = str(uuid.uuid4())
    env["occurred_at"] = when
    env["recorded_at"] = when + timedelta(minutes=5)
    env["correlation_id"] = None
    return e


_seq = [0]


def _next() -> int:
    _seq[0] += 1
    return _seq[0]


def missing(
    who: Who, when: datetime, partner: str = "merseyside-police", borough: str = "LIVERPOOL"
) -> dict[str, Any]:
    e = _base("missing-episode", partner, when, _next())
    e["person"] = who.person()
    e["subject_kind"] = "UNKNOWN"
    e["borough"] = borough
    e["started_at"] = when
    return e


def concern(
    who: Who, when: datetime, partner: str, category: str = "NEGLECT", borough: str = "LIVERPOOL"
) -> dict[str, Any]:
    e = _base("safeguarding-concern", partner, when, _next())
    e["subject"] = who.person()
    e["subject_kind"] = "UNKNOWN"
    e["concern_category"] = category
    e["borough"] = borough
    return e


def cohort(who: Who, when: datetime, change: str = "ENTERED") -> dict[str, Any]:
    e = _base("iom-cohort-change", "merseyside-police", when, _next())
    e["nominal"] = who.person()
    e["change"] = change
    e["previous_cohort"] = None
    return e


def domestic(
    victim: Who,
    perpetrator: Who | None,
    when: datetime,
    *,
    physical: bool = True,
    postcode: str = "L8 1TX",
) -> dict[str, Any]:
    e = _base("domestic-abuse-incident", "merseyside-police", when, _next())
    e["victim"] = victim.person()
    e["perpetrator"] = perpetrator.person() if perpetrator else None
    e["abuse_types"] = ["PHYSICAL"] if physical else ["COERCIVE_OR_CONTROLLING"]
    e["incident_location"] = {
        "description": None,
        "postcode": postcode,
        "lsoa": None,
        "borough": "LIVERPOOL",
    }
    return e


def assault(
    when: datetime,
    *,
    postcode: str = "L1 4DQ",
    weapon: str = "BODY_PART",
    age_band: str | None = "16-24",
) -> dict[str, Any]:
    e = _base("assault-attendance", "nhs-cm", when, _next())
    e["location"] = {
        "description": None,
        "postcode": postcode,
        "lsoa": None,
        "borough": "LIVERPOOL",
    }
    e["weapon"] = weapon
    e["patient_age_band"] = age_band
    e["arrived_at"] = when
    return e


def days(n: float) -> timedelta:
    return timedelta(days=n)


def referral(
    who: Who,
    when: datetime,
    partner: str = "liverpool-cc",
    categories: tuple[str, ...] = ("NEGLECT",),
) -> dict[str, Any]:
    e = _base("mash-referral", partner, when, _next())
    e["subject"] = who.person()
    e["subject_kind"] = "UNKNOWN"
    e["borough"] = "LIVERPOOL"
    e["concern_categories"] = list(categories)
    return e
