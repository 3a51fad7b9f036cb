"""Strong identifiers: NHS numbers and Police National Computer (PNC) ids.

Both carry a check character, so a typo is usually detectable. A value that fails its check
is never tokenised: a token from a mistyped number would be a false identity that links
nobody, or worse, the wrong person. The caller gets the reason instead, and the reason never
quotes the value (it may end up in an audit record or a log).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# Separators people type inside identifiers: spaces (incl. no-break), hyphens and dashes.
_SEPARATORS = re.compile(r"[\s\u00a0\u2010-\u2015-]+")
_TEN_DIGITS = re.compile(r"[0-9]{10}")


@dataclass(frozen=True)
class Checked:
    """A canonical identifier, or why there is none. Exactly one of the two is set."""

    value: str | None
    reason: str | None = None


def _fail(reason: str) -> Checked:
    return Checked(None, reason)


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 over weights 10..2; None when the remainder makes 10 (never issued)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def check_nhs_number(raw: str) -> Checked:
    """'943 476 5919' / '943-476-5919' -> '9434765919', if the check digit matches.

    No range check: the blocks issued to England, Wales, Scotland and Northern Ireland are
    not something this hub can confirm, and a wrong range rule would drop real patients.
    """
    digits = _SEPARATORS.sub("", raw)
    if not digits:
        return _fail("NHS number is empty")
    # An explicit ASCII class: str.isdigit() would accept other scripts' digits.
    if not _TEN_DIGITS.fullmatch(digits):
        return _fail("NHS number must be 10 digits (spaces and dashes allowed)")
    # '0000000000' and '1111111111' pass modulus 11 but are placeholders for "unknown":
    # tokenising them would link everyone whose number was not recorded.
    if len(set(digits)) == 1:
        return _fail("NHS number is a placeholder (all digits the same)")
    if nhs_check_digit(digits[:9]) != int(digits[9]):
        return _fail("NHS number check digit does not match (likely a typo)")
    return Checked(digits)


# The PNC check character: the year's last two digits followed by the 7-digit serial, read
# as one number, modulo 23, indexed into this alphabet (no I, O or S). Confirmed against the
# Ministry of Justice's HMPPS person-record service (PNCIdentifier), which validates live PNC
# ids this way and whose tests use ids such as '2008/0056560Z' and '79/163001B'.
PNC_CHECK_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"
_PNC_SLASHED = re.compile(r"(?P<year>[0-9]{2}|[0-9]{4})/(?P<serial>[0-9]{1,7})(?P<check>[A-Z])")
# Without a slash only the full form is unambiguous: '111234567X' could be 11/1234567X or
# 1112/34567X, and guessing would tokenise a different person.
_PNC_FULL = re.compile(r"(?P<year>[0-9]{4})(?P<serial>[0-9]{7})(?P<check>[A-Z])")


def pnc_check_letter(year: int, serial: int) -> str:
    return PNC_CHECK_LETTERS[int(f"{year % 100:02d}{serial:07d}") % 23]


def _full_year(two_digits: int, today: date) -> int:
    # A PNC id cannot come from the future, so a two-digit year after this year's is 19xx.
    century = today.year - today.year % 100
    year = century + two_digits
    return year if year <= today.year else year - 100


def check_pnc_id(raw: str, today: date | None = None) -> Checked:
    """'11/123456x', '2011/0123456X' -> '2011/0123456X' ('YYYY/NNNNNNNC'), if the check holds.

    ``today`` decides the century of a two-digit year (default: the current date).
    """
    text = _SEPARATORS.sub("", raw).upper()
    if not text:
        return _fail("PNC id is empty")
    m = _PNC_SLASHED.fullmatch(text) or _PNC_FULL.fullmatch(text)
    if m is None:
        return _fail("PNC id must look like 'YYYY/NNNNNNNC' or 'YY/NNNNNNNC'")
    year_text, serial, check = m.group("year"), int(m.group("serial")), m.group("check")
    today = today or date.today()
    year = int(year_text)
    if len(year_text) == 2:
        year = _full_year(year, today)
    elif not 1900 <= year <= today.year:
        return _fail("PNC id year is out of range")
    if check not in PNC_CHECK_LETTERS:
        return _fail("PNC id check letter is never issued (I, O or S)")
    if pnc_check_letter(year, serial) != check:
        return _fail("PNC id check letter does not match (likely a typo)")
    return Checked(f"{year:04d}/{serial:07d}{check}")
