"""The console's words for IG officers: display names, reasons and conditions in English,
and terms of art explained on hover.

Decision reasons are written by the policy engine in a fixed form ("condition of
police-liverpool-mash@v1 is false: <CEL>", "agreement X@v2 expired on ..."); this module
reads that form and says it in the same words the agreement page uses for the condition
(``hub.policy.english``). A reason it does not recognise is shown as recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

from hub.agreements.models import Agreement
from hub.agreements.partnership import Partnership
from hub.policy.english import Wording, word_condition

# Terms of art an IG officer meets in the console, explained on hover (<abbr title>).
GLOSSARY: dict[str, str] = {
    "DPO": "Data Protection Officer",
    "MASH": "Multi-Agency Safeguarding Hub",
    "IOM": "Integrated Offender Management",
    "NRM": "National Referral Mechanism (modern slavery)",
    "VRP": "Violence Reduction Partnership",
    "PNC": "Police National Computer",
    "pseudonym": (
        "A keyed code that stands for a person's identifiers: the same person gets the same "
        "code, but the code cannot be turned back into the identifiers without the hub's key"
    ),
    "pseudonymised": (
        "Replaced by a keyed code: the recipient can tell records about the same person "
        "apart, but cannot learn who the person is"
    ),
    "generalised": "Made less precise, e.g. a date of birth becomes an age band",
    "redacted": "Free text with names and other identifying details removed",
    "withheld": "Considered for this recipient and not shared, with the reason",
    "gateway": "The statute that gives the power to share (e.g. Crime and Disorder Act s115)",
    "s62": "DPA 2018 section 62: the logs law-enforcement processing must keep",
    "Article 15": "UK GDPR Article 15: a person's right of access to their data",
    "Article 19": (
        "UK GDPR Article 19: a controller tells every recipient of personal data about its "
        "rectification or erasure"
    ),
    "retraction notice": (
        "Sent by the hub to a recipient that received a record now withdrawn or corrected so "
        "that the recipient may no longer have it: delete it, or stop using it. Counted apart "
        "from withheld decisions: a notice follows something that was shared"
    ),
    "revision": "A partner's corrected version of an event: 1 is the first, 2 the next",
    "event time": "When the event happened, as the partner recorded it",
    "decision time": "When the hub decided whether to share the event",
}


# Areas (the Borough enum, hub/privacy/candidates.py) in words.
AREAS: dict[str, str] = {
    "LIVERPOOL": "Liverpool",
    "KNOWSLEY": "Knowsley",
    "SEFTON": "Sefton",
    "ST_HELENS": "St Helens",
    "WIRRAL": "Wirral",
    "OUT_OF_AREA": "outside Merseyside",
    "UNKNOWN": "area not known",
}

# Access-log actions (``ConsoleState.consult``) in words.
ACTIONS: dict[str, str] = {
    "subject-report": "subject report (looked the person up)",
    "subject-report-csv": "downloaded a subject report",
    "subject-report-pdf": "downloaded a disclosure record (PDF)",
    "view-decision": "opened a decision",
    "view-unreceipted-notices": "listed retraction notices not yet receipted",
    "search-decisions": "searched decisions",
    "view-alerts": "viewed alerts",
    "what-if": "ran a what-if",
    "who-looked-up": "searched the access log for a person",
    "subject-candidates": "searched by name alone (saw age bands and areas)",
    "api-decision": "read a decision through the API",
    "api-decisions": "searched decisions through the API",
    "export-decisions-csv": "downloaded decisions as CSV",
}

_IDENTIFIERS = {
    "given_name": "given name",
    "family_name": "family name",
    "date_of_birth": "date of birth",
    "nhs_number": "NHS number",
    "pnc_id": "PNC id",
    "postcode": "postcode",
}


def target_words(target: str) -> str:
    """What an access-log entry looked at, in words: a person is "a person, searched by
    name and date of birth", never their pseudonyms; ids and filters as recorded."""
    import json

    try:
        data = json.loads(target)
    except ValueError:
        return target
    if not isinstance(data, dict):
        return target
    parts = []
    if "tokens" in data:
        given = [_IDENTIFIERS.get(i, i) for i in data.get("identifiers", ())]
        parts.append("a person" + (f", searched by {' and '.join(given)}" if given else ""))
    for key, value in sorted(data.items()):
        if key in ("tokens", "identifiers") or value in ("", None, [], False):
            continue
        parts.append(f"{key.replace('_', ' ')} {value}" if value is not True else key)
    return "; ".join(parts)


