"""The mapping's hot-path shortcuts accept and refuse exactly what the slow paths do: the
fixed-width date parser against ``datetime.strptime`` on generated texts; broken rows are
still refused naming the field, never the value."""

from __future__ import annotations

import csv
import random
import re
from datetime import UTC, datetime
from pathlib import Path

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


def test_broken_rows_are_refused_with_the_same_reasons(catalogue: Catalogue) -> None:
    data = yaml.safe_load((ROOT / "connectors/examples/police-concerns-csv.yaml").read_text())
    route = FileRoute.model_validate(data["source"]["files"][0])
    et = catalogue.get("safeguarding-concern")
    assert et is not None and route.mapping is not None
    mapper = Mapper(et, "merseyside-police", route.mapping)
    lines = police_csv(PoliceFeed(seed=8).events(200)).decode().splitlines()[1:]
    rows = [dict(zip(CSV_COLUMNS, cells, strict=True)) for cells in csv.reader(lines)]
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
