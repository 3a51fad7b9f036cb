"""Redact free text: remove the event's own identifying values and common identifier shapes.

Redaction is best effort by nature (free text can identify people in ways no pattern
catches); agreements for pseudonymised recipients should drop free text, not redact it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

_PATTERNS = [
    re.compile(r"\b[A-Z]{1,2}[0-9][0-9A-Z]?\s*[0-9][A-Z]{2}\b", re.IGNORECASE),  # postcode
    re.compile(r"\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b"),  # NHS number, spaced or dashed
    re.compile(r"\b\d{2}(?:\d{2})?/\d{1,7}[A-Z]\b", re.IGNORECASE),  # PNC id
    re.compile(r"\b(?:\+44\s?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}\b"),  # UK phone
    re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"),  # email
    re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"),  # dates
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
]


def redact(text: str | None, identifiers: Iterable[str]) -> str | None:
    if text is None:
        return None
    out = text
    # Patterns first: an identifier replaced inside an email would break the email pattern.
    for pattern in _PATTERNS:
        out = pattern.sub(REDACTED, out)
    # Longest first so "Smith-Jones" goes before "Smith".
    for ident in sorted({i for i in identifiers if i and len(i) >= 2}, key=len, reverse=True):
        # Whole words only, so a short name cannot eat into other words (or the marker).
        out = re.sub(rf"(?<!\w){re.escape(ident)}(?!\w)", REDACTED, out, flags=re.IGNORECASE)
    return out
