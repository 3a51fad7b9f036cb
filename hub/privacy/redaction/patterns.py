"""Shapes of identifiers in free text: UK identifiers, contact details, dates, addresses.

Every pattern is deliberately wider than the identifier it names (fail closed): a mistyped
NHS number is still an NHS number to whoever reads it, so the check digit only decides the
*label* of a 10-digit run, never whether it is removed. Over-redaction is a nuisance,
under-redaction a breach.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_ORD = r"(?:st|nd|rd|th)?"
_STREET = (
    "road|rd|street|st|avenue|ave|lane|ln|close|drive|dr|way|crescent|cres|grove|place|pl"
    "|terrace|court|ct|gardens|gdns|walk|row|square|sq|hill|view|park|mews|parade|rise|vale"
    "|green|estate|brow|croft|fold|gate|heights|wharf|quay|boulevard|precinct|yard"
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # what was found: PERSON, NHS_NUMBER, ... (labels for the benchmark)
    source: str  # which layer found it: pattern, known, ner, heuristic


def nhs_check_digit_ok(digits: str) -> bool:
    """Modulus 11 check of a 10-digit NHS number."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _digit_kind(run: str) -> str:
    digits = re.sub(r"\D", "", run)
    if len(digits) == 10 and nhs_check_digit_ok(digits):
        return "NHS_NUMBER"
    if digits.startswith(("0", "44")) and 10 <= len(digits) <= 13:
        return "PHONE"
    return "NUMBER"


_I = re.IGNORECASE
# (kind, pattern). Order does not matter: overlapping spans are merged later.
_SIMPLE: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Anchored at the start of a run and possessive: no quadratic backtracking on a long word.
    ("EMAIL", re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+")),
    ("EMAIL", re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{2,}")),  # social media handles
    ("URL", re.compile(r"\b(?:https?://|www\.)\S+", _I)),
    # PNC id: YY/NNNNNNNL or YYYY/NNNNNNNL, any case.
    ("PNC_ID", re.compile(r"\b\d{2}(?:\d{2})?\s?/\s?\d{1,7}\s?[A-Z]\b", _I)),
    # National Insurance number: 2 letters, 6 digits (spaced or not), optional suffix letter.
    ("NI_NUMBER", re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]?\b", _I)),
    # Full postcode in any case, spacing optional.
    ("POSTCODE", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", _I)),
    # Vehicle registrations: current, prefix, suffix, in capitals or all in lower case (not
    # mixed, so "CH41 and" is an outward code and a word), then dateless (capitals).
    *(
        ("VEHICLE_REG", re.compile(p.replace("A-Z", az)))
        for az in ("A-Z", "a-z")
        for p in (
            r"\b[A-Z]{2}\d{2}\s?[A-Z]{3}\b",
            r"\b[A-Z]\d{1,3}\s?[A-Z]{3}\b",
            r"\b[A-Z]{3}\s?\d{1,3}\s?[A-Z]\b",
        )
    ),
    # Dateless plates (capitals only); a lone "A" or "I" before or after a number is English.
    ("VEHICLE_REG", re.compile(r"\b(?:[A-Z]{2,3}\s?\d{1,4}|[A-Z]\d{1,4})\b")),
    ("VEHICLE_REG", re.compile(r"\b\d{1,4}\s?(?:[A-Z]{2,3}|[B-HJ-Z])\b")),
    # Dates: numeric, ISO, and written with a month name, with or without a year.
    ("DATE", re.compile(r"\b\d{1,2}\s?[/.-]\s?\d{1,2}\s?[/.-]\s?\d{2,4}\b")),
    ("DATE", re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b")),
    (
        "DATE",
        re.compile(rf"\b\d{{1,2}}{_ORD}\s+(?:of\s+)?(?:{MONTHS})\b\.?(?:,?\s+\d{{2,4}}\b)?", _I),
    ),
    ("DATE", re.compile(rf"\b(?:{MONTHS})\.?\s+\d{{1,2}}{_ORD}\b(?:,?\s+\d{{2,4}}\b)?", _I)),
    ("DATE", re.compile(rf"\b(?:{MONTHS})\.?\s+\d{{4}}\b", _I)),
    # A year after a birth cue is a partial date of birth.
    ("DATE", re.compile(r"\b(?:born|dob|d\.o\.b\.?)\s*(?:in|on|:)?\s*'?\d{2,4}\b", _I)),
    # Addresses: flat or unit numbers, and a house number before a street name.
    ("ADDRESS", re.compile(r"\b(?:flat|apartment|apt|unit|room)\s+\d+[A-Z]?\b", _I)),
    (
        "ADDRESS",
        re.compile(
            rf"\b\d{{1,4}}[A-Z]?\s*,?\s+(?:[A-Za-z][\w'\u2019-]*\s+){{1,3}}(?:{_STREET})\b", _I
        ),
    ),
)
# Any run of six or more digits, however grouped: phone numbers, NHS numbers, bank details,
# case numbers. Labelled by shape, removed whatever the label. Maximal runs, matched without
# backtracking (possessive), then trimmed: a hostile "1.1.1.1..." costs linear time.
_DIGIT_RUN = re.compile(r"[+(]?\d[\d \t().-]*+")
# A token mixing letters and digits (outward postcodes, partial registrations, ids), except
# ordinals, clock times and common units.
_MIXED = re.compile(r"\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z\d]{2,}\b")
_MIXED_OK = re.compile(
    r"^\d+(?:st|nd|rd|th|am|pm|s|yo|yrs?|hrs?|mins?|kg|mph|km|m|ft|ml|mg|x)$", re.IGNORECASE
)


def find(text: str) -> Iterator[Span]:
    for kind, pattern in _SIMPLE:
        for m in pattern.finditer(text):
            yield Span(m.start(), m.end(), kind, "pattern")
    for m in _DIGIT_RUN.finditer(text):
        run = m.group().rstrip(" \t(.-")
        if sum(c.isdigit() for c in run) >= 6:
            yield Span(m.start(), m.start() + len(run), _digit_kind(run), "pattern")
    for m in _MIXED.finditer(text):
        if not _MIXED_OK.match(m.group()):
            yield Span(m.start(), m.end(), "IDENTIFIER", "pattern")
