"""Small-number suppression with secondary suppression for published tables of counts.

Several two-way tables of the same events (area by hour band, area by weapon, area by age
band) share their row totals and grand total. Counts from 1 to ``threshold - 1`` are
suppressed (primary); then, while any suppressed value can be solved for from the published
values and the additive relations (cells sum to row and column totals, totals to the grand
total, across all the tables), one more value on a relation through it is suppressed
(secondary), the smallest non-zero first. The check is exact linear algebra over the
rationals, not a heuristic on single rows, so combinations of rows and columns are covered.
Zero counts are published: a zero discloses nobody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import gcd

TOTAL = "TOTAL"
_CANDIDATES = 8  # partners tried per step: enough to avoid needless suppression, bounded
Var = tuple[str, ...]  # ("cell", table, row, col) | ("row", row) | ("col", table, col) | ("grand",)


@dataclass(frozen=True)
class Table:
    """Counts of one breakdown: ``counts[(row, col)]``; missing pairs count zero."""

    name: str
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    counts: Mapping[tuple[str, str], int]


@dataclass(frozen=True)
class Published:
    """A table as published: ``None`` marks a suppressed value."""

    name: str
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    cells: dict[tuple[str, str], int | None]
    row_totals: dict[str, int | None]
    col_totals: dict[str, int | None]
    total: int | None

    def suppressed(self) -> int:
        values = [
            *self.cells.values(),
            *self.row_totals.values(),
            *self.col_totals.values(),
            self.total,
        ]
        return sum(v is None for v in values)


def relations(tables: Sequence[Table]) -> list[dict[Var, int]]:
    """The additive relations a reader of the tables knows: each a sum equal to zero."""
    eqs: list[dict[Var, int]] = []
    rows = tables[0].rows if tables else ()
    for t in tables:
        for r in rows:
            eq: dict[Var, int] = {("cell", t.name, r, c): 1 for c in t.cols}
            eq[("row", r)] = -1
            eqs.append(eq)
        for c in t.cols:
            eq = {("cell", t.name, r, c): 1 for r in rows}
            eq[("col", t.name, c)] = -1
            eqs.append(eq)
        eq = {("col", t.name, c): 1 for c in t.cols}
        eq[("grand",)] = -1
        eqs.append(eq)
    eq = {("row", r): 1 for r in rows}
    eq[("grand",)] = -1
    eqs.append(eq)
    return eqs


def values(tables: Sequence[Table]) -> dict[Var, int]:
    out: dict[Var, int] = {}
    rows = tables[0].rows if tables else ()
    for t in tables:
        for r in rows:
            for c in t.cols:
                out[("cell", t.name, r, c)] = int(t.counts.get((r, c), 0))
        for c in t.cols:
            out[("col", t.name, c)] = sum(int(t.counts.get((r, c), 0)) for r in rows)
    first = tables[0] if tables else None
    for r in rows:
        out[("row", r)] = sum(int(first.counts.get((r, c), 0)) for c in first.cols) if first else 0
    out[("grand",)] = sum(out[("row", r)] for r in rows)
    return out


def determined(eqs: Sequence[Mapping[Var, int]], hidden: set[Var]) -> list[Var]:
    """The hidden values a reader can solve for exactly from the relations.

    Only the hidden variables' coefficients matter (published values move to the right-hand
    side). A hidden value is determined exactly when its unit vector lies in the row space of
    that coefficient matrix: once reduced (Gauss-Jordan), a pivot whose row has no other
    non-zero entry. Exact integer arithmetic, rows kept small by their gcd.
    """
    order = sorted(hidden)
    index = {v: i for i, v in enumerate(order)}
    rows: list[list[int]] = []
    for eq in eqs:
        row = [0] * len(order)
        for v, coef in eq.items():
            if v in index:
                row[index[v]] = coef
        if any(row):
            rows.append(row)
    pivots: list[int] = []
    r = 0
    for col in range(len(order)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        lead_row = rows[r]
        lead = lead_row[col]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                f = rows[i][col]
                new = [a * lead - b * f for a, b in zip(rows[i], lead_row, strict=True)]
                g = 0
                for x in new:
                    g = gcd(g, x)
                rows[i] = [x // g for x in new] if g > 1 else new
        pivots.append(col)
        r += 1
        if r == len(rows):
            break
    return [
        order[col]
        for i, col in enumerate(pivots)
        if not any(x for j, x in enumerate(rows[i]) if j != col)
    ]


def _partner(
    var: Var, eqs: Sequence[Mapping[Var, int]], hidden: set[Var], vals: Mapping[Var, int]
) -> Var | None:
    """The published value to hide with ``var``, on a relation through it: a non-zero cell
    before a zero or a total (totals stay published where possible), then the one leaving
    fewest values solvable, then the smallest count."""
    options = sorted(
        {v for eq in eqs if var in eq for v in eq if v not in hidden},
        key=lambda v: (vals[v] == 0, v[0] != "cell", vals[v], v),
    )
    if not options:
        return None
    tier = (vals[options[0]] == 0, options[0][0] != "cell")
    group = [v for v in options if (vals[v] == 0, v[0] != "cell") == tier][:_CANDIDATES]
    return min(group, key=lambda v: (len(determined(eqs, hidden | {v})), vals[v], v))


def _rectangle(
    cell: Var, tables: Sequence[Table], hidden: set[Var], vals: Mapping[Var, int]
) -> set[Var]:
    """Hide the other corners of the cheapest rectangle through ``cell`` (rows i, i2 and
    columns j, j2 of its table): adding d to two opposite corners and taking it from the
    other two changes no total, so none of the four can be solved for from the totals."""
    _kind, name, row, col = cell
    t = next(t for t in tables if t.name == name)
    best: tuple[tuple[int, int], set[Var]] | None = None
    for r2 in t.rows:
        for c2 in t.cols:
            if r2 == row or c2 == col:
                continue
            corners: set[Var] = {
                ("cell", name, row, c2),
                ("cell", name, r2, col),
                ("cell", name, r2, c2),
            }
            new = {v for v in corners if v not in hidden}
            # Zero corners are a weak disguise (a count cannot go below zero): avoid them.
            cost = (sum(vals[v] == 0 for v in corners), sum(vals[v] for v in new))
            if best is None or cost < best[0]:
                best = (cost, new)
    return best[1] if best else set()


def suppress(tables: Sequence[Table], threshold: int = 5) -> list[Published]:
    """Publishable versions of ``tables`` (sharing rows and grand total), suppressed so no
    count in 1..threshold-1 is shown or can be derived from what is shown."""
    if not tables:
        return []
    if len({t.rows for t in tables}) != 1:
        raise ValueError("tables published together must share their rows")
    eqs = relations(tables)
    vals = values(tables)
    hidden = {v for v, n in vals.items() if 0 < n < threshold}
    while True:
        solvable = determined(eqs, hidden)
        if not solvable:
            break
        target = solvable[0]
        if target[0] == "cell":
            corners = _rectangle(target, tables, hidden, vals)
            if corners:
                hidden.update(corners)
                continue
        partner = _partner(target, eqs, hidden, vals)
        if partner is None:
            # Every relation through it is hidden already: hide the smallest value left.
            rest = [v for v in vals if v not in hidden]
            if not rest:
                break
            partner = min(rest, key=lambda v: (vals[v] == 0, vals[v], v))
        hidden.add(partner)
    return [_publish(t, vals, hidden) for t in tables]


def _publish(t: Table, vals: Mapping[Var, int], hidden: set[Var]) -> Published:
    def show(v: Var) -> int | None:
        return None if v in hidden else vals[v]

    return Published(
        name=t.name,
        rows=t.rows,
        cols=t.cols,
        cells={(r, c): show(("cell", t.name, r, c)) for r in t.rows for c in t.cols},
        row_totals={r: show(("row", r)) for r in t.rows},
        col_totals={c: show(("col", t.name, c)) for c in t.cols},
        total=show(("grand",)),
    )
