"""Access rules: login, CSRF, cookies, roles, and partner admins confined to their own
organisation's flows by every URL (pages, CSV and the JSON API)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit import AuditStore
from hub.audit.tables import consultations
from hub.audit.verify import verify_store
from hub.config import Settings
from hub.console.app import create_app
from hub.console.auth import Role, add_user
from hub.console.state import ConsoleConfig, ConsoleState
from hub.identity import PartnerKeyStore
from tests.audit.test_queries import populate
from tests.console.conftest import (
    PASSWORD,
    PERSON,
    ROOT,
    Console,
    csrf,
    login,
    person_tokens,
    sign_in,
)

PAGES = ["/", "/activity", "/decisions", "/decisions/d1", "/agreements", "/agreements/police-msn",
         "/subjects", "/whatif", "/consultations", "/export/decisions.csv",
         "/export/receipts.csv", "/export/agreements.csv"]  # fmt: skip
API = ["/api/me", "/api/decisions", "/api/decisions/d1", "/api/activity", "/api/agreements",
       "/api/dead-letters", "/api/receipts", "/api/consultations", "/api/openapi.json"]  # fmt: skip


def test_unauthenticated_pages_redirect_and_api_answers_401(console: Console) -> None:
    client = console.client()
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path
    for path in API:
        assert client.get(path).status_code == 401, path
    signed_in = login(console.client(), "officer")
    assert "/api/decisions" in signed_in.get("/api/openapi.json").json()["paths"]


def test_login_needs_csrf_and_a_right_password(console: Console) -> None:
    client = console.client()
    refused = client.post(
        "/login", data={"username": "officer", "password": PASSWORD}, follow_redirects=False
    )
    assert refused.status_code == 403
    wrong = sign_in(client, "officer", "not it at all")
    assert wrong.headers["location"] == "/login?failed=1"
    assert "hub_session" not in client.cookies


def test_session_cookie_flags(console: Console) -> None:
    for https in (False, True):
        client = console.client(https=https)
        response = sign_in(client, "officer", PASSWORD)
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("hub_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert ("Secure" in cookie) is https
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_every_post_needs_the_csrf_token(console: Console) -> None:
    client = login(console.client(), "officer")
    for path, data in (
        ("/subjects", {"given_name": "Jordan"}),
        ("/agreements/police-msn/v1/suspend", {"reason": "test"}),
        ("/logout", {}),
    ):
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data=data | {"csrf_token": "forged"}).status_code == 403, path
    assert client.get("/activity", follow_redirects=False).status_code == 200  # still signed in


def test_logout_ends_the_session(console: Console) -> None:
    client = login(console.client(), "officer")
    cookie = client.cookies["hub_session"]
    client.post("/logout", data={"csrf_token": csrf(client)})
    again = console.client()
    again.cookies.set("hub_session", cookie)
    assert again.get("/api/decisions").status_code == 401


def test_partner_admin_sees_only_their_flows_by_every_url(console: Console) -> None:
    client = login(console.client(), "liverpool")
    page = client.get("/decisions").text
    assert "/decisions/d1" in page and "/decisions/p1" in page
    for other in ("d2", "d3", "d4", "d5", "p2"):
        assert f"/decisions/{other}" not in page
        assert client.get(f"/decisions/{other}").status_code == 404
        assert client.get(f"/api/decisions/{other}").status_code == 404
    assert {d["decision_id"] for d in client.get("/api/decisions").json()["decisions"]} == {
        "d1",
        "p1",
    }
    api = client.get("/api/decisions?provider=probation-nw").json()
    assert api["total"] == 0
    detail = client.get("/api/decisions/d1").json()
    assert detail["other_recipients"] == []  # the MSN decision on e1 is police's business
    csv = client.get("/export/decisions.csv").text
    assert "d1" in csv and "p1" in csv and "d3" not in csv and "d4" not in csv
    assert "disc-d3" not in client.get("/export/receipts.csv").text
    assert client.get("/api/dead-letters").json() == []
    assert "pr:0:7" not in client.get("/export/dead-letters.csv").text
    assert {r["recipient"] for r in client.get("/api/activity").json()} == {"liverpool-mash"}
    agreements = {a["id"] for a in client.get("/api/agreements").json()}
    assert "police-liverpool-mash" in agreements and "police-msn" not in agreements
    assert client.get("/agreements/police-msn").status_code == 404
    assert "police-msn" not in client.get("/export/agreements.csv").text
    for forbidden in (
        "/consultations",
        "/whatif",
        "/api/consultations",
        "/export/consultations.csv",
    ):
        assert client.get(forbidden).status_code == 403, forbidden
    # The subject report stays inside the flows too: p2 (probation to IOM) is not shown.
    report = client.post(
        "/subjects",
        data={"given_name": PERSON["given_name"], "family_name": PERSON["family_name"],
              "date_of_birth": "2011-03-04", "csrf_token": csrf(client)},
    ).text  # fmt: skip
    assert "/decisions/p1" in report and "/decisions/p2" not in report


def test_auditor_is_read_only(console: Console) -> None:
    client = login(console.client(), "auditor")
    assert client.get("/decisions").status_code == 200
    assert client.get("/subjects").status_code == 403
    token = csrf(client)
    refused = client.post(
        "/agreements/police-msn/v1/suspend", data={"reason": "x", "csrf_token": token}
    )
    assert refused.status_code == 403
    assert not (console.settings.partnership_dir / "agreements" / "police-msn" / "v2.yaml").exists()


def test_subject_report_is_logged_with_tokens_only(console: Console) -> None:
    client = login(console.client(), "officer")
    page = client.post(
        "/subjects",
        data={"given_name": "jordan", "family_name": "O NEILL", "date_of_birth": "2011-03-04",
              "csrf_token": csrf(client)},
    ).text  # fmt: skip
    assert "/decisions/p1" in page and "/decisions/p2" in page  # both agencies' disclosures
    assert "Merseyside Integrated Offender Management" in page
    store = console.app_state.store
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(consultations))]
    [report] = [r for r in rows if r["action"] == "subject-report"]
    assert report["user_name"] == "officer" and report["results"] == 2
    target = json.loads(report["target"])
    assert target["tokens"] == person_tokens(console.settings, console.app_state.catalogue)
    logged = json.dumps(rows).casefold()
    assert "jordan" not in logged and "neill" not in logged and "2011-03-04" not in logged
    csv_path = f"/subjects/report/{report['consultation_id']}.csv"
    csv = client.get(csv_path)
    assert csv.status_code == 200 and csv.text.count("\r\n") == 3
    other = login(console.client(), "probation")
    assert other.get(csv_path).status_code == 404  # a report belongs to whoever made it
    # Consultations are chained with the audit: it still verifies, and checkpoints are signed.
    keys = PartnerKeyStore(None, console.keys_dir).public_keys()
    assert verify_store(store, keys).ok


def test_decision_detail_shows_shared_fields_with_their_clause(console: Console) -> None:
    client = login(console.client(), "officer")
    page = client.get("/decisions/d1").text
    assert "subject.given_name" in page and "subject-identified" in page
    assert "Children Act 2004 s11" in page and "disc-d1" in page and "delivered" in page
    withheld = client.get("/decisions/d2").text
    assert "Fields shared" not in withheld


def test_a_broken_agreement_file_is_reported_not_crashed(console: Console) -> None:
    client = login(console.client(), "officer")
    bad = console.settings.partnership_dir / "agreements" / "police-msn" / "v9.yaml"
    bad.write_text("id: police-msn\nversion: 9\n")
    page = client.get("/agreements")
    assert page.status_code == 500 and "v9.yaml" in page.text and "invalid agreement" in page.text


def test_console_on_postgres(postgres_db: str, tmp_path: Path) -> None:
    """Accounts, sessions, the partner scope and chained consultations on PostgreSQL."""
    partnership = tmp_path / "partnership"
    shutil.copytree(ROOT / "partnership", partnership)
    keys = PartnerKeyStore(None, tmp_path / "audit-keys")
    signer = keys.dev_signing_key("hub-audit")
    store = AuditStore(postgres_db, signer=signer)
    populate(store)
    add_user(store.engine, "liverpool", Role.PARTNER_ADMIN, PASSWORD, "liverpool-cc")
    store.close()
    settings = Settings(data_dir=tmp_path / "data", partnership_dir=partnership)
    state = ConsoleState.open(
        ConsoleConfig(settings=settings, store_url=postgres_db, signer=signer)
    )
    try:
        client = login(TestClient(create_app(state.config, state)), "liverpool")
        assert [d["decision_id"] for d in client.get("/api/decisions").json()["decisions"]] == [
            "d1"
        ]
        assert client.get("/api/decisions/d4").status_code == 404
        assert verify_store(state.store, keys.public_keys()).ok
        with state.store.engine.connect() as conn:
            actions = [r.action for r in conn.execute(select(consultations.c.action))]
        assert actions == ["api-decisions"]
    finally:
        state.close()
