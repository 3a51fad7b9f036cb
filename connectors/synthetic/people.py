"""A pool of fictional people living in fictional streets of the five Merseyside boroughs.

The same person turns up at several agencies (a missing child known to the MASH, a
domestic-abuse victim seen at A&E, an IOM nominal on probation), which is what lets the hub
"join the dots". Surnames are invented and street names say they are made up, so no record
can be mistaken for a real person; NHS numbers have valid check digits and PNC ids valid
check letters (the shape real systems validate), and none belongs to anyone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from connectors.synthetic.police import nhs_number, pnc_id
from hub.policy.facts import age_on

GIVEN_FEMALE = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Freya", "Ellie", "Chloe"]
GIVEN_MALE = ["Noah", "Oliver", "George", "Leo", "Arthur", "Harry", "Jack", "Kayden", "Callum"]
# Invented surnames: plausible-sounding, found in no phone book.
FAMILY = [
    "Quillfeather",
    "Brackenbury",
    "Thistlewood",
    "Merriweather",
    "Pendleford",
    "Wrenfield",
    "Larkspur",
    "Fennimore",
    "Hollowell",
    "Ravensworth",
    "Winterbourne",
    "Tumbleton",
    "Sallowby",
    "Elmsworth",
    "Dunnocksby",
    "Cobbleditch",
    "Marrowgate",
    "Fairweather-Nox",
    "Okonkwo-Vale",
    "Przybylak-Moor",
]
STREETS = [
    "Fictional Road",
    "Imaginary Avenue",
    "Example Close",
    "Pretend Lane",
    "Sample Terrace",
    "Madeup Street",
    "Synthetic Way",
    "Notreal Crescent",
]
POSTCODES = {
    "LIVERPOOL": ["L4", "L5", "L6", "L7", "L8", "L11", "L13", "L15", "L24"],
    "KNOWSLEY": ["L28", "L32", "L33", "L34", "L36"],
    "SEFTON": ["L20", "L21", "L30", "PR8", "PR9"],
    "ST_HELENS": ["WA9", "WA10", "WA11"],
    "WIRRAL": ["CH41", "CH42", "CH44", "CH46"],
}
BOROUGHS = (
    ["LIVERPOOL"] * 40 + ["KNOWSLEY"] * 12 + ["SEFTON"] * 18 + ["ST_HELENS"] * 12 + ["WIRRAL"] * 18
)
LOCAL_AUTHORITY = {
    "LIVERPOOL": "liverpool-cc",
    "KNOWSLEY": "knowsley-mbc",
    "SEFTON": "sefton-mbc",
    "ST_HELENS": "st-helens-mbc",
    "WIRRAL": "wirral-mbc",
}
PLACEMENTS = (
    ["CHILDRENS_HOME"] * 5 + ["FOSTER_CARE"] * 4 + ["SEMI_INDEPENDENT"] * 2 + ["KINSHIP_CARE"]
)


@dataclass(frozen=True)
class FictionalPerson:
    key: int
    given_name: str
    family_name: str
    gender: str
    date_of_birth: date
    nhs_number: str | None
    pnc_id: str | None
    address: str
    postcode: str
    borough: str
    in_care: bool = False
    placement_type: str | None = None
    offender: bool = False

    def age_on(self, day: date) -> int:
        return age_on(self.date_of_birth, day)

    def as_person(self) -> dict[str, Any]:
        """The catalogue's ``Person`` record."""
        return {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "aliases": [],
            "date_of_birth": self.date_of_birth,
            "gender": self.gender,
            "nhs_number": self.nhs_number,
            "pnc_id": self.pnc_id,
            "address": self.address,
            "postcode": self.postcode,
        }


def _person(rng: random.Random, key: int, today: date, age: int, **kw: Any) -> FictionalPerson:
    female = rng.random() < kw.pop("female_share", 0.5)
    borough = kw.pop("borough", None) or rng.choice(BOROUGHS)
    unit = f"{rng.randint(0, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXY')}Z"
    offender = kw.pop("offender", False)
    return FictionalPerson(
        key=key,
        given_name=rng.choice(GIVEN_FEMALE if female else GIVEN_MALE),
        family_name=rng.choice(FAMILY),
        gender="FEMALE" if female else "MALE",
        date_of_birth=today - timedelta(days=age * 365 + rng.randint(0, 364)),
        # Most people are registered with a GP; a few records lack the number.
        nhs_number=nhs_number(rng) if rng.random() < 0.85 else None,
        pnc_id=pnc_id(rng, today.year - rng.randint(1, 12)) if offender else None,
        address=f"{rng.randint(1, 240)} {rng.choice(STREETS)}",
        postcode=f"{rng.choice(POSTCODES[borough])} {unit}",
        borough=borough,
        offender=offender,
        **kw,
    )


@dataclass
class PeoplePool:
    """Children (many in care placements), adults at risk, and a cohort of offenders."""

    children: list[FictionalPerson]
    adults: list[FictionalPerson]
    offenders: list[FictionalPerson]
    older: list[FictionalPerson]

    @classmethod
    def build(cls, rng: random.Random, today: date, size: int = 400) -> PeoplePool:
        key = iter(range(1_000_000))
        children = []
        for _ in range(int(size * 0.45)):
            in_care = rng.random() < 0.3
            children.append(
                _person(
                    rng,
                    next(key),
                    today,
                    rng.randint(8, 17) if in_care else rng.randint(1, 17),
                    in_care=in_care,
                    placement_type=rng.choice(PLACEMENTS) if in_care else None,
                    offender=rng.random() < 0.1,
                )
            )
        adults = [
            _person(rng, next(key), today, rng.randint(18, 60), female_share=0.75)
            for _ in range(int(size * 0.3))
        ]
        # IOM cohorts are mostly young adult men with long records.
        offenders = [
            _person(rng, next(key), today, rng.randint(19, 45), female_share=0.1, offender=True)
            for _ in range(int(size * 0.15))
        ]
        older = [
            _person(rng, next(key), today, rng.randint(66, 94), female_share=0.6)
            for _ in range(int(size * 0.1))
        ]
        return cls(children, adults, offenders, older)
