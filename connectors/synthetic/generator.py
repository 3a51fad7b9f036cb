"""A seeded synthetic partnership: every partner's events, every catalogue event type.

Rates follow the shape of Merseyside's daily volumes (police concerns and domestic abuse
dominate; missing-person episodes, probation updates and A&E assault attendances are
steady; NRM referrals and IOM cohort changes are rare), scaled to the number of events
asked for. Correlations that matter to the hub are built in:

* one pool of fictional people is shared by every agency: a child in care goes missing,
  is the subject of a police concern and of a MASH decision; an IOM nominal gets probation
  updates; a domestic-abuse victim turns up at A&E;
* about 80% of missing-person episodes concern under-18s and about half of those children
  are in care placements; some children go missing again and again;
* some referrals repeat (the same person, a new referral), as they do in practice;
* NRM referrals of children always go ahead; adults consent or are a Duty to Notify
  report without identities.

Each event starts from :class:`~connectors.synthetic.samples.SampleGenerator` (so every
field is valid for the schema) and then gets the realistic, correlated values for the
fields agreements and recipients look at.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.synthetic.people import LOCAL_AUTHORITY, FictionalPerson, PeoplePool
from connectors.synthetic.samples import SampleGenerator
from hub.catalogue.schemas import Catalogue

# (partner, event type, relative daily rate): the partnership's mix of events.
RATES: list[tuple[str, str, float]] = [
    ("merseyside-police", "safeguarding-concern", 30),
    ("merseyside-police", "domestic-abuse-incident", 14),
    ("merseyside-police", "missing-episode", 8),
    ("merseyside-police", "modern-slavery-referral", 3),
    ("merseyside-police", "iom-cohort-change", 3),
    ("liverpool-cc", "mash-decision", 6),
    ("liverpool-cc", "mash-referral", 2),
    ("knowsley-mbc", "mash-decision", 2),
    ("sefton-mbc", "mash-decision", 2),
    ("st-helens-mbc", "mash-decision", 1),
    ("wirral-mbc", "mash-decision", 2),
    ("wirral-mbc", "mash-referral", 1),
    ("merseyside-fire", "safe-and-well-referral", 5),
    ("probation-nw", "probation-update", 8),
    ("nhs-cm", "assault-attendance", 7),
    ("yjs-liverpool", "youth-justice-outcome", 3),
]
_ORG_KIND = {
    "merseyside-police": "POLICE",
    "merseyside-fire": "FIRE",
    "probation-nw": "PROBATION",
    "nhs-cm": "HEALTH",
    "yjs-liverpool": "YOUTH_JUSTICE",
}
_ORG_NAME = {
    "liverpool-cc": "Liverpool City Council",
    "knowsley-mbc": "Knowsley Council",
    "sefton-mbc": "Sefton Council",
    "st-helens-mbc": "St Helens Council",
    "wirral-mbc": "Wirral Council",
}


@dataclass(frozen=True)
class SyntheticEvent:
    partner: str
    event_type: str
    event: dict[str, Any]


def _org(partner: str) -> dict[str, Any]:
    kind = _ORG_KIND.get(partner, "LOCAL_AUTHORITY")
    return {"partner_id": partner, "name": _ORG_NAME.get(partner, partner), "kind": kind}


@dataclass
class PartnershipGenerator:
    catalogue: Catalogue
    seed: int = 7
    start: datetime = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    days: int = 7
    pool_size: int = 400
    _rng: random.Random = field(init=False, repr=False)
    _samples: dict[tuple[str, str], SampleGenerator] = field(init=False, repr=False)
    _seq: int = field(init=False, default=0, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.people = PeoplePool.build(self._rng, self.start.date(), self.pool_size)
        self._samples = {}
        # Repeat missing children: a few are responsible for many episodes, as in practice.
        self._frequent_missing = self._rng.sample(
            [c for c in self.people.children if c.age_on(self.start.date()) >= 11], 12
        )

    def _base(self, partner: str, slug: str) -> dict[str, Any]:
        key = (partner, slug)
        if key not in self._samples:
            et = self.catalogue.get(slug)
            if et is None:
                raise KeyError(f"event type {slug} is not in the catalogue")
            self._samples[key] = SampleGenerator(
                et, partner, seed=self._rng.getrandbits(32), start=self.start, days=self.days
            )
        return self._samples[key].next_event()

    def _when(self) -> datetime:
        ms = self._rng.randrange(self.days * 86_400_000)
        return self.start + timedelta(milliseconds=ms)

    def events(self, n: int) -> list[SyntheticEvent]:
        """``n`` events across the partnership, in time order."""
        rng = self._rng
        weights = [r for _p, _t, r in RATES]
        out: list[SyntheticEvent] = []
        for _ in range(n):
            partner, slug, _rate = rng.choices(RATES, weights)[0]
            out.append(self.event(partner, slug))
        out.sort(key=lambda e: e.event["envelope"]["occurred_at"])
        return out

    def event(self, partner: str, slug: str) -> SyntheticEvent:
        self._seq += 1
        event = self._base(partner, slug)
        occurred = self._when()
        env = event["envelope"]
        env["event_id"] = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        env["occurred_at"] = occurred
        env["recorded_at"] = occurred + timedelta(minutes=self._rng.randint(3, 300))
        env["classification"] = "OFFICIAL_SENSITIVE"
        env["correlation_id"] = None
        if "source_reference" in event:
            prefix = "".join(w[0] for w in partner.split("-")).upper()
            event["source_reference"] = f"{prefix}-{occurred.year}-{self._seq:06d}"
        shape: Callable[[dict[str, Any], str, datetime], None] = getattr(
            self, "_" + slug.replace("-", "_")
        )
        shape(event, partner, occurred)
        return SyntheticEvent(partner, slug, event)

    # -- people

    def _child(self, *, borough: str | None = None, in_care: bool | None = None) -> FictionalPerson:
        pool = [
            c
            for c in self.people.children
            if (borough is None or c.borough == borough)
            and (in_care is None or c.in_care == in_care)
        ]
        return self._rng.choice(pool or self.people.children)

    def _location(self, borough: str) -> dict[str, Any]:
        rng = self._rng
        from connectors.synthetic.people import POSTCODES, STREETS

        outward = rng.choice(POSTCODES.get(borough, ["L1"]))
        return {
            "description": f"near {rng.choice(STREETS)}",
            "postcode": f"{outward} {rng.randint(0, 9)}{rng.choice('ABDEFGHJ')}Z",
            "lsoa": f"E0100{rng.randint(0, 9999):04d}",
            "borough": borough,
        }

    # -- one shaper per event type (called by name from `event`)

    def _safeguarding_concern(self, e: dict[str, Any], _p: str, when: datetime) -> None:
        rng = self._rng
        child = rng.random() < 0.7
        person = self._child() if child else rng.choice(self.people.adults + self.people.older)
        e["subject"] = person.as_person()
        e["subject_kind"] = "CHILD" if person.age_on(when.date()) < 18 else "ADULT"
        e["borough"] = person.borough
        categories = ["NEGLECT"] * 20 + ["DOMESTIC_ABUSE"] * 18 + ["PHYSICAL_ABUSE"] * 10
        categories += ["CCE"] * 9 + ["CSE"] * 7 + ["COUNTY_LINES"] * 8 + ["MODERN_SLAVERY"] * 3
        categories += ["EMOTIONAL_ABUSE"] * 8 + ["MISSING"] * 9 + ["SEXUAL_ABUSE"] * 4
        e["concern_category"] = rng.choice(categories)
        e["risk_level"] = rng.choice(["LOW"] * 3 + ["MEDIUM"] * 5 + ["HIGH"] * 2)
        e["narrative"] = f"Concern raised by officers attending {person.address}; see case notes."

    def _missing_episode(self, e: dict[str, Any], partner: str, when: datetime) -> None:
        rng = self._rng
        if rng.random() < 0.8:
            person = rng.choice(self._frequent_missing) if rng.random() < 0.35 else self._child()
        else:
            person = rng.choice(self.people.adults + self.people.older)
        is_child = person.age_on(when.date()) < 18
        e["person"] = person.as_person()
        e["subject_kind"] = "CHILD" if is_child else "ADULT"
        e["borough"] = person.borough
        in_care = is_child and person.in_care
        e["from_care_placement"] = in_care
        e["placement_type"] = person.placement_type if in_care else None
        e["placing_authority"] = _org(LOCAL_AUTHORITY[person.borough]) if in_care else None
        e["started_at"] = when - timedelta(hours=rng.randint(2, 20))
        e["reported_at"] = when
        hours = rng.choice([3, 6, 12, 20, 30, 48, 72])
        ended = when + timedelta(hours=hours) if rng.random() < 0.9 else None
        e["ended_at"] = ended
        e["how_ended"] = (
            rng.choice(
                ["RETURNED_OF_OWN_ACCORD", "LOCATED_BY_POLICE", "LOCATED_BY_FAMILY_OR_CARER"]
            )
            if ended
            else None
        )
        e["risk_grading"] = rng.choice(
            ["LOW", "MEDIUM", "MEDIUM", "HIGH"] if is_child else ["LOW", "MEDIUM"]
        )
        e["previous_episodes_12_months"] = (
            rng.randint(3, 15) if person in self._frequent_missing else rng.randint(0, 2)
        )
        factors = ["UNHAPPY_IN_PLACEMENT", "CRIMINAL_EXPLOITATION", "PEER_GROUP", "COUNTY_LINES"]
        e["push_pull_factors"] = rng.sample(
            factors if in_care else [*factors[2:], "CONFLICT_AT_HOME"], 2
        )
        e["last_seen"] = self._location(person.borough)
        e["found_at"] = self._location(person.borough) if ended else None
        if is_child and ended:
            offered = ended + timedelta(hours=rng.randint(4, 60))
            done = rng.random() < 0.7
            e["return_home_interview"] = {
                "offered": True,
                "offered_at": offered,
                "completed": done,
                "completed_at": offered + timedelta(hours=rng.randint(1, 30)) if done else None,
                "within_72_hours": (offered - ended) < timedelta(hours=72),
                "provider": _org(LOCAL_AUTHORITY[person.borough]),
            }
        else:
            e["return_home_interview"] = None

    def _domestic_abuse_incident(self, e: dict[str, Any], _p: str, when: datetime) -> None:
        rng = self._rng
        victim = rng.choice(self.people.adults)
        perpetrator = rng.choice(self.people.offenders) if rng.random() < 0.85 else None
        e["victim"] = victim.as_person()
        e["perpetrator"] = perpetrator.as_person() if perpetrator else None
        e["borough"] = victim.borough
        e["incident_location"] = self._location(victim.borough)
        children = rng.choice([0, 0, 1, 2, 3])
        e["children_in_household"] = children
        e["children_present"] = children > 0 and rng.random() < 0.5
        e["operation_encompass_notified"] = children > 0
        e["dash_risk_level"] = rng.choice(["STANDARD"] * 5 + ["MEDIUM"] * 3 + ["HIGH"] * 2)
        e["marac_referral"] = e["dash_risk_level"] == "HIGH"
        e["summary"] = (
            "Officers attended a reported domestic incident; details in the crime record."
        )

    def _modern_slavery_referral(self, e: dict[str, Any], _p: str, when: datetime) -> None:
        rng = self._rng
        child = rng.random() < 0.45  # about half of NRM referrals in England are children
        person = self._child() if child else rng.choice(self.people.adults)
        e["subject_kind"] = "CHILD" if child else "ADULT"
        consent = None if child else rng.random() < 0.6
        # Children always enter the NRM; an adult who does not consent is a Duty to Notify
        # report, which carries no identities.
        e["referral_kind"] = "NRM_REFERRAL" if child or consent else "DUTY_TO_NOTIFY"
        e["adult_consent"] = consent
        e["potential_victim"] = person.as_person() if e["referral_kind"] == "NRM_REFERRAL" else None
        e["gender"] = person.gender
        e["exploitation_types"] = (
            ["CRIMINAL"] if child else rng.sample(["LABOUR", "SEXUAL", "DOMESTIC_SERVITUDE"], 1)
        )
        e["county_lines"] = child and rng.random() < 0.6
        e["borough"] = person.borough
        e["exploitation_location"] = self._location(person.borough)
        e["first_responder"] = _org("merseyside-police")
        e["account"] = "Account taken by the first responder; held on the NRM form."

    def _iom_cohort_change(self, e: dict[str, Any], _p: str, when: datetime) -> None:
        rng = self._rng
        nominal = rng.choice(self.people.offenders)
        e["nominal"] = nominal.as_person()
        e["change"] = rng.choice(["ENTERED"] * 3 + ["LEFT", "MOVED"])
        e["cohort"] = rng.choice(["FIXED", "FLEX", "FLEX", "FREE"])
        e["previous_cohort"] = rng.choice(["FLEX", "FREE"]) if e["change"] == "MOVED" else None
        e["reason"] = rng.choice(
            ["NEIGHBOURHOOD_CRIME_OFFENDING", "DOMESTIC_ABUSE_PERPETRATOR", "SERIOUS_VIOLENCE"]
        )
        e["lead_agency"] = rng.choice(["POLICE", "PROBATION", "JOINT"])
        e["effective_date"] = when.date()
        e["borough"] = nominal.borough

    def _mash_decision(self, e: dict[str, Any], partner: str, when: datetime) -> None:
        rng = self._rng
        borough = next(b for b, p in LOCAL_AUTHORITY.items() if p == partner)
        person = self._child(borough=borough)
        e["decided_by"] = _org(partner)
        e["subject"] = person.as_person()
        e["subject_kind"] = "CHILD"
        e["borough"] = borough
        e["outcome"] = rng.choice(
            ["NO_FURTHER_ACTION", "EARLY_HELP", "CHILD_IN_NEED_S17", "STRATEGY_DISCUSSION_S47"]
        )
        e["decided_at"] = when
        e["allocated_to"] = _org(partner)
        e["rationale"] = "Threshold applied per the local continuum of need."

    def _mash_referral(self, e: dict[str, Any], partner: str, when: datetime) -> None:
        rng = self._rng
        borough = next(b for b, p in LOCAL_AUTHORITY.items() if p == partner)
        person = self._child(borough=borough)
        e["referrer"] = _org(rng.choice(["merseyside-police", "nhs-cm", partner]))
        e["receiving_authority"] = borough
        e["subject"] = person.as_person()
        e["subject_kind"] = "CHILD"
        e["borough"] = borough
        e["reason_for_referral"] = "Referral received from a professional; see referral form."

    def _safe_and_well_referral(self, e: dict[str, Any], _p: str, when: datetime) -> None:
        rng = self._rng
        person = rng.choice(self.people.older + self.people.adults)
        e["occupier"] = person.as_person()
        e["visit_date"] = when.date()
        e["vulnerability_factors"] = rng.sample(
            ["LIVES_ALONE", "REDUCED_MOBILITY", "SMOKER", "HOARDING", "DEMENTIA_OR_MEMORY_LOSS"], 2
        )
        e["occupier_consent"] = rng.random() < 0.8
        e["borough"] = person.borough
        e["referred_to"] = _org(LOCAL_AUTHORITY[person.borough])
        e["referral_reason"] = "Vulnerability identified during a safe and well visit."

    def _probation_update(self, e: dict[str, Any], _p: str, when: datetime) -> None:
        rng = self._rng
        person = rng.choice(self.people.offenders)
        e["person"] = person.as_person()
        kind = rng.choice(
            ["LICENCE_CONDITION"] * 3 + ["RECALL", "BREACH", "ADDRESS_CHANGE", "RISK_LEVEL_CHANGE"]
        )
        e["update_kind"] = kind
        e["effective_date"] = when.date()
        e["borough"] = person.borough
        e["offender_manager_team"] = _org("probation-nw")
        if kind != "ADDRESS_CHANGE":
            for name in ("new_address", "new_postcode", "new_address_borough", "new_address_type"):
                e[name] = None

    def _assault_attendance(self, e: dict[str, Any], _p: str, when: datetime) -> None:
        rng = self._rng
        borough = rng.choice(["LIVERPOOL"] * 4 + ["KNOWSLEY", "SEFTON", "WIRRAL", "ST_HELENS"])
        e["emergency_department"] = {
            "partner_id": "nhs-cm",
            "name": rng.choice(
                ["Royal Liverpool ED", "Aintree ED", "Arrowe Park ED", "Whiston ED"]
            ),
            "kind": "HEALTH",
        }
        e["arrived_at"] = when
        e["assault_date"] = when.date()
        e["location_type"] = rng.choice(["STREET"] * 4 + ["PUB_OR_CLUB"] * 3 + ["HOME"] * 2)
        e["location"] = self._location(borough)
        e["weapon"] = rng.choice(["BODY_PART"] * 6 + ["KNIFE", "GLASS_BOTTLE", "BLUNT_OBJECT"])
        e["patient_age_band"] = rng.choice(["16-17", "18-24", "18-24", "25-34", "35-44"])

    def _youth_justice_outcome(self, e: dict[str, Any], _p: str, when: datetime) -> None:
        rng = self._rng
        candidates = [c for c in self.people.children if c.age_on(when.date()) >= 10]
        child = rng.choice([c for c in candidates if c.borough == "LIVERPOOL"] or candidates)
        e["child"] = child.as_person()
        e["yjs_borough"] = "LIVERPOOL" if rng.random() < 0.9 else child.borough
        e["outcome_type"] = rng.choice(
            ["COMMUNITY_RESOLUTION", "DIVERSION_OUTCOME_22", "YOUTH_CAUTION", "REFERRAL_ORDER"]
        )
        e["outcome_date"] = when.date()
