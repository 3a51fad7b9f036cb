from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.privacy.generalise import age_band, generalise, postcode_district, postcode_sector
from hub.privacy.redact import REDACTED, redact


@pytest.mark.parametrize(
    ("dob", "band"),
    [
        (date(2016, 11, 24), "0-9"),
        (date(2011, 3, 4), "14-15"),
        (date(2008, 11, 24), "16-17"),
        (date(2008, 11, 23), "18-24"),
        (date(1950, 1, 1), "65+"),
    ],
)
def test_age_band_at_event_time(dob: date, band: str) -> None:
    assert age_band(dob, date(2026, 11, 23)) == band


@pytest.mark.parametrize(
    ("postcode", "district", "sector"),
    [("L8 1TX", "L8", "L8 1"), ("ch41 2qb", "CH41", "CH41 2"), ("PR81AB", "PR8", "PR8 1")],
)
def test_postcode_generalisation(postcode: str, district: str, sector: str) -> None:
    assert postcode_district(postcode) == district
    assert postcode_sector(postcode) == sector


def test_unparseable_postcode_never_passes_through() -> None:
    assert postcode_district("NOT A POSTCODE") is None


def test_time_generalisations() -> None:
    ts = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
    when = ts.date()
    assert generalise("week", ts, when) == "2026-W45"
    assert generalise("month", ts, when) == "2026-11"
    assert generalise("day", ts, when) == "2026-11-02"


def test_redact_removes_identifiers_and_patterns() -> None:
    text = "Jo Smith (07700 900123, jo@example.org) born 04/03/2011 lives at L8 1TX"
    out = redact(text, ["Jo", "Smith"])
    assert out is not None
    for leaked in ("Jo ", "Smith", "07700", "example.org", "04/03/2011", "L8 1TX"):
        assert leaked not in out
    # Touching spans merge; "born" goes with its date (over-redaction, never under).
    assert out == f"{REDACTED}, {REDACTED}) {REDACTED} lives at {REDACTED}"


def test_redact_whole_words_only() -> None:
    # The event's own "Ed" never cuts into other words.
    assert redact("the credit was edited", ["Ed"]) == "the credit was edited"
