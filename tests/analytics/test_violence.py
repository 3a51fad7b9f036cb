"""The Cardiff Model cells and the VRP feed: coarse codes only, counted once."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from hub.analytics.core import Analytics
from hub.analytics.tables import publish, tables_for, to_csv, write_feed
from hub.analytics.violence import Cell, band_for_age, cell_of, hour_band, week_of
from tests.analytics import builders as b
from tests.analytics.builders import ADULT, T0

ED = b.event_type("assault-attendance")
DA = b.event_type("domestic-abuse-incident")


def test_ed_attendance_cell() -> None:
    when = datetime(2026, 6, 6, 23, 30, tzinfo=UTC)  # Saturday 00:30 in London (BST)
    c = cell_of(b.assault(when, postcode="l1 4dq", weapon="KNIFE", age_band="16-24"), ED)
    assert c == Cell("2026-06-01", "ed", "L1", "00-04", "KNIFE", "16-24")


def test_area_levels_and_unknowns() -> None:
    e = b.assault(T0, postcode="not a postcode", age_band=None)
    e["location"]["lsoa"] = "E01006512"
    assert cell_of(e, ED, "district").area == "UNKNOWN"  # type: ignore[union-attr]
    assert cell_of(e, ED, "lsoa").area == "E01006512"  # type: ignore[union-attr]
    assert cell_of(e, ED, "borough").area == "LIVERPOOL"  # type: ignore[union-attr]
    assert cell_of(e, ED).age_band == "UNKNOWN"  # type: ignore[union-attr]


def test_police_physical_domestic_abuse_counts_other_abuse_does_not() -> None:
    c = cell_of(b.domestic(ADULT, None, T0), DA)
    assert c is not None and c.source == "police" and c.method == "NOT_RECORDED"
    assert c.age_band == "35-44" and c.area == "L8"
    assert cell_of(b.domestic(ADULT, None, T0, physical=False), DA) is None
    assert cell_of(b.missing(ADULT, T0), b.event_type("missing-episode")) is None


def test_bands() -> None:
    assert [band_for_age(a) for a in (0, 15, 16, 24, 64, 65, 99)] == [
        "0-15",
        "0-15",
        "16-24",
        "16-24",
        "55-64",
        "65+",
        "65+",
    ]
    assert hour_band(datetime(2026, 1, 1, 20, 0, tzinfo=UTC)) == "20-24"  # GMT in winter
    assert week_of(datetime(2026, 11, 22, 23, 59, tzinfo=UTC)) == "2026-11-16"  # a Sunday


def test_counted_once_and_corrections_move_the_count() -> None:
    state: tuple[dict[str, object], ...] = ({}, {}, {}, {})
    analytics = Analytics([])
    a = Cell("2026-06-01", "ed", "L1", "00-04", "KNIFE", "16-24").key()
    z = Cell("2026-06-01", "ed", "L1", "00-04", "BODY_PART", "16-24").key()
    msg = {"kind": "cell", "event_id": "e1", "cell": a}
    assert analytics.apply(msg, *state).counted is not None  # type: ignore[arg-type]
    assert analytics.apply(msg, *state).duplicate  # type: ignore[arg-type]
    analytics.apply({"kind": "cell", "event_id": "e1", "cell": z}, *state)  # type: ignore[arg-type]
    assert state[2] == {a: 0, z: 1}


def test_another_partners_event_with_the_same_id_is_counted_apart() -> None:
    # Issue 15's class: ids are the partner's own, so two partners can send the same one.
    state: tuple[dict[str, object], ...] = ({}, {}, {}, {})
    analytics = Analytics([])
    ed = Cell("2026-06-01", "ed", "L1", "00-04", "KNIFE", "16-24").key()
    police = Cell("2026-06-01", "police", "L4", "00-04", "NOT_RECORDED", "25-34").key()
    analytics.apply({"kind": "cell", "provider": "nhs-cm", "event_id": "e1", "cell": ed}, *state)  # type: ignore[arg-type]
    got = analytics.apply(
        {"kind": "cell", "provider": "merseyside-police", "event_id": "e1", "cell": police},
        *state,  # type: ignore[arg-type]
    )
    assert got.counted is not None and not got.duplicate
    assert state[2] == {ed: 1, police: 1}  # the emergency department's count is not moved


def test_a_count_made_before_provider_keys_is_not_made_again() -> None:
    # A worker restored from an older changelog holds counted[event id]; the partner topics
    # are re-read on start: the same event must find its old entry, not count again.
    a = Cell("2026-06-01", "ed", "L1", "00-04", "KNIFE", "16-24").key()
    state: tuple[dict[str, object], ...] = ({}, {}, {a: 1}, {"e1": a})
    got = Analytics([]).apply(
        {"kind": "cell", "provider": "nhs-cm", "event_id": "e1", "cell": a},
        *state,  # type: ignore[arg-type]
    )
    assert got.duplicate
    assert state[2] == {a: 1} and state[3] == {"nhs-cm|e1": a}


def test_feed_record_and_csv(tmp_path: Path) -> None:
    cells = {
        Cell("2026-06-01", "ed", "L1", "20-24", "KNIFE", "16-24"): 7,
        Cell("2026-06-01", "ed", "L1", "00-04", "BODY_PART", "25-34"): 9,
        Cell("2026-06-01", "ed", "L8", "00-04", "BODY_PART", "16-24"): 2,
    }
    assert [t.name for t in tables_for(cells)] == [
        "area_by_hour_band",
        "area_by_method",
        "area_by_age_band",
    ]
    rec = publish("2026-06-01", "ed", cells, 5)
    by_hour = rec["tables"][0]
    assert by_hour["columns"] == ["00-04", "04-08", "08-12", "12-16", "16-20", "20-24"]
    assert by_hour["rows"] == ["L1", "L8"]
    assert by_hour["row_totals"][1] is None  # L8 has 2 assaults: suppressed everywhere
    assert all(t["row_totals"][1] is None for t in rec["tables"])
    rows = list(csv.DictReader(io.StringIO(to_csv(rec))))
    assert {r["count"] for r in rows if r["area"] == "L8"} <= {"*", "0"}
    path = write_feed(tmp_path, rec)
    assert path.name == "2026-06-01-ed.json" and (tmp_path / "2026-06-01-ed.csv").exists()
