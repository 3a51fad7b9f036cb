"""Normalise identifiers before tokenising, so police and a council get the same token
for the same person despite differences in case, spacing, punctuation or format.

Which normalisation applies is chosen by the field's tags (``nhs-number``, ``pnc-id``,
``dob``, ``postcode``, ``name``), never by its name. A present value that cannot be
normalised (an NHS number failing its check digit, a date that is not a date) yields no
value and a reason, so it is never tokenised as if it were valid.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from hub.privacy.identifiers import check_nhs_number, check_pnc_id

_SPACES = re.compile(r"\s+")

# Tag -> normalisation kind, most specific first: a field tagged both 'nhs-number' and
# 'name' (which no schema should do) is treated as the stricter identifier.
KIND_BY_TAG: tuple[tuple[str, str], ...] = (
    ("nhs-number", "nhs-number"),
    ("pnc-id", "pnc-id"),
    ("dob", "dob"),
    ("postcode", "postcode"),
    ("name", "name"),
)
TEXT = "text"

# Letters NFKD does not decompose into a base letter plus accent; without this table they
# would vanish, so "Øyvind" and "Oyvind" would differ and "Łukasz" would become "ukasz".
_LATIN_EXTRA = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "\u0131": "i",  # dotless i
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "n",
    }
)


@dataclass(frozen=True)
class Normalised:
    """The canonical form of one value for tokenising.

    ``value`` is None when the input was absent (``reason`` None) or unusable (``reason``
    says why, without quoting the value).
    """

    kind: str
    value: str | None
    reason: str | None = None


@lru_cache(maxsize=1024)  # a schema has few distinct tag sets; asked per value
def kind_for(tags: frozenset[str]) -> str:
    return next((kind for tag, kind in KIND_BY_TAG if tag in tags), TEXT)


def normalise_name(value: str) -> str:
    """Casefold, strip accents, punctuation and spaces: "O'Brien-Smith " -> "obriensmith".

    Letters of any script are kept (casefolded), so a name written in Cyrillic still
    normalises; transliteration between scripts is not attempted.
    """
    folded = value.casefold().translate(_LATIN_EXTRA)
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if unicodedata.category(ch).startswith("L"))


def normalise_postcode(value: str) -> str:
    return _SPACES.sub("", value).upper()


# Matched after casefolding, hence the lowercase "t" of a date-time.
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[t ].*)?")
# UK order only (day first). Two-digit years are refused: for a date of birth the century
# is a guess, and a wrong guess makes a 1911 birth and a 2011 birth the same person.
_UK_DATE = re.compile(r"(\d{1,2})\s*[/.\-\s]\s*(\d{1,2})\s*[/.\-\s]\s*(\d{4})")
_UK_DATE_WORDS = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})")
_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}


def parse_date(text: str) -> date | None:
    """ISO 'YYYY-MM-DD', or UK '04/03/2011', '4.3.2011', '04-03-2011', '4 March 2011'."""
    s = text.strip().casefold()
    if m := _ISO_DATE.fullmatch(s):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := _UK_DATE.fullmatch(s):
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif (m := _UK_DATE_WORDS.fullmatch(s)) and m.group(2) in _MONTHS:
        d, mo, y = int(m.group(1)), _MONTHS[m.group(2)], int(m.group(3))
    else:
        return None
    try:
        return date(y, mo, d)
    except ValueError:  # 31/02/2011 has the shape of a date but is not one
        return None


def _date(value: Any) -> Normalised:
    if isinstance(value, datetime):
        return Normalised("dob", value.date().isoformat())
    if isinstance(value, date):
        return Normalised("dob", value.isoformat())
    if isinstance(value, str):
        parsed = parse_date(value)
        if parsed is None:
            return Normalised("dob", None, "not a date in ISO (YYYY-MM-DD) or UK (DD/MM/YYYY) form")
        return Normalised("dob", parsed.isoformat())
    return Normalised("dob", None, f"a date cannot be read from a {type(value).__name__}")


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return _SPACES.sub(" ", str(value)).strip().casefold()


# Names, dates of birth and postcodes recur across events (and each person is normalised
# twice per event: for the audit's subject tokens and the recipient's). Bounded, so memory
# stays flat; typed, so True and 1 are not the same key. Results are immutable.
@lru_cache(maxsize=16384, typed=True)
def _scalar_cached(value: str | date, kind: str) -> Normalised:
    return _scalar(value, kind)


def _scalar(value: Any, kind: str) -> Normalised:
    if kind == "dob":
        return _date(value)
    if kind == TEXT:
        text = _text(value)
        return Normalised(kind, text or None)
    if not isinstance(value, str):
        return Normalised(kind, None, f"a {kind} cannot be read from a {type(value).__name__}")
    if kind == "nhs-number":
        checked = check_nhs_number(value)
        return Normalised(kind, checked.value, checked.reason)
    if kind == "pnc-id":
        checked = check_pnc_id(value)
        return Normalised(kind, checked.value, checked.reason)
    if kind == "postcode":
        return Normalised(kind, normalise_postcode(value) or None)
    name = normalise_name(value)
    return Normalised(kind, name or None, None if name else "name has no letters")


def _many(values: Sequence[Any], kind: str) -> Normalised:
    # Order and repeats carry no identity (aliases listed differently by two partners).
    parts = [_scalar(v, kind) for v in values if v is not None and str(v).strip()]
    good = sorted({p.value for p in parts if p.value is not None})
    if good:
        return Normalised(kind, "\x1f".join(good))
    reasons = [p.reason for p in parts if p.reason]
    return Normalised(kind, None, reasons[0] if reasons else None)


def normalise(value: Any, tags: frozenset[str]) -> Normalised:
    """Normalise ``value`` by the field's tags. Empty input is absent, not invalid."""
    return normalise_as(value, kind_for(tags))


def normalise_as(value: Any, kind: str) -> Normalised:
    """:func:`normalise` with the kind already worked out from the tags (once per field,
    by the hot path's compiled plans)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Normalised(kind, None)
    if isinstance(value, list | tuple):
        return _many(value, kind)
    if isinstance(value, str | date):
        return _scalar_cached(value, kind)
    return _scalar(value, kind)


def normalise_value(value: Any, tags: frozenset[str]) -> str:
    """Normalised text, or "" when absent or unusable (use :func:`normalise` for why)."""
    return normalise(value, tags).value or ""