# Field treatments (agreement ``fields``) in words; the words are glossary terms.
TREATMENTS: dict[str, str] = {
    "keep": "shared as is",
    "drop": "left out",
    "token": "pseudonymised",
    "generalise": "generalised",
    "redact": "redacted",
}


def explain(term: str, shown: str | None = None) -> Markup:
    """``term`` with its explanation on hover (and to screen readers, via ``title``)."""
    text = shown or term
    title = GLOSSARY.get(term)
    if title is None:
        return Markup(escape(text))
    return Markup('<abbr title="{}">{}</abbr>').format(title, text)


@dataclass(frozen=True)
class Names:
    """Display names for partners and recipients; an unknown id reads as itself."""

    by_id: Mapping[str, str]

    @classmethod
    def of(cls, partnership: Partnership) -> Names:
        # The hub's own analytics publish linkage alerts as a provider of their own.
        names = {"hub-analytics": "The hub's analytics (linkage alerts)"}
        names.update({p.id: p.name for p in partnership.partners})
        names.update({r.id: r.name for r in partnership.recipients})
        return cls(names)

    def __call__(self, ident: str | None) -> str:
        if not ident:
            return ""
        return self.by_id.get(ident, ident)


_REF = re.compile(r"(?P<id>[a-z0-9][a-z0-9-]*)@v(?P<version>\d+)")
# The engine's reason forms (hub/policy/engine.py); a reason joins one per agreement by "; ".
_PARTS = re.compile(r"; (?=condition of |agreement |field plan of |no agreement )")
_CONDITION_FALSE = re.compile(r"^condition of (?P<ref>\S+) is false: (?P<cel>.*)$", re.S)


def _agreement_label(ref: str, agreements: Mapping[tuple[str, int], Agreement]) -> str:
    m = _REF.fullmatch(ref)
    if m is None:
        return ref
    a = agreements.get((m["id"], int(m["version"])))
    return f"“{a.title}” (version {a.version})" if a else f"{m['id']} version {m['version']}"


def first_upper(text: str) -> str:
    """Sentence case without lowering the rest (Jinja's ``capitalize`` would: "liverpool")."""
    return text[:1].upper() + text[1:]


_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?")


def retention_words(iso: str | None) -> str:
    """An ISO 8601 period (``P6Y``, ``P18M``) in words; anything else as written."""
    m = _DURATION.fullmatch(iso or "")
    if not iso or m is None or not any(m.groups()):
        return iso or "not stated"
    units = ("year", "month", "week", "day")
    parts = [
        f"{n} {u}{'s' if int(n) != 1 else ''}" for n, u in zip(m.groups(), units, strict=True) if n
    ]
    return " and ".join(parts)


def condition_words(agreement: Agreement) -> Wording:
    return word_condition(agreement.condition, tuple(agreement.event_types))


def reason_in_words(reason: str, agreements: Mapping[tuple[str, int], Agreement]) -> str:
    """An engine reason as an IG officer would say it."""
    if reason.startswith("allowed by "):
        return "shared under " + _agreement_label(reason.removeprefix("allowed by "), agreements)
    out = [_part_in_words(p, agreements) for p in _PARTS.split(reason) if p]
    return "; ".join(out)


def _part_in_words(part: str, agreements: Mapping[tuple[str, int], Agreement]) -> str:
    m = _CONDITION_FALSE.match(part)
    if m:
        ref = _REF.fullmatch(m["ref"])
        a = agreements.get((ref["id"], int(ref["version"]))) if ref else None
        event_types = tuple(a.event_types) if a else ()
        english = word_condition(m["cel"], event_types).sentence
        label = _agreement_label(m["ref"], agreements)
        return f"not shared: {label} shares only when {english}, and this event did not meet that"
    if part == "no agreement covers this recipient":
        return "not shared: no agreement covers this recipient for this kind of event"
    # Other forms (not approved, not in force, expired...) already read as sentences: name
    # the agreement by its title instead of its internal reference.
    # A reference that is not an agreement (an alert rule's, say): its id and version.
    return _REF.sub(
        lambda r: (
            _agreement_label(r.group(0), agreements)
            if (r["id"], int(r["version"])) in agreements
            else f"{r['id']} (version {r['version']})"
        ),
        part,
    )


def agreements_by_version(agreements: list[Agreement]) -> dict[tuple[str, int], Agreement]:
    return {(a.id, a.version): a for a in agreements}


def reason_filter(agreements: Callable[[], list[Agreement]]) -> Callable[[str], str]:
    """A template filter with the agreements read once per page."""
    table: dict[tuple[str, int], Agreement] | None = None

    def words(reason: str) -> str:
        nonlocal table
        if table is None:
            table = agreements_by_version(agreements())
        return reason_in_words(reason or "", table)

    return words
