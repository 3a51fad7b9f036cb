"""Issue 15 item 4: a partner admin never learns of records their organisation was not
entitled to. Decisions withheld from a recipient they operate are counted, suppressed, and
never listed or found by person, by any route of the app (pages, CSV, the JSON API, the
subject report and its CSV, alerts); decisions on what they provided are theirs to see."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi.testclient import TestClient

from hub.audit.records import AuditRecord
from hub.console.params import app_routes
from tests.audit.test_queries import decision
from tests.console.conftest import PERSON_FORM, Console, login, person_tokens, submit

# Police concerns about a Knowsley child, withheld from the Liverpool MASH, and one NHS
# record withheld from it: Liverpool City Council was not entitled to any of them.
WITHHELD_IDS = [f"w{i}" for i in range(1, 8)] + ["wn1", "aw1"]
WITHHELD_EVENTS = [f"e2{i}" for i in range(1, 8)] + ["e30", "alert-w"]
CANARIES = WITHHELD_IDS + WITHHELD_EVENTS


def _withheld(console: Console) -> list[AuditRecord]:
    tokens = tuple(person_tokens(console.settings, console.app_state.catalogue))
    out = [
        decision(f"w{i}", f"e2{i}", "liverpool-mash", "withheld",
                 f"2026-11-0{i}T1{i}:00:00+00:00", subjects=tokens, offset=20 + i)
        for i in range(1, 8)
    ]  # fmt: skip
    out.append(
        decision("wn1", "e30", "liverpool-mash", "withheld", "2026-11-04T08:00:00+00:00",
                 provider="nhs-cm", agreement="nhs-vrp-assaults", subjects=tokens, offset=30)
    )  # fmt: skip
    alert = decision("aw1", "alert-w", "liverpool-mash", "withheld", "2026-11-05T08:00:00+00:00")
    out.append(
        dataclasses.replace(
            alert,
            event_type="linkage-alert",
            provider="hub-analytics",
            agreement_id="linkage-alerts-liverpool-mash",
            notes=("contributing events: e21, e30",),
            source_offset=31,
        )
    )
    # Liverpool's own record, withheld from the IOM: theirs to see, with its reason.
    out.append(
        decision("own1", "e40", "merseyside-iom", "withheld", "2026-11-05T09:00:00+00:00",
                 provider="liverpool-cc", agreement="probation-iom", subjects=tokens, offset=40)
    )  # fmt: skip
    return out


@pytest.fixture
def partner_console(console: Console) -> Console:
    console.app_state.store.write_decisions(_withheld(console))
    return console


def _report(client: TestClient, include_withheld: bool = True) -> str:
    withheld = {"include_withheld": "1"} if include_withheld else {}
    return submit(client, "/subjects", **PERSON_FORM, **withheld).text


def _no_canary(body: str, where: str) -> None:
    """No withheld decision id or event id in ``body``, except one the request itself sent
    (an error page or a filter form echoes what was asked; the rows would still show)."""
    for canary in CANARIES:
        if re.search(rf"\b{re.escape(canary)}\b", where):
            continue
        assert not re.search(rf"\b{re.escape(canary)}\b", body), f"{canary} leaked by {where}"


QUERIES = ["", "?outcome=withheld", "?recipient=liverpool-mash&outcome=withheld",
           "?event_id=e21", "?event_id=e30", "?provider=merseyside-police&outcome=withheld",
           "?from=2026-11-01&to=2026-11-30"]  # fmt: skip


def _get_paths(client: TestClient) -> list[str]:
    return sorted({path for path, methods, _ in app_routes(client.app) if "GET" in methods})


def test_partner_admin_never_sees_withheld_decisions_of_others_by_any_route(
    partner_console: Console,
) -> None:
    client = login(partner_console.client(), "liverpool")
    visited = 0
    for route in _get_paths(client):
        paths = [route]
        if "{" in route:  # every path parameter tried with each withheld id and event
            paths = [re.sub(r"\{[^}]+\}", c, route) for c in [*WITHHELD_IDS, "e21"]]
        for path in paths:
            for query in QUERIES:
                response = client.get(path + query, follow_redirects=False)
                assert response.status_code < 500, path + query
                _no_canary(response.text, path + query)
                visited += 1
    assert visited > 100
    # The subject report, by name and date of birth, with "include withheld decisions".
    report = _report(client)
    _no_canary(report, "the subject report")
    assert "/decisions/own1" in report  # what Liverpool provided, withheld: theirs to see
    consultation = re.search(r"/subjects/report/([0-9a-f-]{36})\.csv", report)
    assert consultation is not None
    csv = client.get(f"/subjects/report/{consultation.group(1)}.csv").text
    _no_canary(csv, "the subject report CSV")
    assert "e40" in csv  # Liverpool's own record is in its CSV too


def test_withheld_from_an_operated_recipient_is_counted_and_suppressed(
    partner_console: Console,
) -> None:
    client = login(partner_console.client(), "liverpool")
    rows = client.get("/api/withheld-summary?from=2026-11-01&to=2026-11-30").json()
    by = {(r["recipient"], r["provider"]): r["withheld"] for r in rows}
    # Seven police records: shown. One NHS record and the analytics' withheld alert:
    # suppressed; and no total, from which the two suppressed counts could be worked out.
    assert by == {
        ("liverpool-mash", "merseyside-police"): 7,
        ("liverpool-mash", "nhs-cm"): None,
        ("liverpool-mash", "hub-analytics"): None,
    }
    page = client.get("/activity?from=2026-11-01&to=2026-11-30").text
    assert 'id="withheld-from-operated"' in page and "&lt;5" in page
    csv = client.get("/export/withheld-summary.csv?from=2026-11-01&to=2026-11-30").text
    assert "liverpool-mash,merseyside-police,7" in csv
    # The activity rows carry no withheld row about another partner's records ...
    for r in client.get("/api/activity?from=2026-11-01&to=2026-11-30").json():
        assert r["outcome"] == "shared" or r["provider"] == "liverpool-cc", r
    # ... and an IG officer, who sees every decision anyway, gets no summary.
    officer = login(partner_console.client(), "officer")
    assert officer.get("/api/withheld-summary").json() == []


def test_ig_officer_still_sees_every_withheld_decision(partner_console: Console) -> None:
    officer = login(partner_console.client(), "officer")
    report = _report(officer)
    assert all(f"/decisions/{d}" in report for d in ("w1", "w7", "wn1", "own1"))
    assert (
        officer.get("/api/decisions?recipient=liverpool-mash&outcome=withheld").json()["total"] == 9
    )


def test_provider_admin_sees_withheld_decisions_on_their_own_records(
    partner_console: Console,
) -> None:
    client = login(partner_console.client(), "liverpool")
    own = client.get("/api/decisions/own1")
    assert own.status_code == 200 and own.json()["decision"]["reason"] == "condition false"
    assert client.get("/api/decisions?outcome=withheld").json()["total"] == 1


def test_the_canary_check_would_see_a_leak(partner_console: Console) -> None:
    """The walk above must be able to fail: as an IG officer the same routes show them."""
    officer = login(partner_console.client(), "officer")
    with pytest.raises(AssertionError):
        _no_canary(officer.get("/decisions?recipient=liverpool-mash").text, "officer")
