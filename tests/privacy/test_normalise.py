"""Normalisation before tokenising: names, NHS numbers, PNC ids, dates, postcodes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.privacy.identifiers import (
    check_nhs_number,
    check_pnc_id,
    nhs_check_digit,
    pnc_check_letter,
)
from hub.privacy.normalise import kind_for, normalise, normalise_name, parse_date

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("O'Brien", "obrien"),
        ("o brien", "obrien"),
        ("  O'BRIEN-smith ", "obriensmith"),
        ("Zoë", "zoe"),
        ("Zoe\u0308", "zoe"),  # combining diaeresis: same as the precomposed form
        ("Siobhán", "siobhan"),
        ("Nguyễn", "nguyen"),
        ("Øyvind", "oyvind"),
        ("Łukasz", "lukasz"),
        ("Straße", "strasse"),
        # Other scripts keep their letters, but lose their diacritics like Latin does
        # (й -> и): a limit, documented for IG officers.
        ("Дмитрий", "дмитрии"),
        ("Mary-Ann 2nd", "maryannnd"),
    ],
)
def test_names(raw: str, want: str) -> None:
    assert normalise_name(raw) == want


# 943 476 5919 is the NHS's own worked example; the others are checked by hand (weights
# 10..2, 11 - sum mod 11).
@pytest.mark.parametrize(
    "raw", ["943 476 5919", "9434765919", "943-476-5919", " 943 4765919 ", "401 023 2137"]
)
def test_valid_nhs_numbers(raw: str) -> None:
    checked = check_nhs_number(raw)
    assert checked.value == raw.replace(" ", "").replace("-", "")
    assert checked.reason is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("943 476 5918", "check digit"),  # one digit mistyped
        ("943 476 5991", "check digit"),  # two digits swapped
        ("943 476 591", "10 digits"),
        ("943 476 59190", "10 digits"),
        ("943/476/5919", "10 digits"),
        ("ABC 476 5919", "10 digits"),
        ("٩٤٣٤٧٦٥٩١٩", "10 digits"),  # Arabic-Indic digits are not accepted as digits
        ("0000000000", "placeholder"),
        ("1111111111", "placeholder"),
        ("  ", "empty"),
    ],
)
def test_invalid_nhs_numbers_give_a_reason_not_a_value(raw: str, reason: str) -> None:
    checked = check_nhs_number(raw)
    assert checked.value is None
    assert checked.reason is not None and reason in checked.reason
    assert raw.strip() == "" or raw.strip() not in checked.reason  # never quotes the value


def test_check_digit_ten_is_never_issued() -> None:
    # 1000000010 would need a check digit of 10: no number with these first nine exists.
    assert nhs_check_digit("100000001") is None


# Vectors from the Ministry of Justice HMPPS person-record service's PNC tests.
@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("2008/0056560Z", "2008/0056560Z"),
        ("20030011985X", "2003/0011985X"),
        ("1981/0154257C", "1981/0154257C"),
        ("81/34U", "1981/0000034U"),
        ("02/73319Z", "2002/0073319Z"),
        ("00/223R", "2000/0000223R"),
        ("79/163001B", "1979/0163001B"),
        ("79/163001b", "1979/0163001B"),
        (" 2002 / 0073319z ", "2002/0073319Z"),
    ],
)
def test_pnc_forms_normalise_to_full_year_and_serial(raw: str, want: str) -> None:
    assert check_pnc_id(raw, TODAY).value == want


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("20030011985Z", "does not match"),
        ("2001/0171310S", "never issued"),
        ("2001/0171310", "must look like"),
        ("0273319Z", "must look like"),  # no slash and not the full form: ambiguous
        ("2002/12345678Z", "must look like"),
        ("1850/0000034U", "out of range"),
        ("2031/0000034U", "out of range"),  # from the future
    ],
)
def test_invalid_pnc_ids(raw: str, reason: str) -> None:
    checked = check_pnc_id(raw, TODAY)
    assert checked.value is None and checked.reason is not None and reason in checked.reason


def test_two_digit_pnc_year_is_never_in_the_future() -> None:
    # The check letter covers only the last two digits of the year, so the century comes
    # from the date: '26' is this year, '27' can only be 1927 until 2027 begins.
    letter = pnc_check_letter(27, 1)
    assert check_pnc_id(f"27/1{letter}", TODAY).value == f"1927/0000001{letter}"
    assert check_pnc_id(f"27/1{letter}", date(2027, 1, 1)).value == f"2027/0000001{letter}"
    letter = pnc_check_letter(26, 1)
    assert check_pnc_id(f"26/1{letter}", TODAY).value == f"2026/0000001{letter}"


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("2011-03-04", date(2011, 3, 4)),
        ("2011-3-4", date(2011, 3, 4)),
        ("2011-03-04T00:00:00Z", date(2011, 3, 4)),
        ("04/03/2011", date(2011, 3, 4)),  # UK order: 4 March
        ("4/3/2011", date(2011, 3, 4)),
        ("04.03.2011", date(2011, 3, 4)),
        ("04-03-2011", date(2011, 3, 4)),
        ("4 March 2011", date(2011, 3, 4)),
        ("4th Mar 2011", date(2011, 3, 4)),
        ("31/02/2011", None),  # the shape of a date, not a date
        ("04/03/11", None),  # two-digit year: the century would be a guess
        ("yesterday", None),
    ],
)
def test_dates(raw: str, want: date | None) -> None:
    assert parse_date(raw) == want


def test_normalisation_is_chosen_by_tag_not_field_name() -> None:
    assert kind_for(frozenset({"pii.direct", "nhs-number", "identity-strong"})) == "nhs-number"
    assert kind_for(frozenset({"pii.direct", "pnc-id"})) == "pnc-id"
    assert kind_for(frozenset({"identity", "dob"})) == "dob"
    assert kind_for(frozenset({"pii.quasi"})) == "text"
    # The same characters, normalised as whatever the tags say they are.
    assert normalise("943 476 5919", frozenset({"nhs-number"})).value == "9434765919"
    assert normalise("943 476 5919", frozenset({"name"})).value is None
    assert normalise("943 476 5919", frozenset()).value == "943 476 5919"


def test_dates_of_birth_from_values_and_strings_agree() -> None:
    tags = frozenset({"dob"})
    want = "2011-03-04"
    assert normalise(date(2011, 3, 4), tags).value == want
    assert normalise(datetime(2011, 3, 4, 13, tzinfo=UTC), tags).value == want
    assert normalise("04/03/2011", tags).value == want
    bad = normalise("31/02/2011", tags)
    assert bad.value is None and bad.reason


def test_absent_is_not_invalid() -> None:
    for value in (None, "", "   "):
        n = normalise(value, frozenset({"nhs-number"}))
        assert n.value is None and n.reason is None
    punctuation = normalise("--", frozenset({"name"}))
    assert punctuation.value is None and punctuation.reason == "name has no letters"


def test_lists_are_order_free() -> None:
    tags = frozenset({"name"})
    a = normalise(["Jay Smith", "J-Dog"], tags)
    b = normalise(["jdog", " JAY  SMITH", "Jay Smith"], tags)
    assert a.value == b.value is not None
    assert normalise([], tags).value is None
