"""The Cardiff Model's unit of count: one assault, by week, area, hour band, method and age.

Sources in the catalogue: emergency-department ``assault-attendance`` (ISTV: when, where
and with what, never who) and police ``domestic-abuse-incident`` events with physical abuse
(violence the police attended; the method is not recorded there). They are counted apart
(``source``), because one assault can reach both. Only coarse codes leave this module: a
postcode district or LSOA, a four-hour band, a weapon code, an age band. Never an
identifier, a name, a date of birth or an exact time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hub.catalogue.schemas import EventType
from hub.policy.facts import age_on, event_time, get_path
from hub.privacy.generalise import postcode_district

LOCAL = ZoneInfo("Europe/London")  # hour bands are local time: night-time economy hours
HOUR_BANDS = ("00-04", "04-08", "08-12", "12-16", "16-20", "20-24")
# The ISTV bands emergency departments record; police ages are put in the same bands.
AGE_BANDS = ("0-15", "16-24", "25-34", "35-44", "45-54", "55-64", "65+")
UNKNOWN = "UNKNOWN"
NOT_RECORDED = "NOT_RECORDED"
ED, POLICE = "ed", "police"
SOURCE_TYPES = {"assault-attendance": ED, "domestic-abuse-incident": POLICE}
AreaLevel = Literal["district", "lsoa", "borough"]
DIMENSIONS = ("hour_band", "method", "age_band")


@dataclass(frozen=True)
class Cell:
    week: str  # the Monday (local date) of the week, ISO format
    source: str
    area: str
    hour_band: str
    method: str
    age_band: str

    def key(self) -> str:
        return "|".join(
            (self.week, self.source, self.area, self.hour_band, self.method, self.age_band)
        )

    @classmethod
    def from_key(cls, key: str) -> Cell:
        week, source, area, hour, method, age = key.split("|")
        return cls(week, source, area, hour, method, age)


def week_of(when: datetime) -> str:
    local = when.astimezone(LOCAL).date()
    return (local - timedelta(days=local.weekday())).isoformat()


def hour_band(when: datetime) -> str:
    return HOUR_BANDS[when.astimezone(LOCAL).hour // 4]


def band_for_age(age: int) -> str:
    for band in AGE_BANDS[:-1]:
        low, high = (int(x) for x in band.split("-"))
        if low <= age <= high:
            return band
    return AGE_BANDS[-1]


def area_of(location: Any, level: AreaLevel) -> str:
    if not isinstance(location, Mapping):
        return UNKNOWN
    if level == "borough":
        value = location.get("borough")
    elif level == "lsoa":
        value = location.get("lsoa")
    else:
        value = postcode_district(location.get("postcode"))
    return str(value) if value else UNKNOWN


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cell_of(
    event: Mapping[str, Any], event_type: EventType, level: AreaLevel = "district"
) -> Cell | None:
    """The cell an event counts in, or None when it is not a counted assault."""
    source = SOURCE_TYPES.get(event_type.slug)
    when = event_time(event, event_type)
    if source is None or when is None:
        return None
    when = _aware(when)
    if source == ED:
        age = event.get("patient_age_band")
        return Cell(
            week_of(when),
            ED,
            area_of(event.get("location"), level),
            hour_band(when),
            str(event.get("weapon") or UNKNOWN),
            str(age) if age in AGE_BANDS else UNKNOWN,
        )
    if "PHYSICAL" not in (event.get("abuse_types") or ()):
        return None
    dob = get_path(event, "victim.date_of_birth")
    band = band_for_age(age_on(dob, when.date())) if isinstance(dob, date) else UNKNOWN
    return Cell(
        week_of(when),
        POLICE,
        area_of(event.get("incident_location"), level),
        hour_band(when),
        NOT_RECORDED,
        band,
    )
