"""The event's own values (names, aliases, date of birth, address, identifiers) as exact matches.

The transform passes the string values of the event's personal-data fields. Each is matched
case-insensitively, as whole words, with any spacing or dashes between its parts, so
"943 476 5919" is found as "9434765919" and "Jo  Smith" as "jo smith".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date

from hub.privacy.redaction.patterns import Span

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _date_forms(value: str) -> list[str]:
    """Ways a narrative writes a date of birth the event holds as 2009-04-03."""
    m = _ISO.match(value)
    if not m:
        return []
    try:
        d = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return []
    month = _MONTH_NAMES[d.month - 1]
    return [
        f"{d.day:02d}/{d.month:02d}/{d.year}",
        f"{d.day}/{d.month}/{d.year}",
        f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",
        f"{d.day} {month} {d.year}",
        f"{d.day} {month[:3]} {d.year}",
        f"{month} {d.day} {d.year}",
    ]


def _pattern(value: str) -> str:
    compact = re.sub(r"[\s-]+", "", value)
    if len(compact) >= 6 and any(c.isdigit() for c in compact) and compact.isalnum():
        # An identifier: any spacing or dashes between any of its characters.
        return r"[\s-]?".join(re.escape(c) for c in compact)
    return r"[\s,-]+".join(re.escape(p) for p in value.split())


def compile_known(values: Iterable[str]) -> re.Pattern[str] | None:
    forms: set[str] = set()
    for raw in values:
        value = " ".join(raw.split())
        if len(value) < 2:
            continue
        forms.add(value)
        forms.update(_date_forms(value))
        # Each word of a multi-word value too: a narrative says "Smith", not "Jo Smith".
        forms.update(w for w in re.split(r"[\s,]+", value) if len(w) >= 2)
    if not forms:
        return None
    # Longest first so "Smith-Jones" goes before "Smith".
    alternatives = [_pattern(f) for f in sorted(forms, key=len, reverse=True)]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def find(text: str, pattern: re.Pattern[str] | None) -> Iterator[Span]:
    if pattern is None:
        return
    for m in pattern.finditer(text):
        yield Span(m.start(), m.end(), "KNOWN", "known")
