"""Small-number suppression: nothing under the threshold is shown or derivable.

The property test plays the attacker: it writes down every additive relation a reader of
the published tables knows (cells to row and column totals, totals to the grand total, and
the row totals and grand total shared by the tables of one week), substitutes the published
values, and checks by rank that no suppressed value is uniquely determined. The rank is
computed here independently of the library's elimination.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.analytics.suppression import Published, Table, suppress

THRESHOLD = 5


def echelon(matrix: list[list[Fraction]]) -> list[tuple[int, list[Fraction]]]:
    """Row echelon basis of the row space, as (pivot column, row) pairs."""
    basis: list[tuple[int, list[Fraction]]] = []
    for row in matrix:
        vec = reduce(row, basis)
        pivot = next((j for j, x in enumerate(vec) if x != 0), None)
        if pivot is not None:
            basis.append((pivot, vec))
    return basis


def reduce(row: list[Fraction], basis: list[tuple[int, list[Fraction]]]) -> list[Fraction]:
    vec = row[:]
    for pivot, b in basis:
        if vec[pivot] != 0:
            f = vec[pivot] / b[pivot]
            vec = [x - f * y for x, y in zip(vec, b, strict=True)]
    return vec


def attacker_equations(pubs: Sequence[Published]) -> tuple[list[str], list[list[Fraction]]]:
    """Unknowns (suppressed values, shared ones once) and the coefficient rows of every
    relation, restricted to the unknowns."""
    unknowns: list[str] = []

    def var(name: str, value: int | None) -> str | None:
        if value is None:
            if name not in unknowns:
                unknowns.append(name)
            return name
        return None

    relations: list[list[tuple[str | None, int]]] = []
    rows = pubs[0].rows
    for p in pubs:
        for r in rows:
            rel = [(var(f"{p.name}:{r}:{c}", p.cells[(r, c)]), 1) for c in p.cols]
            rel.append((var(f"row:{r}", p.row_totals[r]), -1))
            relations.append(rel)
        for c in p.cols:
            rel = [(var(f"{p.name}:{r}:{c}", p.cells[(r, c)]), 1) for r in rows]
            rel.append((var(f"{p.name}:col:{c}", p.col_totals[c]), -1))
            relations.append(rel)
        rel = [(var(f"{p.name}:col:{c}", p.col_totals[c]), 1) for c in p.cols]
        rel.append((var("grand", p.total), -1))
        relations.append(rel)
    rel = [(var(f"row:{r}", pubs[0].row_totals[r]), 1) for r in rows]
    rel.append((var("grand", pubs[0].total), -1))
    relations.append(rel)
    matrix = []
    for rel in relations:
        row = [Fraction(0)] * len(unknowns)
        for name, coef in rel:
            if name is not None:
                row[unknowns.index(name)] += coef
        matrix.append(row)
    return unknowns, matrix


def derivable(pubs: Sequence[Published]) -> list[str]:
    unknowns, matrix = attacker_equations(pubs)
    if not unknowns:
        return []
    basis = echelon(matrix)
    out = []
    for i, name in enumerate(unknowns):
        unit = [Fraction(int(j == i)) for j in range(len(unknowns))]
        if not any(reduce(unit, basis)):  # the unit vector is in the row space: solvable
            out.append(name)
    return out


def table(name: str, rows: int, cols: int, values: list[int]) -> Table:
    rs = tuple(f"r{i}" for i in range(rows))
    cs = tuple(f"c{j}" for j in range(cols))
    return Table(
        name,
        rs,
        cs,
        {(rs[i], cs[j]): values[i * cols + j] for i in range(rows) for j in range(cols)},
    )


def check(tables: Sequence[Table], pubs: Sequence[Published]) -> None:
    assert derivable(pubs) == []
    assert all(p.row_totals == pubs[0].row_totals and p.total == pubs[0].total for p in pubs)
    for t, p in zip(tables, pubs, strict=True):
        for key, shown in p.cells.items():
            true = t.counts.get(key, 0)
            assert shown is None or shown == true  # never altered, only hidden
            assert not (0 < true < THRESHOLD and shown is not None)  # primary
        for r, shown in p.row_totals.items():
            true = sum(t.counts.get((r, c), 0) for c in t.cols)
            assert shown is None or shown == true
            assert not (0 < true < THRESHOLD and shown is not None)
        assert p.total is None or p.total == sum(t.counts.values())


counts = st.integers(0, 12) | st.sampled_from([0, 0, 1, 2, 3])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_no_suppressed_value_recoverable_from_one_table(data: st.DataObject) -> None:
    rows, cols = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    values = data.draw(st.lists(counts, min_size=rows * cols, max_size=rows * cols))
    t = table("t", rows, cols, values)
    check([t], suppress([t], THRESHOLD))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_no_suppressed_value_recoverable_across_tables_sharing_rows(data: st.DataObject) -> None:
    """Three breakdowns of the same events share the row totals and the grand total."""
    rows = data.draw(st.integers(1, 4))
    events = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, rows - 1), st.integers(0, 3), st.integers(0, 2), st.integers(0, 2)
            ),
            max_size=60,
        )
    )
    tables = []
    rs = tuple(f"r{i}" for i in range(rows))
    for dim, width in ((1, 4), (2, 3), (3, 3)):
        cs = tuple(f"c{j}" for j in range(width))
        cells: dict[tuple[str, str], int] = {}
        for e in events:
            key = (rs[e[0]], cs[e[dim]])
            cells[key] = cells.get(key, 0) + 1
        tables.append(Table(f"d{dim}", rs, cs, cells))
    check(tables, suppress(tables, THRESHOLD))


def test_single_small_cell_gets_a_partner_in_its_row_and_column() -> None:
    t = table("t", 3, 3, [1, 10, 10, 10, 10, 10, 10, 10, 10])
    (p,) = suppress([t], THRESHOLD)
    hidden = [k for k, v in p.cells.items() if v is None]
    assert ("r0", "c0") in hidden
    assert len(hidden) >= 4  # a 2x2 block at least: one more in its row, column and corner
    assert p.total == 81
    assert p.row_totals["r0"] == 21 and p.col_totals["c0"] == 21  # totals kept
    check([t], [p])


def test_large_counts_are_published_untouched() -> None:
    t = table("t", 2, 2, [5, 6, 7, 8])
    (p,) = suppress([t], THRESHOLD)
    assert p.suppressed() == 0
    assert p.cells[("r1", "c1")] == 8 and p.total == 26


def test_attacker_finds_a_naively_suppressed_cell() -> None:
    """The checker can fail: hiding only the small cell leaves it solvable."""
    t = table("t", 2, 2, [1, 9, 9, 9])
    naive = Published(
        "t",
        t.rows,
        t.cols,
        {("r0", "c0"): None, ("r0", "c1"): 9, ("r1", "c0"): 9, ("r1", "c1"): 9},
        {"r0": 10, "r1": 18},
        {"c0": 10, "c1": 18},
        28,
    )
    assert derivable([naive]) == ["t:r0:c0"]


def test_threshold_is_configurable() -> None:
    t = table("t", 1, 2, [6, 9])
    assert suppress([t], 5)[0].suppressed() == 0
    assert suppress([t], 10)[0].cells[("r0", "c0")] is None
