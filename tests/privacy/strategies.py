"""Hypothesis strategies: people as partners record them, and agreements' field clauses.

People come with the noise real records have: case, spacing, accents and punctuation in
names; NHS numbers spaced or dashed, some mistyped; PNC ids in long, short and lowercase
forms. Clauses are drawn only from combinations the plan compiler accepts for the field or
tag they select, so every drawn agreement compiles.
"""

from __future__ import annotations

import string
from datetime import date
from typing import Any

from hypothesis import strategies as st

from hub.catalogue import EventType, FieldInfo
from hub.policy.plan import GENERALISERS
from hub.privacy.identifiers import nhs_check_digit, pnc_check_letter

# Real-world shapes: apostrophes, hyphens, spaces, accents, letters NFKD cannot split.
NAMES = [
    "Kayden",
    "O'Brien",
    "Zoë",
    "Siobhán",
    "Nguyễn",
    "Smith-Jones",
    "Mary Ann",
    "McDonald",
    "Øyvind",
    "Łukasz",
    "Dvořák",
    "François",
    "Renée",
    "Saoirse",
    "Oluwaseun",
    "Przybylski",
    "Van der Berg",
]
# Long enough that a random one cannot plausibly turn up inside other output text.
_RANDOM_NAME = st.text(alphabet=string.ascii_letters, min_size=6, max_size=12)
_ACCENTS = ["\u0301", "\u0300", "\u0308", "\u0327", "\u030c"]  # combining marks
_STREETS = ["Lodge Lane", "Smithdown Road", "Scotland Road", "Park Road", "County Road"]
DOMAINS = ["msn", "mash"]

base_names = st.one_of(st.sampled_from(NAMES), _RANDOM_NAME)


@st.composite
def presented(draw: st.DrawFn, name: str) -> str:
    """The same name as another partner might type it: normalises to the same letters."""
    out: list[str] = []
    for ch in name:
        if ch.isalpha():
            out.append(ch.upper() if draw(st.booleans()) else ch.lower())
            if ch in "aeiouncAEIOUNC" and draw(st.integers(0, 5)) == 0:
                out.append(draw(st.sampled_from(_ACCENTS)))
        elif ch in " -'":  # separators may change into one another or vanish
            out.append(draw(st.sampled_from([" ", "  ", "-", "'", ""])))
        else:
            out.append(ch)
    pad = st.sampled_from(["", " ", "  "])
    return draw(pad) + "".join(out) + draw(pad)


@st.composite
def nhs_digits(draw: st.DrawFn) -> str:
    """Ten digits with a valid modulus-11 check digit (not a placeholder)."""
    first = list(draw(st.text(alphabet=string.digits, min_size=9, max_size=9)))
    # Nudge the ninth digit instead of drawing again: redrawing makes hypothesis' simplest
    # example ('000000000', a placeholder) invalid and its search slow. Ten nudges cover
    # every digit, and at most two of them can give a check digit of 10 or a repdigit.
    for _ in range(10):
        check = nhs_check_digit("".join(first))
        if check is not None and len({*first, str(check)}) > 1:
            return "".join(first) + str(check)
        first[8] = str((int(first[8]) + 1) % 10)
    raise AssertionError("unreachable: some ninth digit always gives a valid number")


def spaced_nhs(digits: str, style: int) -> str:
    if style == 0:
        return digits
    sep = " " if style == 1 else "-"
    return f"{digits[:3]}{sep}{digits[3:6]}{sep}{digits[6:]}"


@st.composite
def mistyped_nhs(draw: st.DrawFn, digits: str) -> str:
    """A valid number with one realistic typo that the check digit catches."""
    kind = draw(st.sampled_from(["digit", "swap", "short", "long"]))
    if kind == "short":
        return digits[:-1]
    if kind == "long":
        return digits + draw(st.sampled_from(string.digits))
    if kind == "swap":
        i = draw(st.integers(0, 8))
        swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        # Swapping equal digits is no typo, and modulus 11 catches every other swap.
        if swapped != digits:
            return swapped
    i = draw(st.integers(0, 9))
    other = draw(st.sampled_from([d for d in string.digits if d != digits[i]]))
    typo = digits[:i] + other + digits[i + 1 :]
    # Modulus 11 catches every single-digit change, except where the first nine then
    # need a check digit of 10 - still invalid, just for a different reason.
    return typo


