"""The subject report and "who looked up this person?" in the access log."""

from __future__ import annotations

import json

from sqlalchemy import select

from hub.audit.tables import consultations
from tests.console.conftest import Console, csrf, login

JORDAN = {"given_name": "Jordan", "family_name": "O'Neill", "date_of_birth": "2011-03-04"}


def _logged(console: Console) -> list[dict[str, object]]:
    with console.app_state.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(consultations))]


def test_who_looked_up_this_person_by_their_identifiers(console: Console) -> None:
    officer = login(console.client(), "officer")
    report = officer.post("/subjects", data=JORDAN | {"csrf_token": csrf(officer, "/subjects")})
    assert "/decisions/p1" in report.text
    officer.get("/decisions/p2")  # looking at one of their decisions is a look-up too
    officer.get("/decisions/d3")  # someone else's decision: not about Jordan
    auditor = login(console.client(), "auditor")
    page = auditor.post(
        "/consultations",
        data={"given_name": " JORDAN ", "family_name": "o'neill", "date_of_birth": "2011-03-04",
              "csrf_token": csrf(auditor, "/consultations")},
    ).text  # fmt: skip
    lookups = page.split('id="lookups"')[1].split("</table>")[0]
    assert lookups.count('<td class="small">') == 2, lookups
    assert "subject report (looked the person up)" in lookups and "opened a decision" in lookups
    assert lookups.count("<td>officer ") == 2
    # Somebody else: nothing found.
    other = auditor.post(
        "/consultations",
        data={"given_name": "Sam", "family_name": "Other", "csrf_token": csrf(auditor)},
    ).text
    assert "Nobody has looked up this person" in other
    # The search itself is logged, by pseudonym only: no identifier as typed anywhere.
    rows = _logged(console)
    assert [r["user_name"] for r in rows if r["action"] == "who-looked-up"] == [
        "auditor",
        "auditor",
    ]
    text = json.dumps(rows, default=str).casefold()
    assert "jordan" not in text and "neill" not in text and "2011-03-04" not in text


def test_who_looked_up_needs_the_access_log_permission_and_csrf(console: Console) -> None:
    partner = login(console.client(), "liverpool")
    assert (
        partner.post("/consultations", data=JORDAN | {"csrf_token": csrf(partner)}).status_code
        == 403
    )
    officer = login(console.client(), "officer")
    assert officer.post("/consultations", data=JORDAN).status_code == 403  # no CSRF token
    empty = officer.post("/consultations", data={"csrf_token": csrf(officer)})
    assert empty.status_code == 422 and "enter at least a name" in empty.text


def test_the_report_says_when_it_happened_and_when_it_was_decided(console: Console) -> None:
    """A backfilled event: it happened in March, the hub decided it in November."""
    import dataclasses

    from tests.audit.test_queries import decision
    from tests.console.conftest import person_tokens

    tokens = tuple(person_tokens(console.settings, console.app_state.catalogue))
    late = dataclasses.replace(
        decision("b1", "e30", "liverpool-mash", "shared", "2026-11-20T10:00:00+00:00",
                 subjects=tokens),
        occurred_at="2026-03-14T16:45:00+00:00",
    )  # fmt: skip
    console.app_state.store.write_decisions([late])
    officer = login(console.client(), "officer")
    page = officer.post("/subjects", data=JORDAN | {"csrf_token": csrf(officer, "/subjects")})
    row = page.text.split('href="/decisions/b1"')[0].rsplit("<tr>", 1)[1]
    assert "2026-03-14 16:45" in row and "2026-11-20 10:00" in row
    assert "not recorded" in page.text  # the older decisions carry no event time
    detail = officer.get("/decisions/b1").text
    assert "2026-03-14 16:45:00" in detail
