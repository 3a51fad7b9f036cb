"""A synthetic Merseyside Police feed of safeguarding concerns.

Seeded, so the same seed gives the same events. The mix follows the shape of real
public-protection work: most concerns are about children, neglect and domestic abuse are
common, exploitation (CCE, CSE, county lines) is a steady minority, and risk is mostly
medium. Names and addresses are made up from common lists.
"""

from __future__ import annotations

import random
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

PARTNER = "merseyside-police"
EVENT_TYPE = "safeguarding-concern"

_GIVEN = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Sophia",
    "Grace",
    "Freya",
    "Noah",
    "Oliver",
    "George",
    "Leo",
    "Arthur",
    "Muhammad",
    "Harry",
    "Jack",
    "Kayden",
    "Tyler",
    "Callum",
    "Jayden",
    "Ellie",
    "Chloe",
    "Aaliyah",
    "Connor",
    "Liam",
    "Kian",
]
_FAMILY = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Hughes",
    "Roberts",
    "Murphy",
    "O'Brien",
    "Kelly",
    "McCarthy",
    "Doyle",
    "Byrne",
    "Walsh",
    "Ahmed",
    "Khan",
    "Okafor",
    "Nowak",
    "Kowalski",
    "Clarke",
    "Lewis",
    "Wright",
    "Hall",
    "Green",
]
_STREETS = [
    "Smithdown Road",
    "Lodge Lane",
    "County Road",
    "Park Road",
    "Scotland Road",
    "Stanley Road",
    "Princes Avenue",
    "Mill Lane",
    "Church Street",
    "Bridge Street",
]
# Postcode outward codes by borough (a realistic sample, not the full list).
_POSTCODES = {
    "LIVERPOOL": ["L1", "L4", "L5", "L6", "L7", "L8", "L11", "L13", "L15", "L17", "L24"],
    "KNOWSLEY": ["L28", "L32", "L33", "L34", "L35", "L36"],
    "SEFTON": ["L20", "L21", "L22", "L23", "L30", "PR8", "PR9"],
    "ST_HELENS": ["WA9", "WA10", "WA11"],
    "WIRRAL": ["CH41", "CH42", "CH43", "CH44", "CH45", "CH46", "CH62"],
    "OUT_OF_AREA": ["M8", "WA1", "PR1"],
}
_BOROUGHS = (
    ["LIVERPOOL"] * 40
    + ["KNOWSLEY"] * 12
    + ["SEFTON"] * 18
    + ["ST_HELENS"] * 12
    + ["WIRRAL"] * 15
    + ["OUT_OF_AREA"] * 3
)
_CATEGORIES = (
    ["NEGLECT"] * 20
    + ["DOMESTIC_ABUSE"] * 18
    + ["CCE"] * 9
    + ["CSE"] * 7
    + ["COUNTY_LINES"] * 8
    + ["MODERN_SLAVERY"] * 3
    + ["PHYSICAL_ABUSE"] * 10
    + ["EMOTIONAL_ABUSE"] * 8
    + ["SEXUAL_ABUSE"] * 4
    + ["MISSING"] * 9
    + ["RADICALISATION"] * 2
    + ["OTHER"] * 2
)
# Letters used in the unit part of UK postcodes.
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_RISKS = ["LOW"] * 30 + ["MEDIUM"] * 50 + ["HIGH"] * 20
_NARRATIVE = {
    "CCE": "{name} was found carrying a large sum of cash and two phones near {street}; "
    "believed to be running drugs for older males.",
    "COUNTY_LINES": "{name} located in {town} 40 miles from home after being reported missing; "
    "train tickets and a burner phone recovered.",
    "CSE": "{name} seen getting into cars with adult males outside a takeaway on {street}; "
    "gifts of alcohol and vapes reported by school.",
    "MODERN_SLAVERY": "{name} working long hours at a car wash on {street}, no pay, "
    "documents held by employer.",
    "NEGLECT": "Officers attending {address} found {name} alone, no food in the house, "
    "home in poor condition.",
    "DOMESTIC_ABUSE": "{name} present during a domestic incident at {address}; "
    "mother's partner arrested for assault.",
    "MISSING": "{name} reported missing from home for the third time this month; "
    "returned after 20 hours, would not say where.",
}