@st.composite
def pnc_ids(draw: st.DrawFn) -> tuple[str, str]:
    """(as recorded, canonical 'YYYY/NNNNNNNC')."""
    year = draw(st.integers(1975, 2025))
    serial = draw(st.integers(0, 9_999_999))
    canonical = f"{year}/{serial:07d}{pnc_check_letter(year, serial)}"
    short = f"{year % 100:02d}/{serial}{pnc_check_letter(year, serial)}"
    recorded = draw(st.sampled_from([canonical, short, canonical.lower(), short.lower()]))
    return recorded, canonical


@st.composite
def postcodes(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["L", "CH", "WA", "PR", "M", "LS", "SW"]))
    district = draw(st.integers(1, 39))
    unit = draw(st.text(alphabet="ABDEFGHJLNPQRSTUWXYZ", min_size=2, max_size=2))
    code = (
        f"{area}{district}{draw(st.sampled_from([' ', '', '  ']))}{draw(st.integers(0, 9))}{unit}"
    )
    return code.lower() if draw(st.booleans()) else code


@st.composite
def people(draw: st.DrawFn) -> dict[str, Any]:
    """A Person record as decoded from Avro, with realistic noise."""
    given, family = draw(base_names), draw(base_names)
    nhs: str | None = None
    if draw(st.booleans()):
        digits = draw(nhs_digits())
        nhs = draw(st.one_of(st.just(digits), mistyped_nhs(digits)))
        nhs = spaced_nhs(nhs, draw(st.integers(0, 2))) if len(nhs) == 10 else nhs
    pnc = draw(st.one_of(st.none(), pnc_ids().map(lambda p: p[0])))
    aliases = draw(st.lists(base_names.map(lambda n: f"{n} {family}"), max_size=2))
    return {
        "given_name": draw(presented(given)),
        "family_name": draw(presented(family)),
        "aliases": aliases,
        "date_of_birth": draw(st.none() | st.dates(date(1920, 1, 1), date(2024, 12, 31))),
        "gender": draw(st.sampled_from(["FEMALE", "MALE", "OTHER", "UNKNOWN"])),
        "nhs_number": nhs,
        "pnc_id": pnc,
        "address": f"{draw(st.integers(1, 240))} {draw(st.sampled_from(_STREETS))}",
        "postcode": draw(st.none() | postcodes()),
    }


def narrative_about(p: dict[str, Any]) -> str:
    """Free text quoting the person's identifiers, as officers' notes do."""
    # Fillers are '-', not words like 'unknown' that are also enum symbols of other fields.
    return (
        f"{p['given_name']} {p['family_name']} (NHS {p['nhs_number'] or '-'}, "
        f"PNC {p['pnc_id'] or '-'}) seen near {p['postcode'] or '-'} with "
        f"{', '.join(p['aliases']) or '-'}; lives at {p['address']}."
    )


def _plain_string(f: FieldInfo) -> bool:
    inner = [t for t in f.avro_type if t != "null"] if isinstance(f.avro_type, list) else []
    return f.avro_type == "string" or inner == ["string"]


def treatments_for(fields: list[FieldInfo]) -> list[dict[str, Any]]:
    """Treatments the compiler accepts for every one of ``fields``."""
    options: list[dict[str, Any]] = [{"treatment": "keep"}, {"treatment": "drop"}]
    options += [{"treatment": "token", "domain": d} for d in DOMAINS]
    if any(f.is_record for f in fields):
        return options
    # Redact only plain strings: an enum or uuid redacted would no longer be one.
    if all(_plain_string(f) for f in fields):
        options.append({"treatment": "redact"})
    for target, (tag, _) in GENERALISERS.items():
        if all(tag in f.tags for f in fields):
            options.append({"treatment": "generalise", "to": target})
    return options


def clauses(event_type: EventType) -> st.SearchStrategy[list[dict[str, Any]]]:
    walk = event_type.walk()
    selectors: list[tuple[str, str, list[FieldInfo]]] = [("field", f.path, [f]) for f in walk]
    for tag in sorted({t for f in walk for t in f.tags}):
        selectors.append(("tag", tag, [f for f in walk if tag in f.tags]))

    @st.composite
    def one(draw: st.DrawFn) -> dict[str, Any]:
        kind, selector, fields = draw(st.sampled_from(selectors))
        return {kind: selector, **draw(st.sampled_from(treatments_for(fields)))}

    # The envelope is usually kept, as in real agreements, so outputs have some substance.
    envelope = st.sampled_from([[{"tag": "envelope", "treatment": "keep"}], []])
    return st.tuples(envelope, st.lists(one(), min_size=1, max_size=10)).map(
        lambda parts: [{"id": f"c{i}", **c} for i, c in enumerate(parts[0] + parts[1])]
    )
