"""Normalise identifiers before tokenising, so police and a council get the same token
for the same person despite differences in case, spacing or punctuation."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

_NON_LETTERS = re.compile(r"[^a-z]+")
_SPACES = re.compile(r"\s+")


def normalise_name(value: str) -> str:
    """Casefold, strip accents and punctuation: "O'Brien-Smith " -> "obriensmith"."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().casefold()
    return _NON_LETTERS.sub("", folded)


def normalise_postcode(value: str) -> str:
    return _SPACES.sub("", value).upper()


def normalise_value(value: Any, tags: frozenset[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if "name" in tags:
        return normalise_name(text)
    if "postcode" in tags:
        return normalise_postcode(text)
    return _SPACES.sub(" ", text).strip().casefold()
