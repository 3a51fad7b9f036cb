"""ISO 8601 durations (as agreements state retention, e.g. ``P2Y``) to Kafka milliseconds.

Kafka has no calendar: a year is 365 days and a month 30 days. That rounds a little short
of the calendar, which is the safe direction for a retention limit.
"""

from __future__ import annotations

import re

from hub.errors import ConfigError

_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_MS = {
    "years": 365 * 86_400_000,
    "months": 30 * 86_400_000,
    "weeks": 7 * 86_400_000,
    "days": 86_400_000,
    "hours": 3_600_000,
    "minutes": 60_000,
    "seconds": 1_000,
}

FOREVER = -1  # Kafka's retention.ms for "never delete by age"


def duration_ms(text: str) -> int:
    """Milliseconds in an ISO 8601 duration such as ``P2Y``, ``P30D`` or ``PT12H``."""
    m = _DURATION.match(text.strip())
    if m is None or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise ConfigError(f"retention {text!r} is not an ISO 8601 duration such as P2Y or P30D")
    total = sum(int(v) * _MS[k] for k, v in m.groupdict().items() if v)
    if total <= 0:
        raise ConfigError(f"retention {text!r} must be longer than zero")
    return total
