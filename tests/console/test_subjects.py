"""The subject report and "who looked up this person?" in the access log."""

from __future__ import annotations

import json

from sqlalchemy import select

from hub.audit.tables import consultations
from tests.console.conftest import PERSON_FORM, Console, csrf, login

JORDAN = PERSON_FORM  # Jordan O'Neill, born 2011-03-04


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


def _area(console: Console, given: str, family: str, dob: str | None, borough: str) -> str:
    """The name-area token the processor gives a person of a safeguarding concern."""
    from datetime import UTC, date, datetime

    from hub.privacy.candidates import area_token
    from hub.privacy.keys import LocalKeyProvider
    from hub.privacy.subjects import SUBJECT_DOMAIN

    concern = console.app_state.catalogue.event_types["safeguarding-concern"]
    person = concern.person_records()[0]
    key = LocalKeyProvider(
        console.settings.data_dir / "keys", console.settings.pseudonym_keys
    ).current(SUBJECT_DOMAIN)
    value = {"given_name": given, "family_name": family,
             "date_of_birth": date.fromisoformat(dob) if dob else None}  # fmt: skip
    event = {"borough": borough, "subject": value,
             "envelope": {"occurred_at": datetime(2026, 11, 1, tzinfo=UTC)}}  # fmt: skip
    token = area_token(event, concern, person, value, key)
    assert token is not None
    return token


def test_a_name_alone_lists_candidates_by_age_band_and_area_then_one_is_picked(
    console: Console,
) -> None:
    import dataclasses

    from tests.audit.test_queries import decision

    child = _area(console, "Casey", "Morgan", "2012-05-01", "LIVERPOOL")
    adult = _area(console, "CASEY ", "morgan", "1980-02-02", "WIRRAL")
    console.app_state.store.write_decisions(
        [
            dataclasses.replace(
                decision("c1", "e41", "liverpool-mash", "shared", "2026-11-03T10:00:00+00:00"),
                subjects=(child,),
            ),
            dataclasses.replace(
                decision("c2", "e42", "merseyside-iom", "shared", "2026-11-03T11:00:00+00:00",
                         provider="probation-nw", agreement="probation-iom"),
                subjects=(adult,),
            ),
        ]
    )  # fmt: skip
    officer = login(console.client(), "officer")
    token = csrf(officer, "/subjects")
    page = officer.post(
        "/subjects", data={"given_name": "casey", "family_name": "Morgan", "csrf_token": token}
    ).text
    listed = page.split('id="candidates"')[1].split("</table>")[0]
    assert "aged 10 to 17" in listed and "Liverpool" in listed
    assert "aged 40 to 64" in listed and "Wirral" in listed
    # Nothing more about anyone until one is picked: no decision, agency or event.
    assert "/decisions/" not in listed and "Probation" not in listed and "e41" not in listed
    picked = officer.post(
        "/subjects",
        data={"given_name": "Casey", "family_name": "Morgan", "band": "10 to 17",
              "area": "LIVERPOOL", "csrf_token": token},
    ).text  # fmt: skip
    assert "/decisions/c1" in picked and "/decisions/c2" not in picked
    # A partner admin sees only candidates in their organisation's flows.
    partner = login(console.client(), "liverpool")
    theirs = partner.post(
        "/subjects",
        data={"given_name": "Casey", "family_name": "Morgan",
              "csrf_token": csrf(partner, "/subjects")},
    ).text  # fmt: skip
    mine = theirs.split('id="candidates"')[1].split("</table>")[0]
    assert "Liverpool" in mine and "Wirral" not in mine
    # An invented band or area finds nothing (tokens are recomputed, never taken as given).
    bogus = officer.post(
        "/subjects",
        data={"given_name": "Casey", "family_name": "Morgan", "band": "x", "area": "y",
              "csrf_token": token},
    ).text  # fmt: skip
    assert "/decisions/c" not in bogus


def test_the_disclosure_record_as_a_pdf_for_an_article_15_response(console: Console) -> None:
    import io
    import re

    from pypdf import PdfReader

    officer = login(console.client(), "officer")
    page = officer.post("/subjects", data=JORDAN | {"csrf_token": csrf(officer, "/subjects")})
    found = re.search(r'href="(/subjects/report/[0-9a-f-]+\.pdf)"', page.text)
    assert found is not None
    pdf = officer.get(found.group(1))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "2 disclosure(s) found" in text
    assert "Liverpool Multi-Agency Safeguarding Hub" in text and "Probation Service" in text
    assert "jordan" not in text.casefold()  # no identifier: re-run from pseudonyms
    other = login(console.client(), "auditor")
    assert other.get(found.group(1)).status_code in (403, 404)  # only whoever made it
    rows = _logged(console)
    assert any(r["action"] == "subject-report-pdf" for r in rows)


def test_a_name_with_a_postcode_finds_the_person(console: Console) -> None:
    import dataclasses

    from hub.privacy.candidates import postcode_token
    from hub.privacy.keys import LocalKeyProvider
    from hub.privacy.subjects import SUBJECT_DOMAIN
    from tests.audit.test_queries import decision

    person = console.app_state.catalogue.event_types["safeguarding-concern"].person_records()[0]
    key = LocalKeyProvider(
        console.settings.data_dir / "keys", console.settings.pseudonym_keys
    ).current(SUBJECT_DOMAIN)
    value = {"given_name": "Robin", "family_name": "Hale", "postcode": "L8 1TX"}
    token = postcode_token(person, value, key)
    assert token is not None
    console.app_state.store.write_decisions([dataclasses.replace(
        decision("pc1", "e51", "liverpool-mash", "shared", "2026-11-03T10:00:00+00:00"),
        subjects=(token,),
    )])  # fmt: skip
    officer = login(console.client(), "officer")
    token = csrf(officer, "/subjects")
    name = {"given_name": "robin", "family_name": "HALE", "csrf_token": token}
    found = officer.post("/subjects", data=name | {"postcode": "l81tx"})
    assert "/decisions/pc1" in found.text
    elsewhere = officer.post("/subjects", data=name | {"postcode": "L9 9ZZ"})
    assert "/decisions/pc1" not in elsewhere.text