def nhs_number(rng: random.Random) -> str:
    """A 10-digit number with a valid modulus-11 check digit, formatted 3-3-4 as on letters.
    Starts with 9 like real numbers issued since the 1990s; none is a real patient's."""
    while True:
        digits = [9] + [rng.randint(0, 9) for _ in range(8)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        if check == 11:
            check = 0
        if check != 10:  # 10 is never issued
            s = "".join(map(str, [*digits, check]))
            return f"{s[:3]} {s[3:6]} {s[6:]}"


def pnc_id(rng: random.Random, year: int) -> str:
    """PNC id shape: year / 7-digit serial + check letter, e.g. '2019/0123456X'."""
    serial = rng.randint(0, 9_999_999)
    letter = "ZABCDEFGHJKLMNPQRTUVWXY"[(int(str(year)[2:] + f"{serial:07d}")) % 23]
    return f"{year}/{serial:07d}{letter}"


@dataclass
class PoliceFeed:
    """Generates SafeguardingConcern events as Python dicts ready for the Avro serializer."""

    seed: int = 7
    start: datetime = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._seq = 0

    def _person(self, occurred: datetime) -> dict[str, Any]:
        rng = self._rng
        child = rng.random() < 0.7
        age_days = (
            rng.randint(2 * 365, 17 * 365 + 300) if child else rng.randint(18 * 365, 80 * 365)
        )
        dob: date | None = (occurred - timedelta(days=age_days)).date()
        if rng.random() < 0.03:
            dob = None  # unknown date of birth happens in real records
        family = rng.choice(_FAMILY)
        aliases = [f"{rng.choice(_GIVEN)} {family}"] if rng.random() < 0.1 else []
        known_to_police = age_days > 12 * 365 and rng.random() < 0.3
        return {
            "given_name": rng.choice(_GIVEN),
            "family_name": family,
            "aliases": aliases,
            "date_of_birth": dob,
            "gender": rng.choice(["FEMALE", "MALE", "MALE", "FEMALE", "UNKNOWN"]),
            "nhs_number": nhs_number(rng) if rng.random() < 0.4 else None,
            "pnc_id": pnc_id(rng, occurred.year - rng.randint(0, 4)) if known_to_police else None,
            "address": f"{rng.randint(1, 240)} {rng.choice(_STREETS)}",
            "postcode": None,
        }

    def next_event(self) -> dict[str, Any]:
        rng = self._rng
        self._seq += 1
        occurred = self.start + timedelta(minutes=7 * self._seq + rng.randint(0, 6))
        borough = rng.choice(_BOROUGHS)
        subject = self._person(occurred)
        outward = rng.choice(_POSTCODES[borough])
        inward = f"{rng.randint(0, 9)}{rng.choice(_UNIT_LETTERS)}{rng.choice(_UNIT_LETTERS)}"
        subject["postcode"] = f"{outward} {inward}"
        category = rng.choice(_CATEGORIES)
        name = f"{subject['given_name']} {subject['family_name']}"
        template = _NARRATIVE.get(category, "Concern raised about {name} at {address}.")
        narrative = template.format(
            name=name, street=rng.choice(_STREETS), town="Blackpool", address=subject["address"]
        )
        return {
            "envelope": {
                "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "event_type": EVENT_TYPE,
                "source_partner": PARTNER,
                "occurred_at": occurred,
                "recorded_at": occurred + timedelta(minutes=rng.randint(5, 240)),
                "schema_version": 1,
                "revision": 1,
                "correlation_id": None,
                "classification": "OFFICIAL_SENSITIVE",
            },
            "source_reference": f"MP-{occurred.year}-{self._seq:06d}",
            "subject": subject,
            "concern_category": category,
            "risk_level": rng.choice(_RISKS),
            "borough": borough,
            "narrative": narrative,
        }

    def events(self, n: int) -> list[dict[str, Any]]:
        return [self.next_event() for _ in range(n)]


def malformed_records(schema_id: int, valid_value: bytes, seed: int = 7) -> list[tuple[str, bytes]]:
    """Hostile inputs a partner system might really send, each labelled with what is wrong."""
    rng = random.Random(seed)
    unknown_id = schema_id + 9000
    return [
        ("not Avro: a JSON body", b'{"event_id": "x", "subject": "Jane Doe"}'),
        ("random bytes", bytes(rng.getrandbits(8) for _ in range(64))),
        ("wrong magic byte", b"\x01" + valid_value[1:]),
        ("unknown schema id", b"\x00" + struct.pack(">I", unknown_id) + valid_value[5:]),
        ("truncated Avro body", valid_value[: max(6, len(valid_value) // 3)]),
        ("empty value", b""),
    ]
