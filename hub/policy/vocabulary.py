"""How the fields that agreement conditions read are spoken of, for IG officers.

The words come from the field docs in schemas/avro (e.g. ``borough`` is "the local authority
area the subject lives in" on a safeguarding concern, but "where the potential victim was
identified" on a modern slavery referral), so one field may read differently by event type.
A field not listed here is still put into words, from its name ("the update kind").
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Which place names read as written (title case) rather than lower case.
PLACES = {
    "LIVERPOOL": "Liverpool",
    "KNOWSLEY": "Knowsley",
    "SEFTON": "Sefton",
    "ST_HELENS": "St Helens",
    "WIRRAL": "Wirral",
}


@dataclass(frozen=True)
class Term:
    """The words for one field (``event.<field>`` or ``facts.<fact>``)."""

    noun: str  # "the risk level"
    # ``{value}`` templates for equality; default "<noun> is <value>".
    equals: str = ""
    not_equals: str = ""
    values: dict[str, str] = field(default_factory=dict)  # enum symbol -> words
    is_true: str = ""  # boolean fields: the sentence when true / false
    is_false: str = ""
    known: str = ""  # the sentence for has(...) / != null; default "<noun> is recorded"
    age: bool = False  # an age: "the subject is under 18" rather than "... less than 18"


def _lives_in(who: str) -> Term:
    return Term(
        noun="the borough",
        equals=f"{who} lives in {{value}}",
        not_equals=f"{who} does not live in {{value}}",
        values=PLACES,
    )


_BOROUGH = Term(
    noun="the borough recorded on the event",
    values=PLACES,
)

TERMS: dict[str, Term] = {
    "facts.subject_age": Term(noun="the subject", known="the subject's age is known", age=True),
    "event.borough": _BOROUGH,
    "event.yjs_borough": Term(
        noun="the borough of the responsible Youth Justice Service",
        equals="the Youth Justice Service responsible for the child is {value}'s",
        not_equals="the Youth Justice Service responsible for the child is not {value}'s",
        values=PLACES,
    ),
    "event.risk_level": Term(noun="the risk level"),
    "event.occupier_consent": Term(
        noun="the occupier's consent",
        is_true="the occupier consented to the referral",
        is_false="the occupier did not consent to the referral",
    ),
    "event.children_present": Term(
        noun="whether children were present",
        is_true="children were present during the incident",
        is_false="no children were present during the incident",
    ),
    "event.children_in_household": Term(
        noun="the number of children living in the household",
    ),
    "event.subject_kind": Term(
        noun="the subject",
        equals="the subject is recorded as {value}",
        not_equals="the subject is not recorded as {value}",
        values={"CHILD": "a child", "ADULT": "an adult", "UNKNOWN": "of unknown age"},
    ),
    "event.referral_kind": Term(
        noun="the kind of referral",
        equals="the referral is {value}",
        not_equals="the referral is not {value}",
        values={
            "NRM_REFERRAL": "a National Referral Mechanism (NRM) referral",
            "DUTY_TO_NOTIFY": "an anonymous Duty to Notify report",
        },
    ),
    "event.adult_consent": Term(
        noun="the adult's consent",
        is_true="the adult consented to the referral",
        is_false="the adult did not consent to the referral",
    ),
    "event.concern_category": Term(
        noun="the category of concern",
        equals="the concern is about {value}",
        not_equals="the concern is not about {value}",
        values={
            "CSE": "child sexual exploitation (CSE)",
            "CCE": "child criminal exploitation (CCE)",
            "COUNTY_LINES": "county lines",
            "MODERN_SLAVERY": "modern slavery",
        },
    ),
    "event.update_kind": Term(
        noun="the kind of update",
        equals="the update is {value}",
        not_equals="the update is not {value}",
        values={
            "LICENCE_CONDITION": "a licence condition",
            "RECALL": "a recall",
            "BREACH": "a breach",
            "ADDRESS_CHANGE": "an address change",
            "RISK_LEVEL_CHANGE": "a change of risk level",
        },
    ),
}

# ``event.borough`` by event type, from each schema's field doc.
BOROUGH_BY_EVENT_TYPE: dict[str, Term] = {
    "safeguarding-concern": _lives_in("the subject"),
    "mash-decision": _lives_in("the subject"),
    "mash-referral": _lives_in("the subject"),
    "missing-episode": Term(
        noun="the borough",
        equals="the missing person lives (or is placed) in {value}",
        not_equals="the missing person neither lives nor is placed in {value}",
        values=PLACES,
    ),
    "iom-cohort-change": _lives_in("the nominal"),
    "probation-update": _lives_in("the person on probation"),
    "domestic-abuse-incident": _lives_in("the victim"),
    "safe-and-well-referral": Term(
        noun="the borough",
        equals="the occupier's home is in {value}",
        not_equals="the occupier's home is not in {value}",
        values=PLACES,
    ),
    "linkage-alert": Term(
        noun="the borough",
        equals="the latest contributing event that names a borough is in {value}",
        not_equals="the latest contributing event that names a borough is not in {value}",
        values=PLACES,
    ),
    "modern-slavery-referral": Term(
        noun="the borough",
        equals="the potential victim was identified in {value}",
        not_equals="the potential victim was not identified in {value}",
        values=PLACES,
    ),
}


def term_for(path: str, event_types: tuple[str, ...] = ()) -> Term:
    """The words for ``path`` (e.g. ``event.borough``) on these event types. Where the
    event types would word it differently, the neutral wording."""
    if path == "event.borough" and event_types:
        found = [BOROUGH_BY_EVENT_TYPE.get(t, _BOROUGH) for t in event_types]
        if all(f is found[0] for f in found):
            return found[0]
    if path in TERMS:
        return TERMS[path]
    name = path.split(".")[-1].replace("_", " ")
    owner = "the subject's " if path.startswith("facts.subject_") else "the "
    if path.startswith("facts.subject_"):
        name = name.removeprefix("subject ")
    return Term(noun=owner + name)
