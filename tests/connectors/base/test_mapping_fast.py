"""The mapping's hot-path shortcuts accept and refuse exactly what the slow paths do: the
fixed-width date parser against ``datetime.strptime`` on generated texts; broken rows are
still refused naming the field, never the value."""

from __future__ import annotations

import csv
import random
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.base.config import FileRoute
from connectors.base.errors import RecordRejected
from connectors.base.mapping import Mapper, _strptime
from connectors.synthetic.exports import CSV_COLUMNS, police_csv
from connectors.synthetic.police import PoliceFeed
from hub.catalogue import Catalogue

ROOT = Path(__file__).resolve().parents[3]
FORMATS = ["%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y%m%d", "%H:%M", "%d.%m.%Y"]
PIECES = ["0", "1", "2", "3", "9", "12", "29", "31", "02", "2026", "/", ":", " ", "  ", "-"]
PIECES += [".", "\t", "٣", "x", "+1", "00", "24", "60", "13", "0000", "1900", "2024", ""]


def _outcome(parse: object, text: str, fmt: str) -> object:
    try:
        return parse(text, fmt)  # type: ignore[operator]
    except ValueError:
        return ValueError


@pytest.mark.parametrize("fmt", FORMATS)
def test_fixed_width_dates_parse_as_strptime_does(fmt: str) -> None:
    rng = random.Random(fmt)
    texts = [datetime(2026, 2, 28, 23, 59, 7).strftime(fmt), "29/02/2024 10:00", "29/02/2025"]
    for _ in range(4000):
        good = datetime(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28))
        text = good.strftime(fmt)
        # Mutate a valid text: one character swapped, inserted or dropped, or pieces joined.
        i = rng.randrange(len(text) + 1)
        piece = rng.choice(PIECES)
        texts += [
            text,
            text[:i] + piece + text[i + 1 :],
            text[:i] + piece + text[i:],
            "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8))),
        ]
    for text in texts:
        assert _outcome(_strptime, text, fmt) == _outcome(datetime.strptime, text, fmt), text


def test_formats_outside_the_fast_path_still_parse() -> None:
    assert _strptime("2 Nov 2026", "%d %b %Y") == datetime(2026, 11, 2)
    assert _strptime("02/11/26", "%d/%m/%y") == datetime(2026, 11, 2)
    with pytest.raises(re.error):
        _strptime("02/11/2026", "%d/%d/%Y")  # a repeated field: strptime's own refusal


@pytest.fixture
def police_mapper(catalogue: Catalogue) -> Mapper:
    data = yaml.safe_load((ROOT / "connectors/examples/police-concerns-csv.yaml").read_text())
    route = FileRoute.model_validate(data["source"]["files"][0])
    et = catalogue.get("safeguarding-concern")
    assert et is not None and route.mapping is not None
    return Mapper(et, "merseyside-police", route.mapping)


def test_broken_rows_are_refused_naming_the_field(police_mapper: Mapper) -> None:
    mapper = police_mapper
    rows = _police_rows(200, seed=8)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    seen: set[tuple[str, str]] = set()
    rng = random.Random(3)
    broken = ["", " ", "x", "31/02/2026 10:00", "2026-11-02T10:00", "Q", "99", "1/2/2026 3:04"]
    for row in rows:
        column = rng.choice(CSV_COLUMNS)
        row[column] = rng.choice(broken)
        try:
            event = mapper.map(row, now=now)
        except RecordRejected as exc:
            seen.add((exc.code, str(exc).split(":")[0]))
            assert exc.field and "Quillfeather" not in str(exc)
            continue
        assert event["envelope"]["recorded_at"] == now
    # Each broken column is named by its field: the reasons the slow path gave.
    assert ("wrong-type", "envelope.occurred_at") in seen
    assert ("missing-value", "subject.given_name") in seen or ("missing-value", "narrative") in seen


CELLS: list[Any] = ["", "  ", "x", "31/02/2026 10:00", "02/11/2026 10:00", "02/11/2026", "H"]
CELLS += ["Child", "a|b", "St Helens", "CCE", "485 777 3456", 7, 3.5, True, None, [], ["a"]]
CELLS += [{"a": 1}, {}, date(2020, 1, 2), datetime(2026, 1, 2, 3, 4, tzinfo=UTC), b"x"]


def _outcome_of(coerce: Any, nested: dict[str, Any]) -> object:
    try:
        return coerce(nested)
    except RecordRejected as exc:
        return (type(exc).__name__, str(exc), exc.field)


def _police_rows(n: int, seed: int) -> list[dict[str, Any]]:
    lines = police_csv(PoliceFeed(seed=seed).events(n)).decode().splitlines()[1:]
    return [dict(zip(CSV_COLUMNS, cells, strict=True)) for cells in csv.reader(lines)]


def test_the_compiled_coercion_equals_the_interpreted_one(
    catalogue: Catalogue, police_mapper: Mapper
) -> None:
    """On police rows with one to three cells replaced by anything a CSV or a database row
    might hold, the compiled coercion gives the same event or the same error (type,
    message, field) as the interpreted walk over the schema, which stays its specification."""
    et = catalogue.get("safeguarding-concern")
    assert et is not None
    interpreted = police_mapper._coercer
    rng = random.Random(17)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    kinds: set[str] = set()
    for row in _police_rows(1500, seed=9):
        for _ in range(rng.randint(0, 3)):
            row[rng.choice(CSV_COLUMNS)] = rng.choice(CELLS)
        try:
            nested = police_mapper.nest(row, now)
        except RecordRejected:
            continue  # the event id's columns: before any coercion
        # The envelope and nested records get a wrong shape now and then too.
        if rng.random() < 0.05:
            nested["subject"] = dict(nested["subject"], nickname="x")
        if rng.random() < 0.05:
            nested[rng.choice(["subject", "envelope"])] = rng.choice(CELLS)
        fast = _outcome_of(police_mapper._coerce, nested)
        slow = _outcome_of(lambda n: interpreted.record(et.schema, n, ""), nested)
        assert fast == slow
        kinds.add(fast[0] if isinstance(fast, tuple) else "event")
    assert kinds >= {"event", "WrongType", "MissingValue", "SchemaInvalid"}
