"""Watching the agreements: volumes per agreement by outcome, and an alert on the activity
page when an agreement's share rate drops to zero or jumps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hub.audit.queries import ActivityRow
from hub.console.watch import rate_alerts, volumes
from tests.audit.test_queries import decision
from tests.console.conftest import Console, login

END = date(2026, 11, 30)
DAYS = [(END - timedelta(days=i)).isoformat() for i in range(13, -1, -1)]


def rows(per_day: dict[str, tuple[int, int]], agreement: str = "a1") -> list[ActivityRow]:
    out = []
    for day, (shared, withheld) in per_day.items():
        for outcome, n in (("shared", shared), ("withheld", withheld)):
            if n:
                out.append(ActivityRow(day, agreement, "p", "r", outcome, n))
    return out


def alerts(per_day: dict[str, tuple[int, int]]) -> list[str]:
    return [a.kind for a in rate_alerts(volumes(rows(per_day)), DAYS, END)]


def test_stopped_jumped_and_steady() -> None:
    steady = {d: (5, 5) for d in DAYS}
    assert alerts(steady) == []
    stopped = {d: ((5, 5) if d < DAYS[-3] else (0, 10)) for d in DAYS}
    assert alerts(stopped) == ["stopped"]
    jumped = {d: ((5, 5) if d < DAYS[-3] else (10, 0)) for d in DAYS}
    assert alerts(jumped) == ["jumped"]
    busier = {d: ((2, 0) if d < DAYS[-3] else (20, 0)) for d in DAYS}
    assert alerts(busier) == ["jumped"]
    # Quiet recently (no events at all) is not a stopped agreement; nor is a tiny history.
    assert alerts({d: ((5, 5) if d < DAYS[-3] else (0, 0)) for d in DAYS}) == []
    assert alerts({DAYS[0]: (1, 0), DAYS[-1]: (0, 4)}) == []


def test_the_activity_page_says_when_sharing_under_an_agreement_stopped(
    console: Console,
) -> None:
    today = datetime.now(UTC).date()
    records = []
    for i in range(12, 2, -1):  # shared until three days ago ...
        day = (today - timedelta(days=i)).isoformat()
        records.append(decision(f"s{i}", f"es{i}", "liverpool-mash", "shared",
                                f"{day}T10:00:00+00:00"))  # fmt: skip
    for i in range(3):
        day = (today - timedelta(days=i)).isoformat()
        for j in range(2):
            records.append(decision(f"w{i}{j}", f"ew{i}{j}", "liverpool-mash", "withheld",
                                    f"{day}T1{j}:00:00+00:00"))  # fmt: skip
    console.app_state.store.write_decisions(records)
    page = login(console.client(), "officer").get("/activity").text
    assert "Sharing stopped" in page and "nothing shared under police-liverpool-mash" in page
    assert 'class="spark"' in page
