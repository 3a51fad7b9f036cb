"""The VRP feed: weekly tables of assault counts, suppressed, as JSON records and CSV.

Per week and source, three tables share their rows (areas) and grand total: area by hour
band, area by method, area by age band. They are suppressed together (``suppression``), so a
value hidden in one cannot be recovered through another. Suppressed values are ``null`` in
JSON and ``*`` in CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub.analytics.suppression import Published, Table, suppress
from hub.analytics.violence import AGE_BANDS, DIMENSIONS, HOUR_BANDS, Cell

FEED_VERSION = 1
_FIXED_COLS = {"hour_band": HOUR_BANDS, "age_band": (*AGE_BANDS, "UNKNOWN")}


def tables_for(cells: Mapping[Cell, int]) -> list[Table]:
    """The three breakdowns of one week's counts from one source."""
    areas = tuple(sorted({c.area for c, n in cells.items() if n > 0}))
    out = []
    for dim in DIMENSIONS:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for c, n in cells.items():
            counts[(c.area, getattr(c, dim))] += n
        seen = {col for (_a, col), n in counts.items() if n > 0}
        fixed = _FIXED_COLS.get(dim)
        cols = tuple(x for x in fixed if x in seen or x != "UNKNOWN") if fixed else ()
        cols = cols or tuple(sorted(seen))
        out.append(Table(f"area_by_{dim}", areas, cols, dict(counts)))
    return out


def group(counts: Mapping[str, int]) -> dict[tuple[str, str], dict[Cell, int]]:
    """Cell counts (keyed as the state stores them) by (week, source)."""
    out: dict[tuple[str, str], dict[Cell, int]] = defaultdict(dict)
    for key, n in counts.items():
        if n > 0:
            c = Cell.from_key(key)
            out[(c.week, c.source)][c] = n
    return dict(out)


def publish(week: str, source: str, cells: Mapping[Cell, int], threshold: int) -> dict[str, Any]:
    """One feed record: the suppressed tables of one week and source."""
    published = suppress(tables_for(cells), threshold) if cells else []
    return {
        "feed": "vrp-violence-aggregates",
        "version": FEED_VERSION,
        "week_starting": week,
        "source": source,
        "threshold": threshold,
        "tables": [_table_json(p) for p in published],
    }


def _table_json(p: Published) -> dict[str, Any]:
    return {
        "name": p.name,
        "rows": list(p.rows),
        "columns": list(p.cols),
        "cells": [[p.cells[(r, c)] for c in p.cols] for r in p.rows],
        "row_totals": [p.row_totals[r] for r in p.rows],
        "column_totals": [p.col_totals[c] for c in p.cols],
        "total": p.total,
    }


def to_csv(record: Mapping[str, Any]) -> str:
    """Long format, one line per published value: week, source, table, area, column, count."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["week_starting", "source", "table", "area", "column", "count"])
    week, source = record["week_starting"], record["source"]

    def show(v: int | None) -> str:
        return "*" if v is None else str(v)

    for t in record["tables"]:
        for r, row in zip(t["rows"], t["cells"], strict=True):
            for c, v in zip(t["columns"], row, strict=True):
                w.writerow([week, source, t["name"], r, c, show(v)])
        for r, v in zip(t["rows"], t["row_totals"], strict=True):
            w.writerow([week, source, t["name"], r, "TOTAL", show(v)])
        for c, v in zip(t["columns"], t["column_totals"], strict=True):
            w.writerow([week, source, t["name"], "TOTAL", c, show(v)])
        w.writerow([week, source, t["name"], "TOTAL", "TOTAL", show(t["total"])])
    return buf.getvalue()


def write_feed(folder: Path, record: Mapping[str, Any]) -> Path:
    """Write ``<week>-<source>.json`` and ``.csv`` atomically (readers never see half)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{record['week_starting']}-{record['source']}"
    for suffix, text in ((".json", json.dumps(record, indent=2) + "\n"), (".csv", to_csv(record))):
        tmp = folder / f".{stem}{suffix}.tmp"
        tmp.write_text(text)
        tmp.replace(folder / f"{stem}{suffix}")
    return folder / f"{stem}.json"
