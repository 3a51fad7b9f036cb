"""Generalisations: replace a precise value by a coarser one."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from hub.policy.facts import age_on

# Bands follow safeguarding practice: the child/adult line and the 16-17 transition matter.
_AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 9, "0-9"),
    (10, 13, "10-13"),
    (14, 15, "14-15"),
    (16, 17, "16-17"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 49, "35-49"),
    (50, 64, "50-64"),
    (65, 200, "65+"),
)

# Outward code of a UK postcode: area letters + district digits (+ optional letter).
_OUTWARD = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)\s*([0-9])[A-Z]{2}$")


def age_band(dob: date | None, when: date) -> str | None:
    if dob is None:
        return None
    age = age_on(dob, when)
    for low, high, label in _AGE_BANDS:
        if low <= age <= high:
            return label
    return None


def postcode_district(postcode: str | None) -> str | None:
    """'L8 1TX' -> 'L8'. An unparseable postcode yields None, never the raw value."""
    if not postcode:
        return None
    m = _OUTWARD.match(postcode.strip().upper())
    return m.group(1) if m else None


def postcode_sector(postcode: str | None) -> str | None:
    """'L8 1TX' -> 'L8 1'."""
    if not postcode:
        return None
    m = _OUTWARD.match(postcode.strip().upper())
    return f"{m.group(1)} {m.group(2)}" if m else None


def generalise(target: str, value: Any, when: date) -> Any:
    if target == "age_band":
        return age_band(value if isinstance(value, date) else None, when)
    if target == "year_of_birth":
        return value.year if isinstance(value, date) else None
    if target == "postcode_district":
        return postcode_district(value)
    if target == "postcode_sector":
        return postcode_sector(value)
    if isinstance(value, date) and target in ("day", "week", "month"):
        day = value.date() if isinstance(value, datetime) else value
        if target == "day":
            return day.isoformat()
        if target == "week":
            iso = day.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        return f"{day.year}-{day.month:02d}"
    if value is None:
        return None
    raise ValueError(f"cannot generalise {type(value).__name__} to {target}")
